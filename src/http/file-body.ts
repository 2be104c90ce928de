// Writes a byte range of a local blob file to a response, straight to the connection, through a few
// buffers that are reused from one download to the next.
//
// Why not `reply.send(fs.createReadStream(…))`: a read stream allocates a fresh buffer for every chunk
// (1 MiB here), so every GiB served costs a thousand large allocations, the page faults of touching
// that new memory and the garbage collection of it. With reused buffers the download benchmark's
// server CPU per GiB fell by about a quarter (docs/benchmarks.md). A buffer can only be reused once the
// connection is done with it, which a piped stream never says: here every write waits for its
// callback. Reading the next chunk overlaps with writing the current one (two buffers in flight).
import { read as readCallback } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { BodyMeter } from './body-meter.js';
import type { LocalBlobFile } from '../stores/blob-store.js';

/** Bytes per read and per write: large enough that syscalls do not matter, small enough to pool. */
export const FILE_CHUNK_BYTES = 1024 * 1024;
/** Free buffers kept for later downloads (16 MiB at most); more are allocated when busy and dropped. */
const POOL_MAX = 16;
const pool: Buffer[] = [];

function takeBuffer(): Buffer {
  // allocUnsafeSlow: a buffer of its own, not a slice of Node's shared pool (it is handed back whole).
  return pool.pop() ?? Buffer.allocUnsafeSlow(FILE_CHUNK_BYTES);
}

function giveBack(buffer: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buffer);
}

function readInto(fd: number, buffer: Buffer, length: number, position: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readCallback(fd, buffer, 0, length, position, (error, bytesRead) => {
      if (error) {
        giveBack(buffer);
        reject(error);
      } else if (bytesRead !== length) {
        giveBack(buffer);
        reject(new Error(`the blob file ended early: read ${bytesRead} of ${length} bytes at offset ${position}`));
      } else {
        resolve(buffer);
      }
    });
  });
}

/** Raised when the client went away before the body was sent: nothing to log. */
export class ResponseClosedError extends Error {
  override name = 'ResponseClosedError';
}

/**
 * Sends `length` bytes of `file` from `start` as the body of `res` (whose head is already written) and
 * ends it; counts every byte the connection has taken into `meter`. Always closes the file. Rejects
 * with ResponseClosedError if the connection closed first, or with the read error (the caller then
 * destroys the connection: the client must not take a short body for a whole one).
 */
export async function sendFileBody(res: ServerResponse, file: LocalBlobFile, start: number, length: number, meter: BodyMeter): Promise<void> {
  let rejectClosed!: (error: Error) => void;
  const closed = new Promise<never>((_resolve, reject) => (rejectClosed = reject));
  closed.catch(() => undefined); // only ever awaited in a race
  const onClose = () => rejectClosed(new ResponseClosedError('the client closed the connection'));
  res.once('close', onClose);

  const write = (buffer: Buffer, size: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const chunk = size === buffer.length ? buffer : buffer.subarray(0, size);
      res.write(chunk, (error) => {
        if (error) {
          reject(error);
          return;
        }
        // The connection has taken the bytes: the buffer is free again.
        meter.bytes += size;
        giveBack(buffer);
        resolve();
      });
    });

  // The read in flight, if any: the file is closed only after it, so that a descriptor number the
  // system hands out again meanwhile is never read from.
  let reading: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  const read = (size: number, position: number): Promise<Buffer> => {
    reading = readInto(file.fd, takeBuffer(), size, position);
    return reading;
  };

  try {
    const end = start + length;
    let position = start;
    let size = Math.min(FILE_CHUNK_BYTES, end - position);
    let buffer = await Promise.race([read(size, position), closed]);
    for (;;) {
      position += size;
      const writing = write(buffer, size);
      if (position >= end) {
        await Promise.race([writing, closed]);
        break;
      }
      const nextSize = Math.min(FILE_CHUNK_BYTES, end - position);
      const [, next] = await Promise.race([Promise.all([writing, read(nextSize, position)]), closed]);
      buffer = next;
      size = nextSize;
    }
    await Promise.race([new Promise<void>((resolve) => res.end(resolve)), closed]);
  } catch (error) {
    if (res.destroyed && !(error instanceof ResponseClosedError)) throw new ResponseClosedError('the client closed the connection');
    throw error;
  } finally {
    res.off('close', onClose);
    reading.then(
      () => file.close(),
      () => file.close(),
    );
  }
}
