// A sha256 computed on a worker thread, for transfers: SHA-256 runs at about 1.4 GB/s on one core
// here, slower than a download over loopback arrives, so hashing on the thread that also receives
// and writes the bytes made `extrepo pull` take the sum of the two instead of the longer one.
//
// Chunks are copied into batches (the caller keeps writing its own chunk elsewhere, so it cannot be
// handed over) and each batch's memory is transferred to the worker, not copied again. At most
// MAX_IN_FLIGHT batches wait for the worker: past that, `update` answers a promise that resolves when
// the worker has caught up, so memory stays flat however fast the bytes come.
import { Worker } from 'node:worker_threads';

const BATCH_BYTES = 4 * 1024 * 1024;
const MAX_IN_FLIGHT = 4;

// CommonJS evaluated in the worker: one file fewer to find next to the compiled CLI.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const hash = require('node:crypto').createHash('sha256');
parentPort.on('message', (message) => {
  if (message === 'digest') parentPort.postMessage({ digest: hash.digest('hex') });
  else {
    hash.update(new Uint8Array(message));
    parentPort.postMessage({ done: 1 });
  }
});
`;

export interface ThreadedSha256 {
  /** Adds a chunk; a promise when the caller should wait before the next one (backpressure). */
  update(chunk: Buffer): Promise<void> | undefined;
  /** The hex digest of everything added. The hasher cannot be used after. */
  digest(): Promise<string>;
  /** Stops the worker without a digest (the transfer failed). */
  destroy(): Promise<void>;
}

export function threadedSha256(): ThreadedSha256 {
  // Kept referenced: a digest awaited with nothing else pending must keep the process alive. Every
  // caller ends it, with digest() or destroy().
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  let failure: Error | null = null;
  let inFlight = 0;
  let waiting: (() => void) | null = null;
  let digested: ((digest: string) => void) | null = null;
  let rejectDigest: ((error: Error) => void) | null = null;
  worker.on('message', (message: { done?: number; digest?: string }) => {
    if (message.digest !== undefined) return digested?.(message.digest);
    inFlight -= 1;
    if (waiting !== null && inFlight < MAX_IN_FLIGHT) {
      const resume = waiting;
      waiting = null;
      resume();
    }
  });
  const fail = (error: Error) => {
    failure ??= error;
    rejectDigest?.(failure);
    waiting?.();
  };
  worker.on('error', fail);
  // Also after destroy(): a digest asked for then is refused rather than left pending.
  worker.on('exit', () => fail(new Error('the sha256 worker has ended')));

  // allocUnsafeSlow: a batch owns its whole ArrayBuffer (no pool), so a full one is transferred as it is.
  let batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  let filled = 0;
  const send = () => {
    if (filled === 0) return;
    const memory = filled === BATCH_BYTES ? batch.buffer : batch.buffer.slice(0, filled);
    worker.postMessage(memory, [memory]);
    inFlight += 1;
    filled = 0;
    // The transfer detached the sent memory.
    batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  };

  return {
    update(chunk) {
      if (failure) return Promise.reject(failure);
      let offset = 0;
      while (offset < chunk.length) {
        const copied = chunk.copy(batch, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === BATCH_BYTES) send();
      }
      if (inFlight < MAX_IN_FLIGHT) return undefined;
      return new Promise<void>((resolve) => {
        waiting = resolve;
      });
    },
    digest() {
      if (failure) return Promise.reject(failure);
      send();
      return new Promise<string>((resolve, reject) => {
        digested = (digest) => {
          void worker.terminate();
          resolve(digest);
        };
        rejectDigest = reject;
        worker.postMessage('digest');
      });
    },
    async destroy() {
      failure ??= new Error('the sha256 worker was stopped');
      await worker.terminate();
    },
  };
}
