// GET /deployments (ECE's list-deployments): the deployments the caller may see, oldest first.
import type { FastifyInstance } from 'fastify';
import { listingData } from '../../../domain/deployment-view.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';

export function registerListDeployments(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/api/v1/deployments', async (request) => {
    const records = await deps.deployments.list(requirePrincipal(request));
    return { deployments: records.map(listingData) };
  });
}
