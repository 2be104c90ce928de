// The deployment operations (ECE's paths) and extrepo's self-managed install additions.
import type { FastifyInstance } from 'fastify';
import { registerMethodNotAllowed } from '../../plugins/error-replies.js';
import type { RouteDeps } from '../../route-deps.js';
import { registerCreateDeployment } from './create-deployment.js';
import { registerDeleteDeployment } from './delete-deployment.js';
import { registerDeploymentBundles } from './deployment-bundles.js';
import { registerElasticsearchPluginsYml } from './elasticsearch-plugins-yml.js';
import { registerGetDeployment } from './get-deployment.js';
import { registerInstallFile } from './install-file.js';
import { registerListDeployments } from './list-deployments.js';
import { registerRotateInstallSecret } from './rotate-install-secret.js';
import { registerShutdownDeployment } from './shutdown-deployment.js';
import { registerUpdateDeployment } from './update-deployment.js';

export function registerDeploymentRoutes(app: FastifyInstance, deps: RouteDeps): void {
  registerListDeployments(app, deps);
  registerCreateDeployment(app, deps);
  registerGetDeployment(app, deps);
  registerUpdateDeployment(app, deps);
  registerDeleteDeployment(app, deps);
  registerShutdownDeployment(app, deps);
  registerElasticsearchPluginsYml(app, deps);
  registerDeploymentBundles(app, deps);
  registerRotateInstallSecret(app, deps);
  registerInstallFile(app, deps);
  registerMethodNotAllowed(app, '/api/v1/deployments', ['GET', 'POST']);
  registerMethodNotAllowed(app, '/api/v1/deployments/:deployment_id', ['GET', 'PUT', 'DELETE']);
  registerMethodNotAllowed(app, '/api/v1/deployments/:deployment_id/_shutdown', ['POST']);
  registerMethodNotAllowed(app, '/api/v1/deployments/:deployment_id/_rotate_install_secret', ['POST']);
  registerMethodNotAllowed(app, '/api/v1/deployments/:deployment_id/elasticsearch-plugins.yml', ['GET']);
  registerMethodNotAllowed(app, '/api/v1/deployments/:deployment_id/bundles', ['GET']);
}
