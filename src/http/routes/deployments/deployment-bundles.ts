// GET /deployments/{deployment_id}/bundles (extrepo's own): the bundles of the deployment's current
// plan, each with an install URL that needs no credentials and its sha256 and size, for a script
// that fetches them and unpacks each zip into the node's config directory (as ECE does).
import type { FastifyInstance } from 'fastify';
import { requirePrincipal } from '../../plugins/authenticate.js';
import type { RouteDeps } from '../../route-deps.js';
import { installUrlOf } from './install-files.js';
import { deploymentIdParams } from './schemas.js';
import type { DeploymentIdParams } from './schemas.js';

export function registerDeploymentBundles(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: DeploymentIdParams }>(
    '/api/v1/deployments/:deployment_id/bundles',
    { schema: { params: deploymentIdParams } },
    async (request, reply) => {
      const { record, references } = await deps.deployments.installReferences(request.params.deployment_id, requirePrincipal(request));
      const bundles = references
        .filter((reference) => reference.kind === 'bundle')
        .map(({ entry, extension }) => {
          if (extension === null || extension.file === null) {
            return { name: entry.name, version: entry.elasticsearchVersion, url: entry.url };
          }
          return {
            name: entry.name,
            version: extension.version,
            extension_id: extension.id,
            sha256: extension.file.sha256,
            size: extension.file.size,
            url: installUrlOf(deps, record, extension),
          };
        });
      reply.header('cache-control', 'no-store');
      return { bundles };
    },
  );
}
