// GET /deployments/extensions/{extension_id}; `deployments` only with include_deployments=true: the
// ids of the deployments (that the caller may see) whose current plan references it.
//
// The serialized answer is kept per record (kept-extension-answers.ts): the busiest read skips
// rendering and serializing, and once kept, hot-extension-read.ts answers it before Fastify runs.
import type { FastifyInstance } from 'fastify';
import { renderExtension, resourceHeaders } from '../../../domain/extension-view.js';
import { masksDownloadUrl } from '../../../domain/principal.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';
import { extensionIdParams, extensionSchema, type ExtensionIdParams } from '../../schemas.js';

export function registerGetExtension(app: FastifyInstance, deps: RouteDeps): void {
  const answers = deps.extensionAnswers;
  app.get<{ Params: ExtensionIdParams }>(
    '/api/v1/deployments/extensions/:extension_id',
    { schema: { params: extensionIdParams, response: { 200: extensionSchema } } },
    async (request, reply) => {
      const deployments = booleanQuery(request.query, 'include_deployments') === true;
      const principal = requirePrincipal(request);
      const record = await deps.service.get(request.params.extension_id, principal);
      const fileUrl = fileUrlOf(deps, record);
      const masked = masksDownloadUrl(principal, record);
      reply.headers(resourceHeaders(record));
      if (deployments) {
        // Which deployments use it changes without the extension changing: never from the kept answer.
        const ids = (await deps.deployments.deploymentIdsReferencing([record.id], principal)).get(record.id) ?? [];
        return renderExtension(record, { fileUrl, maskDownloadUrlPassword: masked, deployments: ids });
      }
      let body = answers.get(record, fileUrl, masked);
      if (body === undefined) {
        // The route's own response serializer, so the bytes are those of an ordinary reply.
        body = String(reply.serialize(renderExtension(record, { fileUrl, maskDownloadUrlPassword: masked })));
        answers.keep(record, fileUrl, masked, body);
      }
      reply.type('application/json; charset=utf-8');
      return body;
    },
  );
}
