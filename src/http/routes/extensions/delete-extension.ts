// DELETE /deployments/extensions/{extension_id} → 200 {}. ecctl sends Content-Type: application/json
// with no body (docs/client-compatibility.md, "What the Go clients send and accept"), which Fastify passes through without parsing.
import type { FastifyInstance } from 'fastify';
import { resourceHeaders } from '../../../domain/extension-view.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { versionQuery } from '../../query.js';
import type { RouteDeps } from '../../route-deps.js';
import { extensionIdParams, type ExtensionIdParams } from '../../schemas.js';

export function registerDeleteExtension(app: FastifyInstance, deps: RouteDeps): void {
  app.delete<{ Params: ExtensionIdParams }>(
    '/api/v1/deployments/extensions/:extension_id',
    { schema: { params: extensionIdParams } },
    async (request, reply) => {
      const record = await deps.service.delete(request.params.extension_id, versionQuery(request.query), requirePrincipal(request));
      reply.headers(resourceHeaders(record));
      return {};
    },
  );
}
