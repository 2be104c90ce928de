// DELETE /deployments/{deployment_id} (ECE's delete-deployment): only once shut down, as in ECE.
// Deleting ends the plan's references, so its extensions may be deleted afterwards, and its
// install URLs stop working. ecctl sends Content-Type: application/json with no body.
import type { FastifyInstance } from 'fastify';
import { lifecycleResponse } from '../../../domain/deployment-view.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';
import { deploymentIdParams } from './schemas.js';
import type { DeploymentIdParams } from './schemas.js';

export function registerDeleteDeployment(app: FastifyInstance, deps: RouteDeps): void {
  app.delete<{ Params: DeploymentIdParams }>('/api/v1/deployments/:deployment_id', { schema: { params: deploymentIdParams } }, async (request) =>
    lifecycleResponse(await deps.deployments.delete(request.params.deployment_id, requirePrincipal(request))),
  );
}
