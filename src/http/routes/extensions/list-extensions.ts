// GET /deployments/extensions → 200 Extensions. `include_deployments` was deprecated and removed
// from this operation in the spec (docs/client-compatibility.md, "`include_deployments` on the list") but older
// clients and Elastic's docs still send it: with true, each extension lists the deployments that use it, as on get.
//
// The list is streamed: pages of rows are read one after another and each extension is written as
// soon as it is rendered, so a repository of 100,000 extensions is answered with flat memory and in
// time that grows linearly (building one huge array and string made garbage collection dominate).
// Clients see one ordinary JSON document.
//
// With any of extrepo's browse parameters (search, type, sort, size, cursor) it answers one sorted
// page instead, for the web console; Elastic's clients never send them. include_deployments=true
// works there too (spec/extrepo-extensions-browse.swagger.json).
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { mayChangeExtension, type Principal } from '../../../domain/principal.js';
import { renderExtension } from '../../../domain/extension-view.js';
import type { ExtensionRecord } from '../../../stores/metadata-store.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { encodeCursor, isBrowseRequest, parseBrowseQuery } from '../../browse-query.js';
import { booleanQuery } from '../../query.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';

const PAGE_SIZE = 1000;

async function* extensionsDocument(
  deps: RouteDeps,
  principal: Principal,
  firstPage: ExtensionRecord[],
  includeDeployments: boolean,
): AsyncGenerator<string> {
  let page = firstPage;
  let first = true;
  yield '{"extensions":[';
  for (;;) {
    let chunk = '';
    // One query per page for the deployments of all its extensions.
    const used = includeDeployments
      ? await deps.deployments.deploymentIdsReferencing(
          page.map((r) => r.id),
          principal,
        )
      : null;
    for (const record of page) {
      const options = {
        fileUrl: fileUrlOf(deps, record),
        maskDownloadUrlPassword: !mayChangeExtension(principal, record.ownerId),
        ...(used ? { deployments: used.get(record.id) ?? [] } : {}),
      };
      chunk += (first ? '' : ',') + JSON.stringify(renderExtension(record, options));
      first = false;
    }
    if (chunk !== '') yield chunk;
    if (page.length < PAGE_SIZE) break;
    page = await deps.service.listPage(principal, page[page.length - 1]!, PAGE_SIZE);
  }
  yield ']}';
}

export function registerListExtensions(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/deployments/extensions', async (request, reply) => {
    const includeDeployments = booleanQuery(request.query, 'include_deployments') === true;
    const principal = requirePrincipal(request);
    if (isBrowseRequest(request.query)) {
      // extrepo's browse parameters (browse-query.ts): one page, one more row read to know if another follows.
      const browse = parseBrowseQuery(request.query);
      const page = await deps.service.browse(principal, { ...browse, limit: browse.limit + 1 });
      const records = page.records.slice(0, browse.limit);
      // include_deployments on a page (the console's "Deployments" column): the same one query per
      // page as the whole list, so a count costs no store query of its own.
      const used = includeDeployments
        ? await deps.deployments.deploymentIdsReferencing(
            records.map((r) => r.id),
            principal,
          )
        : null;
      const body: Record<string, unknown> = {
        extensions: records.map((record) =>
          renderExtension(record, {
            fileUrl: fileUrlOf(deps, record),
            maskDownloadUrlPassword: !mayChangeExtension(principal, record.ownerId),
            ...(used ? { deployments: used.get(record.id) ?? [] } : {}),
          }),
        ),
        total: page.total,
      };
      if (page.records.length > browse.limit) body.next_cursor = encodeCursor(browse, records[records.length - 1]!);
      return body;
    }
    // The first page is read before answering, so a store that is down still gets a proper error.
    const firstPage = await deps.service.listPage(principal, null, PAGE_SIZE);
    reply.type('application/json; charset=utf-8');
    return reply.send(Readable.from(extensionsDocument(deps, principal, firstPage, includeDeployments), { objectMode: false }));
  });
}
