// POST /deployments/{deployment_id}/_rotate_install_secret (extrepo's own): every install URL of
// the deployment stops working at once; the plugin file and the bundle manifest then list new ones.
import type { FastifyInstance } from 'fastify';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';
import { deploymentIdParams } from './schemas.js';
import type { DeploymentIdParams } from './schemas.js';

export function registerRotateInstallSecret(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Params: DeploymentIdParams }>(
    '/api/v1/deployments/:deployment_id/_rotate_install_secret',
    { schema: { params: deploymentIdParams } },
    async (request) => {
      await deps.deployments.rotateInstallSecret(request.params.deployment_id, requirePrincipal(request));
      return {};
    },
  );
}
