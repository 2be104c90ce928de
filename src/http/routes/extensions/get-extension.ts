// GET /deployments/extensions/{extension_id}; `deployments` only with include_deployments=true.
import type { FastifyInstance } from 'fastify';
import { renderExtension, resourceHeaders } from '../../../domain/extension-view.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';
import { extensionIdParams, extensionSchema } from '../../schemas.js';

export function registerGetExtension(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: { extension_id: string } }>(
    '/api/v1/deployments/extensions/:extension_id',
    { schema: { params: extensionIdParams, response: { 200: extensionSchema } } },
    async (request, reply) => {
      const includeDeployments = booleanQuery(request.query, 'include_deployments') === true;
      const record = await deps.service.get(request.params.extension_id, requirePrincipal(request));
      reply.headers(resourceHeaders(record));
      // No deployments exist in extrepo yet, so nothing can reference an extension.
      return renderExtension(record, {
        fileUrl: fileUrlOf(deps, record),
        ...(includeDeployments ? { deployments: [] } : {}),
      });
    },
  );
}
