// GET /extension-files/{id}/{sha256}.zip?expires=&signature= : the signed link of file_metadata.url.
// GET /extension-files/{id}/versions/{n}/{sha256}.zip?… : the signed link of a file version's `url`.
// No credentials (Terraform's acceptance tests fetch it with a bare http.Get); the HMAC is the
// authorisation. Serves the exact bytes with a strong ETag, Content-Length and single-range support.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import parseRange from 'range-parser';
import { meterBody, startBodyMeter } from '../../body-meter.js';
import { ResponseClosedError, sendFileBody } from '../../file-body.js';
import type { SendFile } from '../../sendfile.js';
import { FILE_LINK_PREFIX, type LinkCheck } from '../../../domain/file-links.js';
import { apiError } from '../../../errors.js';
import { BlobNotFoundError, type ByteRange, type LocalBlobFile } from '../../../stores/blob-store.js';
import type { RouteDeps } from '../../route-deps.js';

interface Params {
  extension_id: string;
  file: string;
}

interface VersionParams extends Params {
  version: string;
}

interface Query {
  expires?: string;
  signature?: string;
}

export function registerDownloadFile(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: Params; Querystring: Query }>(`${FILE_LINK_PREFIX}/:extension_id/:file`, { config: { public: true } }, async (request, reply) => {
    const { extension_id: id, file } = request.params;
    const sha256 = /^([0-9a-f]{64})\.zip$/.exec(file)?.[1];
    const { expires, signature } = request.query;
    if (sha256 === undefined || typeof expires !== 'string' || typeof signature !== 'string') {
      throw apiError('forbiddenLink', 'This file link is incomplete: ask the API for the extension again to get a fresh file_metadata.url.');
    }
    refuseBadLink(deps.links.verify(id, sha256, expires, signature, new Date()), 'the extension again to get a fresh file_metadata.url');
    const record = await deps.store.getExtension(id);
    if (record === null || record.file === null || record.file.sha256 !== sha256) {
      throw apiError('notFound', `Extension [${id}] no longer has this file: it was deleted or replaced.`);
    }
    return serveBlob(request, reply, deps, { extensionId: id, sha256, size: record.file.size, modified: record.file.uploadedAt, name: record.name });
  });

  app.get<{ Params: VersionParams; Querystring: Query }>(
    `${FILE_LINK_PREFIX}/:extension_id/versions/:version/:file`,
    { config: { public: true } },
    async (request, reply) => {
      const { extension_id: id, file } = request.params;
      const sha256 = /^([0-9a-f]{64})\.zip$/.exec(file)?.[1];
      const version = /^\d{1,9}$/.test(request.params.version) ? Number(request.params.version) : undefined;
      const { expires, signature } = request.query;
      if (sha256 === undefined || version === undefined || typeof expires !== 'string' || typeof signature !== 'string') {
        throw apiError('forbiddenLink', 'This file link is incomplete: ask the API for the file version again to get a fresh url.');
      }
      refuseBadLink(deps.links.verifyVersion(id, version, sha256, expires, signature, new Date()), 'the file version again to get a fresh url');
      const [record, kept] = await Promise.all([deps.store.getExtension(id), deps.store.getFileVersion(id, version)]);
      if (record === null || kept === null || kept.sha256 !== sha256) {
        throw apiError('notFound', `Extension [${id}] no longer has file version ${version}: it was pruned or the extension was deleted.`);
      }
      return serveBlob(request, reply, deps, {
        extensionId: id,
        sha256,
        size: kept.size,
        modified: kept.createdAt,
        name: `${record.name}-v${version}`,
      });
    },
  );
}

/** 403 for an expired or forged link; `askFor` says what to ask the API for instead. */
function refuseBadLink(check: LinkCheck, askFor: string): void {
  if (check.ok) return;
  throw apiError(
    'forbiddenLink',
    check.why === 'expired'
      ? `This file link has expired: ask the API for ${askFor}.`
      : 'This file link is not valid (it was altered or signed with another secret).',
  );
}

interface ServedFile {
  extensionId: string;
  sha256: string;
  size: number;
  modified: Date;
  /** Base of the download's file name. */
  name: string;
}

async function serveBlob(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: RouteDeps,
  { extensionId: id, sha256, size, modified, name }: ServedFile,
): Promise<FastifyReply> {
  const etag = `"${sha256}"`;
  reply
    .header('content-type', 'application/zip')
    .header('etag', etag)
    .header('last-modified', modified.toUTCString())
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, max-age=0')
    .header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.zip"`);

  if (ifNoneMatchHits(request.headers['if-none-match'], etag)) {
    return reply.code(304).send();
  }
  const ifRange = request.headers['if-range'];
  const range = requestedRange(request.headers.range, typeof ifRange === 'string' ? ifRange : undefined, etag, size);
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${size}`);
    throw apiError('rangeNotSatisfiable', `The requested range is outside the file, which is ${size} bytes long.`, {
      headers: { 'content-range': `bytes */${size}` },
    });
  }
  const length = range === null ? size : range.end - range.start + 1;
  if (range !== null) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
  }
  reply.header('content-length', String(length));
  // Fastify answers HEAD through this handler and keeps our Content-Length only for a stream
  // payload, which it drains: hand it an empty one rather than open the blob. The blob must still
  // be there, or a HEAD would promise bytes that a GET then cannot give.
  if (request.method === 'HEAD') {
    const held = await deps.blobs.stat(sha256).catch((error: unknown) => {
      throw openFailure(request, reply, deps, id, sha256, error);
    });
    if (held === null) throw openFailure(request, reply, deps, id, sha256, new BlobNotFoundError(sha256));
    return reply.send(Readable.from([]));
  }
  if (length === 0) return reply.send();
  const start = range?.start ?? 0;
  try {
    if (deps.blobs.openFile) {
      const file = await deps.blobs.openFile(sha256);
      sendLocalFile(request, reply, file, start, length, deps.sendfile);
      return reply;
    }
    const stream = await deps.blobs.open(sha256, range ?? undefined);
    // Metered, so the request log and extrepo_downloaded_bytes_total count the bytes actually sent,
    // also when the client closes the connection early (http/plugins/request-log.ts).
    return reply.send(meterBody(request, stream, length));
  } catch (error) {
    throw openFailure(request, reply, deps, id, sha256, error);
  }
}

/**
 * The local file store's faster path (http/file-body.ts): the reply is taken over from Fastify and
 * written to the connection directly. Nothing after the handler needs Fastify's send path here: the
 * request log and the metrics run on the connection's close (plugins/request-log.ts), and no onSend
 * hook concerns a download.
 */
function sendLocalFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: LocalBlobFile,
  start: number,
  length: number,
  sendfile: SendFile | null,
): void {
  const meter = startBodyMeter(request, length);
  reply.hijack();
  const res = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) res.setHeader(name, value);
  }
  res.writeHead(reply.statusCode);
  sendFileBody(res, file, start, length, meter, sendfile).catch((error: unknown) => {
    // A short body must not look like a whole one: the connection goes, and the client sees it cut.
    if (!(error instanceof ResponseClosedError)) request.log.error({ err: error }, 'download failed while sending the file');
    res.destroy();
  });
}

/** The error to answer when the blob could not be opened: a store outage, or a missing blob. */
function openFailure(request: FastifyRequest, reply: FastifyReply, deps: RouteDeps, id: string, sha256: string, error: unknown): unknown {
  // The answer is an error now, not the file.
  for (const header of ['content-length', 'content-range', 'etag', 'last-modified', 'accept-ranges', 'content-disposition']) {
    reply.removeHeader(header);
  }
  if (!(error instanceof BlobNotFoundError)) return error;
  // The metadata references bytes the file store does not hold: nothing a client did, and
  // nothing a retry fixes. Counted and logged loudly so that an operator restores them.
  deps.metrics.integrityFaults.inc({ kind: 'missing_blob' });
  request.log.error({ extensionId: id, sha256 }, 'integrity fault: an extension references a blob the file store does not hold');
  return apiError(
    'fileMissing',
    `The file of extension [${id}] (sha256 ${sha256}) is missing from the file store; the fault has been logged. ` +
      'Upload the file again, or ask the operator to restore it.',
  );
}

function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === etag;
  });
}

/** The single byte range to serve, null for the whole file. Several ranges are served whole (RFC 9110 allows it). */
function requestedRange(header: string | undefined, ifRange: string | undefined, etag: string, size: number): ByteRange | null | 'unsatisfiable' {
  if (header === undefined) return null;
  if (ifRange !== undefined && ifRange.trim() !== etag) return null;
  const ranges = parseRange(size, header, { combine: true });
  if (ranges === -1) return 'unsatisfiable';
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return null;
  const only = ranges[0]!;
  return { start: only.start, end: only.end };
}
