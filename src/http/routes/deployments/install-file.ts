// GET /deployment-files/{deployment_id}/{extension_id}/{token}/{name}.zip : an install URL. No
// credentials (elasticsearch-plugin install, opensearch-plugin install and curl fetch it with a
// plain GET); the token is the authorisation (domain/install-links.ts). It serves the exact bytes
// with the sha256 as a strong ETag while the deployment's current plan references the extension.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { INSTALL_LINK_PREFIX } from '../../../domain/install-links.js';
import { apiError } from '../../../errors.js';
import type { RouteDeps } from '../../route-deps.js';

interface Params {
  deployment_id: string;
  extension_id: string;
  token: string;
  file: string;
}

export function registerInstallFile(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: Params }>(
    `${INSTALL_LINK_PREFIX}/:deployment_id/:extension_id/:token/:file`,
    { config: { public: true } },
    async (request, reply) => {
      const { deployment_id: deploymentId, extension_id: extensionId, token } = request.params;
      const deployment = await deps.store.deployments.getDeployment(deploymentId);
      if (deployment === null) {
        throw apiError('deploymentNotFound', `Deployment [${deploymentId}] does not exist (any more): this install URL no longer works.`);
      }
      if (!deps.installLinks.verify(deploymentId, deployment.installSalt, extensionId, token)) {
        throw apiError(
          'forbiddenLink',
          "This install URL is not valid: the deployment's install secret was rotated, or the URL was altered. Read the deployment's elasticsearch-plugins.yml or bundles again.",
        );
      }
      const extension = await deps.store.getExtension(extensionId);
      if (!(await deps.store.deployments.referencesExtension(deploymentId, extensionId)) || extension === null || extension.file === null) {
        throw apiError('notFound', `Deployment [${deploymentId}]'s current plan no longer references extension [${extensionId}].`);
      }
      const { sha256, size } = extension.file;
      const etag = `"${sha256}"`;
      reply
        .header('content-type', 'application/zip')
        .header('etag', etag)
        .header('last-modified', extension.file.uploadedAt.toUTCString())
        .header('cache-control', 'private, no-cache')
        .header('content-length', String(size));
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
        reply.removeHeader('content-length');
        return reply.code(304).send();
      }
      if (request.method === 'HEAD') return reply.send(Readable.from([]));
      const stream = await deps.blobs.open(sha256);
      reply.raw.once('finish', () => deps.metrics.bytesDownloaded.inc(size));
      return reply.send(stream);
    },
  );
}
