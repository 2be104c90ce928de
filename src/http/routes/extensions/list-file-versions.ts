// GET /deployments/extensions/{extension_id}/versions (extrepo's addition, not part of ECE): every
// file the extension had, newest first, paged with from/size like GET /audit. Visible to whoever may
// see the extension; each version carries a signed link to its exact bytes.
import type { FastifyInstance } from 'fastify';
import { renderFileVersion } from '../../../domain/file-version-view.js';
import { mayChangeExtension } from '../../../domain/principal.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { integerQuery } from '../../query.js';
import { fileVersionUrlOf, type RouteDeps } from '../../route-deps.js';
import { extensionIdParams, type ExtensionIdParams } from '../../schemas.js';

export const FILE_VERSIONS_MAX_PAGE = 1000;
export const FILE_VERSIONS_DEFAULT_PAGE = 100;

export function registerListFileVersions(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: ExtensionIdParams }>(
    '/api/v1/deployments/extensions/:extension_id/versions',
    { schema: { params: extensionIdParams } },
    async (request) => {
      const from = integerQuery(request.query, 'from', 0, Number.MAX_SAFE_INTEGER, 0);
      const size = integerQuery(request.query, 'size', 0, FILE_VERSIONS_MAX_PAGE, FILE_VERSIONS_DEFAULT_PAGE);
      const id = request.params.extension_id;
      const principal = requirePrincipal(request);
      const page = await deps.service.listVersions(id, principal, { from, size });
      // A copy's download_url is shown as the extension's own is: its password masked for readers.
      const masked = !mayChangeExtension(principal, page.extension.ownerId);
      return {
        total: page.total,
        from,
        size,
        versions: page.versions.map((version) => renderFileVersion(version, fileVersionUrlOf(deps, page.extension, version), masked)),
      };
    },
  );
}
