// PUT /deployments/{deployment_id} (ECE's update-deployment): a new Elasticsearch plan replaces the
// current one (which goes to the plan history); prune_orphans=true shuts down (here: forgets) the
// resource the request does not mention. ?version= is checked against x-cloud-resource-version;
// validate_only=true validates and stores nothing; skip_snapshot is accepted (nothing to snapshot).
import type { FastifyInstance } from 'fastify';
import { deploymentHeaders, updateResponse } from '../../../domain/deployment-view.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery, versionQuery } from '../../query.js';
import type { RouteDeps } from '../../route-deps.js';
import { deploymentIdParams, deploymentUpdateRequestSchema } from './schemas.js';
import type { DeploymentIdParams } from './schemas.js';

export function registerUpdateDeployment(app: FastifyInstance, deps: RouteDeps): void {
  app.put<{ Params: DeploymentIdParams }>(
    '/api/v1/deployments/:deployment_id',
    { schema: { params: deploymentIdParams, body: deploymentUpdateRequestSchema } },
    async (request, reply) => {
      const query = request.query;
      booleanQuery(query, 'skip_snapshot');
      const hidePruned = booleanQuery(query, 'hide_pruned_orphans') === true;
      const validateOnly = booleanQuery(query, 'validate_only') === true;
      const expectedVersion = versionQuery(query);
      const outcome = await deps.deployments.update(
        request.params.deployment_id,
        request.body,
        { validateOnly, ...(expectedVersion === undefined ? {} : { expectedVersion }) },
        requirePrincipal(request),
      );
      reply.headers(deploymentHeaders(outcome.record));
      return updateResponse(outcome.record, outcome.pruned, hidePruned);
    },
  );
}
