// A promise-based wrapper around node:zlib's raw inflater that feeds compressed bytes in pieces
// and reports exactly how many input bytes each piece consumed. That count is what locates the
// end of a deflate stream whose compressed size is not known up front (general-purpose flag bit 3):
// zlib stops consuming input at the end of the deflate stream, so node's `bytesWritten` (input
// bytes actually consumed) stops short of what was written, and the remainder is the next record.

import { constants, createInflateRaw, inflateRawSync, type InflateRaw } from 'node:zlib';

/** Output piece size: larger pieces mean fewer round trips to the zlib thread pool. */
const OUTPUT_CHUNK = 64 * 1024;

export class StreamingInflater {
  private readonly zlib: InflateRaw;
  private failure: Error | null = null;
  private ended = false;
  /** Rejects the promise of the operation in flight when zlib or the output handler fails. */
  private rejectInFlight: ((error: Error) => void) | null = null;
  private resolveEnd: (() => void) | null = null;

  /**
   * @param onOutput receives every inflated piece, in order, with the compressed bytes consumed so
   * far; throwing from it (e.g. a limit was crossed) stops inflation and fails the operation.
   */
  constructor(onOutput: (piece: Buffer, compressedConsumed: number) => void) {
    this.zlib = createInflateRaw({ chunkSize: OUTPUT_CHUNK });
    this.zlib.on('data', (piece: Buffer) => {
      if (this.failure) return;
      try {
        onOutput(piece, this.zlib.bytesWritten);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    this.zlib.on('error', (error: Error) => this.fail(error));
    this.zlib.on('end', () => {
      this.ended = true;
      this.resolveEnd?.();
    });
  }

  /** Input bytes the deflate stream consumed so far. */
  get consumed(): number {
    return this.zlib.bytesWritten;
  }

  /**
   * Writes `input` and resolves, once zlib has processed it, with the number of its bytes that
   * were consumed. Fewer than `input.length` means the deflate stream ended inside `input`.
   */
  write(input: Buffer): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<number>((resolve, reject) => {
      const before = this.zlib.bytesWritten;
      this.rejectInFlight = reject;
      this.zlib.write(input, (error) => {
        this.rejectInFlight = null;
        if (this.failure) reject(this.failure);
        else if (error) reject(error);
        else resolve(this.zlib.bytesWritten - before);
      });
    });
  }

  /**
   * Resolves once every inflated byte has been delivered to onOutput. With `endInput`, first tells
   * zlib no more input follows: that fails ("unexpected end of file") if the deflate stream is
   * incomplete. Without it, the caller has seen the stream end (write consumed less than given).
   */
  finish(endInput: boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.rejectInFlight = reject;
      this.resolveEnd = () => {
        this.rejectInFlight = null;
        this.resolveEnd = null;
        resolve();
      };
      if (endInput) this.zlib.end();
    });
  }

  destroy(): void {
    this.zlib.destroy();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.zlib.destroy();
    const reject = this.rejectInFlight;
    this.rejectInFlight = null;
    reject?.(error);
  }
}

/** Entries inflating to at most this much may be inflated synchronously, in one piece. */
export const ONE_PIECE_MAX_OUTPUT = 256 * 1024;

/**
 * Inflates, synchronously, a deflate stream that starts at `input[0]` if it also ends inside
 * `input` and inflates to at most `maxOutput` bytes; returns null otherwise (the caller then uses
 * StreamingInflater). For small entries this avoids the thread-pool round trips of the streaming
 * inflater, which dominate their cost; the size cap bounds the main-thread work and wasted work.
 *
 * With `complete`, `input` must be exactly the whole deflate stream (its compressed size is
 * known): a stream that is incomplete, or ends early, throws.
 */
export function inflateInOnePiece(input: Buffer, maxOutput: number, complete: boolean): { output: Buffer; consumed: number } | null {
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    result = inflateRawSync(input, {
      info: true,
      maxOutputLength: Math.max(1, maxOutput),
      // Without a known end, a sync flush accepts a stream that continues past `input`.
      finishFlush: complete ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      if (complete) throw new InflatedTooMuchError();
      return null;
    }
    throw error;
  }
  const consumed = result.engine.bytesWritten;
  if (complete) {
    if (consumed < input.length) throw new EndedEarlyError();
    return { output: result.buffer, consumed };
  }
  // All input consumed: the stream may or may not have ended exactly there; let the streaming
  // inflater find out.
  return consumed < input.length ? { output: result.buffer, consumed } : null;
}

export class InflatedTooMuchError extends Error {}
export class EndedEarlyError extends Error {}
