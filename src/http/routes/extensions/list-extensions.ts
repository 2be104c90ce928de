// GET /deployments/extensions → 200 Extensions. `include_deployments` was deprecated and removed
// from this operation in the spec (docs/client-compatibility.md, "`include_deployments` on the list") but older clients still send it: accept, ignore.
//
// The list is streamed: pages of rows are read one after another and each extension is written as
// soon as it is rendered, so a repository of 100,000 extensions is answered with flat memory and in
// time that grows linearly (building one huge array and string made garbage collection dominate).
// Clients see one ordinary JSON document.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../../domain/principal.js';
import { renderExtension } from '../../../domain/extension-view.js';
import type { ExtensionRecord } from '../../../stores/metadata-store.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';

const PAGE_SIZE = 1000;

async function* extensionsDocument(
  deps: RouteDeps,
  principal: Principal,
  firstPage: ExtensionRecord[],
): AsyncGenerator<string> {
  let page = firstPage;
  let first = true;
  yield '{"extensions":[';
  for (;;) {
    let chunk = '';
    for (const record of page) {
      chunk += (first ? '' : ',') + JSON.stringify(renderExtension(record, { fileUrl: fileUrlOf(deps, record) }));
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
    booleanQuery(request.query, 'include_deployments');
    const principal = requirePrincipal(request);
    // The first page is read before answering, so a store that is down still gets a proper error.
    const firstPage = await deps.service.listPage(principal, null, PAGE_SIZE);
    reply.type('application/json; charset=utf-8');
    return reply.send(Readable.from(extensionsDocument(deps, principal, firstPage), { objectMode: false }));
  });
}
