// PUT /deployments/extensions/{extension_id}: streams the file into the repository and answers 200
// with the updated Extension once it is stored, verified and committed.
import type { FastifyInstance } from 'fastify';
import { renderExtension, resourceHeaders } from '../../../domain/extension-view.js';
import { apiError } from '../../../errors.js';
import { fileConditionOf } from '../../file-condition.js';
import { requirePrincipal } from '../../plugins/authenticate.js';
import { guardUploadRate } from '../../plugins/client-limits.js';
import { abortOnClientGone } from '../../request-abort.js';
import { fileUrlOf, type RouteDeps } from '../../route-deps.js';
import { extensionIdParams, extensionSchema, type ExtensionIdParams } from '../../schemas.js';
import { multipartFileStream, uploadFormOf } from '../../upload-body.js';

// Room for multipart boundaries and part headers on top of the file itself.
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const UPLOAD_ROUTE = '/api/v1/deployments/extensions/:extension_id';

/** The one route whose body streams (bounded by a transfer rate, not by the JSON body timeout). */
export function isUploadRoute(method: string, route: string | undefined): boolean {
  return method === 'PUT' && route === UPLOAD_ROUTE;
}

export async function registerUploadExtension(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  // Its own encapsulated scope, so that here (and only here) every body is left unread for the
  // handler to stream instead of being parsed into memory.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));

    scope.put<{ Params: ExtensionIdParams }>(
      UPLOAD_ROUTE,
      { schema: { params: extensionIdParams, response: { 200: extensionSchema } } },
      async (request, reply) => {
        // A failed upload may leave part of the body unread; close the connection after answering
        // rather than read gigabytes we are going to discard.
        const closeAfterError = () => reply.header('connection', 'close');
        try {
          const form = uploadFormOf(request.headers['content-type']);
          const declared = Number(request.headers['content-length'] ?? NaN);
          const allowance = deps.config.maxFileBytes + (form === 'multipart' ? MULTIPART_OVERHEAD_BYTES : 0);
          if (Number.isFinite(declared) && declared > allowance) {
            throw apiError(
              'payloadTooLarge',
              `The file is ${declared} bytes, over the limit of ${deps.config.maxFileBytes} bytes (EXTREPO_MAX_FILE_BYTES).`,
            );
          }
          const principal = requirePrincipal(request);
          const id = request.params.extension_id;
          const ifFileSha256 = fileConditionOf(request);
          // Fail fast (404/401) before reading a byte of the body.
          await deps.service.get(id, principal);
          // A client that goes away before the pipeline is attached must not crash the process; the
          // pipeline notices the destroyed request on its own.
          request.raw.on('error', () => {});
          const body = form === 'multipart' ? multipartFileStream(request.raw, deps.config.maxFileBytes) : request.raw;
          const source = guardUploadRate(body, deps.config.uploadMinBytesPerSecond, deps.config.uploadRateWindowMs, reply.raw);
          const record = await deps.service.upload(id, source, principal, abortOnClientGone(reply), {
            form,
            ...(ifFileSha256 === undefined ? {} : { ifFileSha256 }),
          });
          reply.headers(resourceHeaders(record));
          return renderExtension(record, { fileUrl: fileUrlOf(deps, record) });
        } catch (error) {
          if (!request.raw.readableEnded) closeAfterError();
          throw error;
        }
      },
    );
  });
}
