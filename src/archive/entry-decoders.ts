// Entry data decoders, one per compression method, behind one interface (fflate's UnzipDecoder
// registry is the model): the parser hands a decoder the rest of the current chunk, the decoder
// says how many of those bytes were the entry's and passes the uncompressed bytes to a sink that
// enforces the limits. Stored data is decoded synchronously, and so is a small deflated entry
// whose whole stream is in the chunk: most archives then cost no promise per chunk. Adding a
// method (say zstd) is one factory in DECODERS.
import { crc32 } from 'node:zlib';
import { ArchiveRejectedError, quote } from './errors.js';
import { EndedEarlyError, InflatedTooMuchError, ONE_PIECE_MAX_OUTPUT, StreamingInflater, inflateInOnePiece } from './inflater.js';
import { corrupt, storedDescriptorNotFound } from './rejections.js';
import { StoredDescriptorScanner } from './stored-descriptor-scanner.js';
import { METHOD_DEFLATE, METHOD_STORED } from './zip-format.js';

/** Where a decoder's output goes: the parser's accounting (limits, declared sizes, descriptor capture). */
export interface EntrySink {
  /** Uncompressed bytes, in order; `compressedSoFar` (compressed methods only) lets the sink check the ratio. */
  data(piece: Buffer, compressedSoFar: number | null): void;
}

/** What a decoder knows of its entry from the local header. */
export interface DecoderEntry {
  name: string;
  /** Sizes from the local header; null when a data descriptor follows the data instead. */
  declared: { compressedSize: number; uncompressedSize: number } | null;
}

export interface EntryDecoder {
  /**
   * Decodes entry data from the start of `input` (the rest of the current chunk) and returns how
   * many of its bytes were the entry's: synchronously unless the decoder needs zlib's thread pool.
   */
  write(input: Buffer): number | Promise<number>;
  /** Set once the entry's data ended. */
  readonly ended: boolean;
  readonly crc32: number;
  readonly compressedSize: number;
  /** Set when the decoder also consumed the entry's data descriptor (it had to, to find the end). */
  readonly consumedDescriptor: boolean;
  /** Bytes after the entry that the decoder read ahead; they are the next record's. */
  takeLeftover(): Buffer;
  /** A specific reason when the input ends inside this entry, or null for the generic one. */
  truncatedError(): ArchiveRejectedError | null;
  destroy(): void;
}

type DecoderFactory = (entry: DecoderEntry, sink: EntrySink) => EntryDecoder;

const EMPTY = Buffer.alloc(0);

/** Stored data of a known size: the bytes are the data. */
class StoredDecoder implements EntryDecoder {
  crc32 = 0;
  compressedSize = 0;
  readonly consumedDescriptor = false;
  private remaining: number;

  constructor(
    size: number,
    private readonly sink: EntrySink,
  ) {
    this.remaining = size;
  }

  get ended(): boolean {
    return this.remaining === 0;
  }

  write(input: Buffer): number {
    const data = input.length <= this.remaining ? input : input.subarray(0, this.remaining);
    this.remaining -= data.length;
    this.compressedSize += data.length;
    this.crc32 = crc32(data, this.crc32);
    this.sink.data(data, null);
    return data.length;
  }

  takeLeftover(): Buffer {
    return EMPTY;
  }

  truncatedError(): null {
    return null;
  }

  destroy(): void {}
}

/** Stored data followed by a data descriptor (Go's archive/zip): the end is found by scanning for it. */
class StoredScanDecoder implements EntryDecoder {
  readonly consumedDescriptor = true;
  private readonly scanner: StoredDescriptorScanner;

  constructor(
    private readonly name: string,
    sink: EntrySink,
  ) {
    this.scanner = new StoredDescriptorScanner((data) => sink.data(data, null));
  }

  get ended(): boolean {
    return this.scanner.found;
  }

  get crc32(): number {
    return this.scanner.crc32;
  }

  get compressedSize(): number {
    return this.scanner.size;
  }

  write(input: Buffer): number {
    return this.scanner.push(input);
  }

  takeLeftover(): Buffer {
    const leftover = this.scanner.leftover;
    this.scanner.leftover = EMPTY;
    return leftover;
  }

  truncatedError(): ArchiveRejectedError {
    return storedDescriptorNotFound(this.name);
  }

  destroy(): void {}
}

/** Raw deflate, with or without a known compressed size. */
class DeflateDecoder implements EntryDecoder {
  crc32 = 0;
  compressedSize = 0;
  ended = false;
  readonly consumedDescriptor = false;
  /** Created once the entry turns out too big to inflate in one piece. */
  private inflater: StreamingInflater | null = null;
  /** Compressed bytes still to come when the header declared them. */
  private remaining: number | null;

  constructor(
    private readonly entry: DecoderEntry,
    private readonly sink: EntrySink,
  ) {
    this.remaining = entry.declared ? entry.declared.compressedSize : null;
  }

  write(input: Buffer): number | Promise<number> {
    if (this.inflater === null) {
      try {
        const consumed = this.inflateInOnePiece(input);
        if (consumed !== null) return consumed;
      } catch (error) {
        throw this.rejection(error);
      }
      this.inflater = new StreamingInflater((piece, compressedConsumed) => this.output(piece, compressedConsumed));
    }
    return this.stream(this.inflater, input);
  }

  private output(piece: Buffer, compressedSoFar: number): void {
    this.crc32 = crc32(piece, this.crc32);
    this.sink.data(piece, compressedSoFar);
  }

  /**
   * Inflates the entry synchronously when its whole deflate stream is in `input` and small.
   * Returns the bytes consumed, or null (nothing consumed) when the streaming inflater is needed.
   */
  private inflateInOnePiece(input: Buffer): number | null {
    let result: { output: Buffer; consumed: number } | null;
    if (this.remaining !== null) {
      const declared = this.entry.declared!.uncompressedSize;
      if (declared > ONE_PIECE_MAX_OUTPUT || this.remaining > input.length) return null;
      result = inflateInOnePiece(input.subarray(0, this.remaining), declared, true);
      this.remaining = 0;
    } else {
      if (input.length === 0) return null;
      result = inflateInOnePiece(input, ONE_PIECE_MAX_OUTPUT, false);
    }
    if (result === null) return null;
    this.compressedSize = result.consumed;
    this.output(result.output, result.consumed);
    this.ended = true;
    return result.consumed;
  }

  private async stream(inflater: StreamingInflater, input: Buffer): Promise<number> {
    try {
      const data = this.remaining === null || input.length <= this.remaining ? input : input.subarray(0, this.remaining);
      if (data.length > 0) {
        const used = await inflater.write(data);
        if (this.remaining !== null) this.remaining -= used;
        if (used < data.length) {
          // The deflate stream ended inside this input: the rest is the next record.
          if (this.remaining !== null) throw new EndedEarlyError();
          await inflater.finish(false);
          this.end(inflater);
          return used;
        }
      }
      if (this.remaining === 0) {
        await inflater.finish(true);
        this.end(inflater);
      }
      return data.length;
    } catch (error) {
      inflater.destroy();
      throw this.rejection(error);
    }
  }

  private end(inflater: StreamingInflater): void {
    this.compressedSize = inflater.consumed;
    this.ended = true;
  }

  private rejection(error: unknown): ArchiveRejectedError {
    const { name, declared } = this.entry;
    if (error instanceof ArchiveRejectedError) return error;
    if (error instanceof EndedEarlyError) {
      return corrupt(
        `Entry ${quote(name)}: its deflate data ends before the ${declared!.compressedSize} compressed bytes its header declares; the archive is corrupt.`,
        name,
      );
    }
    if (error instanceof InflatedTooMuchError) {
      return corrupt(
        `Entry ${quote(name)} inflates to more than the ${declared!.uncompressedSize} bytes its header declares; the archive is corrupt or malicious.`,
        name,
      );
    }
    return corrupt(
      `Entry ${quote(name)} has invalid deflate data (${(error as Error).message}); the archive is corrupt. Re-create it and upload it again.`,
      name,
    );
  }

  takeLeftover(): Buffer {
    return EMPTY;
  }

  truncatedError(): null {
    return null;
  }

  destroy(): void {
    this.inflater?.destroy();
  }
}

const DECODERS: ReadonlyMap<number, DecoderFactory> = new Map<number, DecoderFactory>([
  [
    METHOD_STORED,
    (entry, sink) => (entry.declared ? new StoredDecoder(entry.declared.compressedSize, sink) : new StoredScanDecoder(entry.name, sink)),
  ],
  [METHOD_DEFLATE, (entry, sink) => new DeflateDecoder(entry, sink)],
]);

export function isSupportedMethod(method: number): boolean {
  return DECODERS.has(method);
}

/** The decoder for an entry of a supported method (check isSupportedMethod first). */
export function createEntryDecoder(method: number, entry: DecoderEntry, sink: EntrySink): EntryDecoder {
  const factory = DECODERS.get(method);
  if (!factory) throw new Error(`internal error: no decoder for compression method ${method}`);
  return factory(entry, sink);
}
