// GET /deployments/extensions → 200 Extensions. `include_deployments` was deprecated and removed
// from this operation in the spec (API-NOTES §9) but older clients still send it: accept, ignore.
import type { FastifyInstance } from 'fastify';
import { renderExtension } from '../../../domain/extension-view.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';
import { extensionsSchema } from '../../schemas.js';

export function registerListExtensions(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/deployments/extensions', { schema: { response: { 200: extensionsSchema } } }, async (request) => {
    booleanQuery(request.query, 'include_deployments');
    const records = await deps.service.list(requirePrincipal(request));
    return { extensions: records.map((record) => renderExtension(record, { fileUrl: fileUrlOf(deps, record) })) };
  });
}
