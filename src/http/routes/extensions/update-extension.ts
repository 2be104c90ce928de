// POST /deployments/extensions/{extension_id}: replaces the metadata (Terraform reads back exactly
// what it sent), re-fetches the file when download_url is given, honours an optional ?version=
// and (extrepo's addition) ?if_sha256= / If-Match on the current file.
import type { FastifyInstance } from 'fastify';
import { renderExtension, resourceHeaders } from '../../../domain/extension-view.js';
import type { UpdateExtensionRequest } from '../../../api-types.js';
import { fileConditionOf } from '../../file-condition.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { versionQuery } from '../../query.js';
import { abortOnClientGone } from '../../request-abort.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';
import { extensionIdParams, extensionSchema, updateExtensionRequestSchema, type ExtensionIdParams } from '../../schemas.js';

export function registerUpdateExtension(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Params: ExtensionIdParams; Body: UpdateExtensionRequest }>(
    '/api/v1/deployments/extensions/:extension_id',
    { schema: { params: extensionIdParams, body: updateExtensionRequestSchema, response: { 200: extensionSchema } } },
    async (request, reply) => {
      const record = await deps.service.update(
        request.params.extension_id,
        request.body,
        versionQuery(request.query),
        requirePrincipal(request),
        abortOnClientGone(reply),
        fileConditionOf(request),
      );
      reply.headers(resourceHeaders(record));
      return renderExtension(record, { fileUrl: fileUrlOf(deps, record) });
    },
  );
}
