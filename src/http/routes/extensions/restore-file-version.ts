// POST /deployments/extensions/{extension_id}/versions/{file_version}/_restore (extrepo's addition,
// not part of ECE): makes a kept file version the extension's file again and answers the Extension,
// whose file_metadata then describes that version's bytes. Honours ?version= like update.
import type { FastifyInstance } from 'fastify';
import { renderExtension, resourceHeaders } from '../../../domain/extension-view.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { versionQuery } from '../../query.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';
import { extensionSchema, fileVersionNumber, fileVersionParams, type FileVersionParams } from '../../schemas.js';

export function registerRestoreFileVersion(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Params: FileVersionParams }>(
    '/api/v1/deployments/extensions/:extension_id/versions/:file_version/_restore',
    { schema: { params: fileVersionParams, response: { 200: extensionSchema } } },
    async (request, reply) => {
      const { extension_id: id } = request.params;
      const record = await deps.service.restoreVersion(
        id,
        fileVersionNumber(id, request.params.file_version),
        versionQuery(request.query),
        requirePrincipal(request),
      );
      reply.headers(resourceHeaders(record));
      return renderExtension(record, { fileUrl: fileUrlOf(deps, record) });
    },
  );
}
