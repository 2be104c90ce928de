// Writes a byte range of a local blob file to a response, straight to the connection.
//
// With the sendfile addon (http/sendfile.ts, the default on Linux), the kernel moves the pages from
// the page cache to the connection itself, as nginx does with `sendfile on`: no byte passes through
// the process. Node's own socket still carries the head, and one byte each time the connection's
// send buffer was full: that write's callback is how libuv tells us the connection can take more, and
// it keeps every byte in order (nothing else writes to the socket meanwhile).
//
// Without the addon (or over TLS, where the bytes must pass the cipher), a copy through a few buffers
// reused from one download to the next. Why not `reply.send(fs.createReadStream(…))`: a read stream
// allocates a fresh buffer for every chunk (1 MiB here), so every GiB served costs a thousand large
// allocations, the page faults of touching that new memory and the garbage collection of it. With
// reused buffers the download benchmark's server CPU per GiB fell by about a quarter
// (docs/benchmarks.md). A buffer can only be reused once the connection is done with it, which a
// piped stream never says: here every write waits for its callback. Reading the next chunk overlaps
// with writing the current one (two buffers in flight).
import { read as readCallback } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { BodyMeter } from './body-meter.js';
import type { LocalBlobFile } from '../stores/blob-store.js';
import type { SendFile } from './sendfile.js';

/** Bytes per read and per write: large enough that syscalls do not matter, small enough to pool. */
export const FILE_CHUNK_BYTES = 1024 * 1024;
/** Free buffers kept for later downloads (16 MiB at most); more are allocated when busy and dropped. */
const POOL_MAX = 16;
const pool: Buffer[] = [];

/** Ranges shorter than this are copied: a small body is one read and one write anyway. */
export const SENDFILE_MIN_BYTES = 256 * 1024;
/** What goes through Node's socket after a head the connection did not take at once. */
const FIRST_PIECE_BYTES = 64 * 1024;
/** Most bytes one sendfile call moves, so that the byte count and a closed connection are seen between calls. */
const SENDFILE_STEP_BYTES = 16 * 1024 * 1024;
const { EAGAIN, EPIPE, ECONNRESET } = constants.errno;

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

/** The connection's descriptor if sendfile may write to it: a plain TCP socket (not TLS), still open. */
function plainSocketFd(res: ServerResponse): number | null {
  const socket = res.socket as (Socket & { encrypted?: boolean; _handle?: { fd?: unknown } | null }) | null;
  if (socket === null || socket.destroyed || socket.encrypted === true) return null;
  const fd = socket._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Sends `length` bytes of `file` from `start` as the body of `res` (whose head is already written) and
 * ends it; counts every byte the connection has taken into `meter`. Always closes the file. Rejects
 * with ResponseClosedError if the connection closed first, or with the read error (the caller then
 * destroys the connection: the client must not take a short body for a whole one). With `sendfile`,
 * the body goes by sendfile when the connection allows it (a plain TCP socket, not TLS).
 */
export async function sendFileBody(
  res: ServerResponse,
  file: LocalBlobFile,
  start: number,
  length: number,
  meter: BodyMeter,
  sendfile: SendFile | null = null,
): Promise<void> {
  let rejectClosed!: (error: Error) => void;
  const closed = new Promise<never>((_resolve, reject) => (rejectClosed = reject));
  closed.catch(() => undefined); // only ever awaited in a race
  const onClose = () => rejectClosed(new ResponseClosedError('the client closed the connection'));
  res.once('close', onClose);

  const write = (buffer: Buffer, size: number, reuse: boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const chunk = size === buffer.length ? buffer : buffer.subarray(0, size);
      res.write(chunk, (error) => {
        if (error) {
          reject(error);
          return;
        }
        // The connection has taken the bytes: the buffer is free again.
        meter.bytes += size;
        if (reuse) giveBack(buffer);
        resolve();
      });
    });

  // The read or sendfile in flight, if any: the file is closed only after it, so that a descriptor
  // number the system hands out again meanwhile is never read from.
  let using: Promise<unknown> = Promise.resolve();
  const read = (size: number, position: number): Promise<Buffer> => {
    const reading = readInto(file.fd, takeBuffer(), size, position);
    using = reading;
    return reading;
  };

  /** Copies [from, to) through the reused buffers. */
  const copy = async (from: number, to: number): Promise<void> => {
    let position = from;
    let size = Math.min(FILE_CHUNK_BYTES, to - position);
    let buffer = await Promise.race([read(size, position), closed]);
    for (;;) {
      position += size;
      const writing = write(buffer, size, true);
      if (position >= to) {
        await Promise.race([writing, closed]);
        return;
      }
      const nextSize = Math.min(FILE_CHUNK_BYTES, to - position);
      const [, next] = await Promise.race([Promise.all([writing, read(nextSize, position)]), closed]);
      buffer = next;
      size = nextSize;
    }
  };

  /** Sends [from, to) by sendfile; what the connection cannot take goes by copy. */
  const sendByKernel = async (kernelSend: SendFile, from: number, to: number): Promise<void> => {
    let position = from;
    while (position < to) {
      const fd = plainSocketFd(res);
      if (fd === null) throw new ResponseClosedError('the client closed the connection');
      // Bytes still queued in Node's socket (the head, when the connection did not take it at once)
      // must leave first: a piece goes after them through the socket, and its callback says they left.
      if (res.socket!.writableLength > 0) {
        const piece = Math.min(FIRST_PIECE_BYTES, to - position);
        await copy(position, position + piece);
        position += piece;
        continue;
      }
      // Counted when the call returns, even after the connection closed: those bytes were sent.
      const sending = kernelSend(fd, file.fd, position, Math.min(SENDFILE_STEP_BYTES, to - position)).then((result) => {
        meter.bytes += result[0];
        if (meter.pending === sending) meter.pending = null;
        return result;
      });
      using = sending;
      meter.pending = sending;
      const [sent, errno, nextByte] = await Promise.race([sending, closed]);
      position += sent;
      if (errno === 0) continue;
      if (errno === EAGAIN && nextByte >= 0) {
        // The connection is full: this byte's write completes once it can take more.
        await Promise.race([write(Buffer.of(nextByte), 1, false), closed]);
        position += 1;
        continue;
      }
      if (errno === EAGAIN) return copy(position, to);
      if (errno === -1) throw new Error(`the blob file ended early: it has no byte at offset ${position}`);
      if (errno === EPIPE || errno === ECONNRESET) throw new ResponseClosedError('the client closed the connection');
      throw new Error(`sendfile failed after ${position - start} bytes: ${getSystemErrorName(-errno)}`);
    }
  };

  try {
    const end = start + length;
    if (sendfile !== null && length >= SENDFILE_MIN_BYTES && plainSocketFd(res) !== null) {
      // The head goes through Node's socket, usually taken by the connection at once.
      res.flushHeaders();
      await sendByKernel(sendfile, start, end);
    } else {
      await copy(start, end);
    }
    await Promise.race([new Promise<void>((resolve) => res.end(resolve)), closed]);
  } catch (error) {
    // A write still pending when the client leaves may fail (ECANCELED on Node 22) before the close event.
    const connectionGone = res.destroyed || res.socket === null || res.socket.destroyed;
    if (connectionGone && !(error instanceof ResponseClosedError)) throw new ResponseClosedError('the client closed the connection');
    throw error;
  } finally {
    res.off('close', onClose);
    using.then(
      () => file.close(),
      () => file.close(),
    );
  }
}
