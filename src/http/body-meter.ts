// Counts the body bytes of a streamed response as they are handed to the connection, so the
// request log and extrepo_downloaded_bytes_total can say what was actually sent, also when the
// client goes away before the end (see request-log.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Transform, pipeline, type Readable } from 'node:stream';

export interface BodyMeter {
  /** Body bytes passed on towards the socket so far. */
  bytes: number;
  /** The body's full length (Content-Length). */
  readonly expected: number;
  /**
   * Bytes handed to the connection by work still in flight (a sendfile call), added to `bytes` when it
   * settles: whoever reads the count when the connection closes waits for it.
   */
  pending?: Promise<unknown> | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    bodyMeter: BodyMeter | null;
  }
}

export function registerBodyMeter(app: FastifyInstance): void {
  app.decorateRequest('bodyMeter', null);
}

/** A meter for a body of `expected` bytes that the caller counts itself (http/file-body.ts). */
export function startBodyMeter(request: FastifyRequest, expected: number): BodyMeter {
  const meter: BodyMeter = { bytes: 0, expected };
  request.bodyMeter = meter;
  return meter;
}

/**
 * `source`, counted into `request.bodyMeter`. When the response is closed early, Fastify destroys
 * the returned stream, and pipeline() then destroys `source` (closing its file or S3 stream).
 */
export function meterBody(request: FastifyRequest, source: Readable, expected: number): Readable {
  const meter = startBodyMeter(request, expected);
  const counter = new Transform({
    // The blob stores read 1 MiB at a time; a smaller buffer here would split their chunks.
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      meter.bytes += chunk.length;
      callback(null, chunk);
    },
  });
  pipeline(source, counter, () => undefined);
  return counter;
}
