// GET /deployments/extensions/{extension_id}; `deployments` only with include_deployments=true: the
// ids of the deployments (that the caller may see) whose current plan references it.
//
// The embedded store hands out the same record object until the extension changes, so the
// serialized answer is kept per record and reused while its signed link stays the same (one
// expiry step, a minute): the busiest read skips rendering and serializing. Records from stores
// that build a new object per read simply miss.
import type { FastifyInstance } from 'fastify';
import { renderExtension, resourceHeaders } from '../../../domain/extension-view.js';
import { mayChangeExtension } from '../../../domain/principal.js';
import type { ExtensionRecord } from '../../../stores/metadata-store.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';
import { extensionIdParams, extensionSchema, type ExtensionIdParams } from '../../schemas.js';

interface Answer {
  fileUrl: string | null;
  deployments: boolean;
  masked: boolean;
  body: string;
}

export function registerGetExtension(app: FastifyInstance, deps: RouteDeps): void {
  const answers = new WeakMap<ExtensionRecord, Answer>();
  app.get<{ Params: ExtensionIdParams }>(
    '/api/v1/deployments/extensions/:extension_id',
    { schema: { params: extensionIdParams, response: { 200: extensionSchema } } },
    async (request, reply) => {
      const deployments = booleanQuery(request.query, 'include_deployments') === true;
      const principal = requirePrincipal(request);
      const record = await deps.service.get(request.params.extension_id, principal);
      const fileUrl = fileUrlOf(deps, record);
      // Readers who may not change the extension see download_url without its password.
      const masked = record.downloadUrl !== null && !mayChangeExtension(principal, record.ownerId);
      if (deployments) {
        // Which deployments use it changes without the extension changing: never from the kept answer.
        const ids = (await deps.deployments.deploymentIdsReferencing([record.id], principal)).get(record.id) ?? [];
        reply.headers(resourceHeaders(record));
        return renderExtension(record, { fileUrl, maskDownloadUrlPassword: masked, deployments: ids });
      }
      let answer = answers.get(record);
      if (answer === undefined || answer.fileUrl !== fileUrl || answer.deployments !== deployments || answer.masked !== masked) {
        const view = renderExtension(record, { fileUrl, maskDownloadUrlPassword: masked });
        // The route's own response serializer, so the bytes are those of an ordinary reply.
        answer = { fileUrl, deployments, masked, body: String(reply.serialize(view)) };
        answers.set(record, answer);
      }
      reply.headers(resourceHeaders(record));
      reply.type('application/json; charset=utf-8');
      return answer.body;
    },
  );
}
