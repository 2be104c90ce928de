// Install URLs for self-managed clusters: what elasticsearch-plugin, opensearch-plugin and a bundle
// fetch script download with a plain GET and no credentials. Unlike file_metadata.url they do not
// expire (a rollout may take days); instead the HMAC binds each URL to one deployment, one
// extension and the deployment's current install salt, and the route also checks that the
// deployment's current plan still references the extension. Rotating the salt, removing the
// reference or deleting the deployment therefore ends a URL at once.
import { createHmac, randomBytes } from 'node:crypto';
import { isIssuedSignature } from '../signature-text.js';

export const INSTALL_LINK_PREFIX = '/deployment-files';

export function newInstallSalt(): string {
  return randomBytes(16).toString('base64url');
}

export interface InstallLinkSigner {
  /** Path (no origin) of the install URL. */
  path(deploymentId: string, installSalt: string, extensionId: string, fileName: string): string;
  verify(deploymentId: string, installSalt: string, extensionId: string, token: string): boolean;
}

export function createInstallLinkSigner(secret: string): InstallLinkSigner {
  const mac = (deploymentId: string, salt: string, extensionId: string): Buffer =>
    createHmac('sha256', secret).update(`deployment-install\n${deploymentId}\n${salt}\n${extensionId}`).digest();
  return {
    path(deploymentId, installSalt, extensionId, fileName) {
      const token = mac(deploymentId, installSalt, extensionId).toString('base64url');
      const safe = fileName.replace(/[^A-Za-z0-9_.-]/g, '_');
      return `${INSTALL_LINK_PREFIX}/${deploymentId}/${encodeURIComponent(extensionId)}/${token}/${safe}.zip`;
    },
    verify(deploymentId, installSalt, extensionId, token) {
      return isIssuedSignature(token, mac(deploymentId, installSalt, extensionId).toString('base64url'));
    },
  };
}
