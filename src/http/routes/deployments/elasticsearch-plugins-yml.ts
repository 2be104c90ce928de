// GET /deployments/{deployment_id}/elasticsearch-plugins.yml (extrepo's own): Elasticsearch's
// declarative plugin file, to put in the config directory of every node of a self-managed cluster.
// Elasticsearch (8.x) installs and removes plugins at start-up to match it. `id` is the plan entry's
// name (make it the plugin's descriptor name), `location` an install URL that needs no credentials.
import type { FastifyInstance } from 'fastify';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';
import { installUrlOf, yamlString } from './install-files.js';
import { deploymentIdParams } from './schemas.js';
import type { DeploymentIdParams } from './schemas.js';

export function registerElasticsearchPluginsYml(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: DeploymentIdParams }>(
    '/api/v1/deployments/:deployment_id/elasticsearch-plugins.yml',
    { schema: { params: deploymentIdParams } },
    async (request, reply) => {
      const { record, references } = await deps.deployments.installReferences(request.params.deployment_id, requirePrincipal(request));
      const lines = [`# Plugins of extrepo deployment ${record.id} (${record.name.replace(/[\r\n]/g, ' ')}), from its current plan.`];
      const plugins = references.filter((reference) => reference.kind === 'plugin');
      if (plugins.length === 0) {
        lines.push('plugins: []');
      } else {
        lines.push('plugins:');
        for (const { entry, extension } of plugins) {
          const location = extension === null ? entry.url : installUrlOf(deps, record, extension);
          lines.push(`  - id: ${yamlString(entry.name)}`, `    location: ${yamlString(location)}`);
        }
      }
      reply.type('application/yaml; charset=utf-8').header('cache-control', 'no-store');
      return lines.join('\n') + '\n';
    },
  );
}
