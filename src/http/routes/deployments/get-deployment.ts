// GET /deployments/{deployment_id} (ECE's get-deployment). show_plans (default true) includes the
// stored current plan, show_plan_history the plans it replaced, show_settings the resource's
// settings; ECE's other show_* parameters are accepted (they ask for things a registry does not have).
import type { FastifyInstance } from 'fastify';
import { deploymentHeaders, getResponse } from '../../../domain/deployment-view.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { booleanQuery } from '../../query.js';
import type { RouteDeps } from '../../route-deps.js';
import { deploymentIdParams } from './schemas.js';
import type { DeploymentIdParams } from './schemas.js';

const ACCEPTED_FLAGS = [
  'show_security',
  'show_metadata',
  'show_plan_logs',
  'show_plan_defaults',
  'convert_legacy_plans',
  'show_instance_configurations',
  'enrich_with_template',
  'force_all_plan_history',
  'clear_transient',
];

export function registerGetDeployment(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: DeploymentIdParams }>(
    '/api/v1/deployments/:deployment_id',
    { schema: { params: deploymentIdParams } },
    async (request, reply) => {
      const query = request.query;
      for (const flag of ACCEPTED_FLAGS) booleanQuery(query, flag);
      const showPlans = booleanQuery(query, 'show_plans') ?? true;
      const showPlanHistory = booleanQuery(query, 'show_plan_history') === true;
      const showSettings = booleanQuery(query, 'show_settings') === true;
      const record = await deps.deployments.get(request.params.deployment_id, requirePrincipal(request));
      const history = showPlanHistory ? await deps.deployments.history(record) : [];
      reply.headers(deploymentHeaders(record));
      return getResponse(record, { showPlans, showPlanHistory, showSettings, history });
    },
  );
}
