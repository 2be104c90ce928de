// The install URLs of a deployment's repo:// extensions, as the self-managed install files list them.
import type { DeploymentRecord } from '../../../stores/deployment-store.js';
import type { ExtensionRecord } from '../../../stores/metadata-store.js';
import type { RouteDeps } from '../../route-deps.js';

export function installUrlOf(deps: RouteDeps, deployment: DeploymentRecord, extension: ExtensionRecord): string {
  return deps.publicBaseUrl() + deps.installLinks.path(deployment.id, deployment.installSalt, extension.id, `${extension.name}-${extension.version}`);
}

/** A YAML double-quoted scalar (JSON's string syntax is valid YAML). */
export function yamlString(value: string): string {
  return JSON.stringify(value);
}
