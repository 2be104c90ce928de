// POST /deployments/{deployment_id}/_shutdown (ECE's shutdown-deployment): marks the deployment shut
// down, which ECE requires before a delete. Its plan keeps referencing its extensions until then.
// `hide` is ECE's platform-admin-only parameter; a registry hides nothing, so it is refused.
import type { FastifyInstance } from 'fastify';
import { lifecycleResponse } from '../../../domain/deployment-view.js';
import { apiError } from '../../../errors.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import type { RouteDeps } from '../../route-deps.js';
import { deploymentIdParams } from './schemas.js';
import type { DeploymentIdParams } from './schemas.js';

export function registerShutdownDeployment(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Params: DeploymentIdParams }>(
    '/api/v1/deployments/:deployment_id/_shutdown',
    { schema: { params: deploymentIdParams } },
    async (request) => {
      const principal = requirePrincipal(request);
      booleanQuery(request.query, 'skip_snapshot');
      if (booleanQuery(request.query, 'hide') !== undefined) {
        if (!principal.roles.includes('ece_platform_admin')) {
          throw apiError('restrictedParameter', 'Parameter hide is restricted and can only be set by a Platform administrator.', {
            fields: ['hide'],
          });
        }
        throw apiError('invalidRequest', 'extrepo does not hide deployments: leave out hide.', { fields: ['hide'] });
      }
      return lifecycleResponse(await deps.deployments.shutdown(request.params.deployment_id, principal));
    },
  );
}
