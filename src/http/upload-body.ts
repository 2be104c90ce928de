// Turns an upload request into a stream of the file's bytes. Two wire forms reach PUT (docs/client-compatibility.md, "Uploading a file"):
// multipart/form-data with a part named "file" (the spec; the Go SDK sends it chunked, with the
// filename "Extension" and any part type), and a raw body (Elastic's docs use `curl -T`, with
// application/zip or no Content-Type at all).
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import { apiError } from '../errors.js';

const RAW_TYPES = new Set(['application/zip', 'application/x-zip-compressed', 'application/octet-stream', 'application/x-zip']);

export type UploadForm = 'raw' | 'multipart';

export function uploadFormOf(contentType: string | undefined): UploadForm {
  if (contentType === undefined || contentType.trim() === '') return 'raw';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'multipart/form-data') return 'multipart';
  if (RAW_TYPES.has(mediaType)) return 'raw';
  throw apiError(
    'unsupportedMediaType',
    `Content-Type ${mediaType} is not accepted for an upload: send multipart/form-data with the zip in a part named "file", or the raw zip with Content-Type application/zip.`,
  );
}

/**
 * The bytes of the multipart part named "file". The stream ends only once the whole form has been
 * parsed, so a form cut off after the file part fails instead of storing a file that merely looks
 * complete.
 */
export function multipartFileStream(request: IncomingMessage, maxFileBytes: number): Readable {
  const file = new PassThrough({ highWaterMark: 1024 * 1024 });
  // The form may fail before the consumer's pipeline is attached (the service checks permissions
  // first): the pipeline then still sees the error through `file.errored`, so an early failure must
  // not become an uncaught exception meanwhile.
  file.on('error', () => {});
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: request.headers, limits: { files: 16, fields: 64, fileSize: maxFileBytes + 1 } });
  } catch (error) {
    throw apiError('invalidRequest', `The multipart body cannot be parsed: ${(error as Error).message}`);
  }
  let found = false;
  const malformed = (error: Error) => apiError('requestExecutionFailed', `The multipart body is malformed or incomplete: ${error.message}`);
  parser.on('file', (name, stream) => {
    if (name !== 'file' || found) {
      stream.resume();
      return;
    }
    found = true;
    stream.pipe(file, { end: false });
    stream.on('error', (error: Error) => file.destroy(malformed(error)));
  });
  parser.on('close', () => {
    if (found) {
      file.end();
    } else {
      file.destroy(
        apiError('requestExecutionFailed', 'The multipart form has no part named "file": send the zip as -F "file=@extension.zip".', {
          fields: ['file'],
        }),
      );
    }
  });
  parser.on('error', (error: Error) => file.destroy(malformed(error)));
  request.on('error', (error) => file.destroy(error));
  request.on('aborted', () => file.destroy(new Error('the client aborted the upload')));
  file.on('close', () => {
    if (!file.readableEnded) request.unpipe(parser);
  });
  request.pipe(parser);
  return file;
}
