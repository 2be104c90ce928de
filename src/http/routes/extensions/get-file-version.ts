// GET /deployments/extensions/{extension_id}/versions/{file_version} (extrepo's addition, not part
// of ECE): one file version, with a signed link to its exact bytes.
import type { FastifyInstance } from 'fastify';
import { renderFileVersion } from '../../../domain/file-version-view.js';
import { mayChangeExtension } from '../../../domain/principal.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { fileVersionUrlOf, type RouteDeps } from '../../route-deps.js';
import { fileVersionParams, fileVersionNumber, type FileVersionParams } from '../../schemas.js';

export function registerGetFileVersion(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: FileVersionParams }>(
    '/api/v1/deployments/extensions/:extension_id/versions/:file_version',
    { schema: { params: fileVersionParams } },
    async (request) => {
      const { extension_id: id } = request.params;
      const principal = requirePrincipal(request);
      const { extension, version } = await deps.service.getVersion(id, fileVersionNumber(id, request.params.file_version), principal);
      // A copy's download_url is shown as the extension's own is: its password masked for readers.
      return renderFileVersion(version, fileVersionUrlOf(deps, extension, version), !mayChangeExtension(principal, extension.ownerId));
    },
  );
}
