// Guards ranged reads against S3-compatible servers that answer a Range request with more than
// was asked for (s3rver, for one, sends the whole object for "bytes=0-0", and some servers ignore
// Range entirely). A blob's range must be exactly the bytes requested: a download handler sends
// them as a 206 body with a Content-Length computed from the range.
import { Readable } from 'node:stream';
import type { ByteRange } from '../blob-store.js';

/** Where the body's first byte sits in the object, from Content-Range ("bytes 10-19/100"); 0 without one. */
function bodyStart(contentRange: string | undefined): number | null {
  if (contentRange === undefined) return 0;
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(contentRange.trim());
  return match ? Number(match[1]) : null;
}

/**
 * The body itself when the server honoured the range, else a stream of just the requested bytes
 * cut out of what it sent.
 */
export function exactRange(body: Readable, range: ByteRange, response: { contentRange?: string; contentLength?: number }): Readable {
  const wanted = range.end - range.start + 1;
  const start = bodyStart(response.contentRange);
  if (start === range.start && response.contentLength === wanted) return body;
  if (start === null || start > range.start) {
    body.destroy();
    throw new Error(`object storage answered range ${range.start}-${range.end} with ${response.contentRange ?? 'the whole object'}`);
  }
  return Readable.from(slice(body, range.start - start, wanted), { objectMode: false });
}

async function* slice(body: Readable, skip: number, length: number): AsyncGenerator<Buffer> {
  let toSkip = skip;
  let remaining = length;
  // Leaving the loop early (enough bytes) destroys the body, which closes the connection.
  for await (const chunk of body) {
    let data = chunk as Buffer;
    if (toSkip > 0) {
      if (data.length <= toSkip) {
        toSkip -= data.length;
        continue;
      }
      data = data.subarray(toSkip);
      toSkip = 0;
    }
    if (data.length >= remaining) {
      yield data.subarray(0, remaining);
      remaining = 0;
      break;
    }
    remaining -= data.length;
    yield data;
  }
  if (remaining > 0) throw new Error('object storage sent fewer bytes than the range requested');
}
