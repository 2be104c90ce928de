// One-pass streaming zip validator. The zip is parsed front to back as it flows through, never
// buffered whole and never seeked: local entries in order (each one's data inflated and CRC-checked
// on the fly), then the central directory, which must agree with what the local entries said, then
// the (zip64) end-of-central-directory records. Memory stays flat: besides per-entry bookkeeping
// (bounded by maxEntries) it holds at most one record header (< 200 KiB), a few held-back bytes,
// one zlib inflater and the plugin descriptor (<= 64 KiB).
//
// Every rule fails at the first byte that proves the violation, with an ArchiveRejectedError.

import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { ArchiveRejectedError, quote } from './errors.js';
import {
  LimitTracker,
  checkEntryName,
  rejectEncrypted,
  rejectSymlink,
  rejectUnsupportedMethod,
} from './entry-rules.js';
import {
  EndedEarlyError,
  InflatedTooMuchError,
  ONE_PIECE_MAX_OUTPUT,
  StreamingInflater,
  inflateInOnePiece,
} from './inflater.js';
import { MAX_DESCRIPTOR_BYTES, createContentRules, type ContentRules } from './plugin-descriptor.js';
import { StoredDescriptorScanner } from './stored-descriptor-scanner.js';
import type { ArchiveExpectations, ArchiveLimits, ArchiveReport } from './types.js';
import {
  CENTRAL_FILE_FIXED,
  EOCD_FIXED,
  FLAG_DATA_DESCRIPTOR,
  FLAG_ENCRYPTED,
  FLAG_MASKED_HEADERS,
  FLAG_STRONG_ENCRYPTION,
  LOCAL_FILE_FIXED,
  METHOD_DEFLATE,
  METHOD_STORED,
  SIG_ARCHIVE_EXTRA_DATA,
  SIG_CENTRAL_FILE,
  SIG_DATA_DESCRIPTOR,
  SIG_DIGITAL_SIGNATURE,
  SIG_EOCD,
  SIG_LOCAL_FILE,
  SIG_ZIP64_EOCD,
  SIG_ZIP64_LOCATOR,
  U16_MAX,
  U32_MAX,
  ZIP64_EOCD_FIXED,
  ZIP64_LOCATOR_SIZE,
  applyZip64Extra,
  decodeName,
  isUnixSymlink,
  matchDescriptorBody,
  parseCentralFileHeader,
  parseEndOfCentralDirectory,
  parseLocalFileHeader,
  parseZip64EndOfCentralDirectory,
  parseZip64Locator,
  type CentralFileHeader,
  type EndOfCentralDirectory,
  type LocalFileHeader,
  type Zip64EndOfCentralDirectory,
} from './zip-format.js';

export interface ArchiveValidatorOptions {
  limits: ArchiveLimits;
  expect: ArchiveExpectations;
  /**
   * Sees every chunk, in order, before it is passed on and parsed; throwing fails the stream. Lets
   * the caller count and hash the bytes in this same stream stage instead of adding one.
   */
  observe?: (chunk: Buffer) => void;
}

export interface ArchiveValidator extends Transform {
  /** Set once the stream has finished successfully. */
  readonly report: ArchiveReport | null;
}

const EMPTY = Buffer.alloc(0);
const ENCRYPTION_FLAGS = FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS;
/** Bytes read for a data descriptor: optional signature, CRC-32 and two 8-byte sizes. */
const DESCRIPTOR_READ = 24;
/** Zip64 extensible data we are willing to skip (nobody writes any). */
const MAX_ZIP64_EXTENSIBLE_DATA = 1024 * 1024;

/** What the archive said about an entry in its local header and what its data turned out to be. */
interface LocalEntry {
  /** The full name while the entry is parsed; afterwards shortened to a label for messages. */
  name: string;
  /** Identifies the name compactly (see nameKey). */
  key: string;
  offset: number;
  method: number;
  /** Bit 3: CRC and sizes follow the data. */
  hasDescriptor: boolean;
  /** CRC and sizes from the local header (absent with a data descriptor). */
  declared: { crc32: number; compressedSize: number; uncompressedSize: number } | null;
  /** Actual values, complete once the entry's data (and descriptor) were read. */
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  listedInCentral: boolean;
}

type State =
  | { kind: 'signature' }
  | { kind: 'local-header' }
  | { kind: 'local-variable'; header: LocalFileHeader }
  | { kind: 'stored'; remaining: number }
  | { kind: 'stored-scan'; scanner: StoredDescriptorScanner }
  /** `inflater` is created once the entry turns out too big to inflate in one piece. */
  | { kind: 'deflate'; inflater: StreamingInflater | null; remaining: number | null }
  | { kind: 'data-descriptor' }
  | { kind: 'central-header' }
  | { kind: 'central-variable'; header: CentralFileHeader }
  | { kind: 'zip64-eocd' }
  | { kind: 'zip64-locator' }
  | { kind: 'eocd' }
  | { kind: 'skip'; remaining: number; what: string; then: State }
  | { kind: 'done' };

/** Where in the archive's record sequence we are; decides which signatures may come next. */
type Phase = 'start' | 'entries' | 'central' | 'after-zip64-eocd' | 'after-locator' | 'end';

const SIGNATURE_BYTES_AT_START = [SIG_LOCAL_FILE, SIG_EOCD, SIG_ZIP64_EOCD].map((sig) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(sig);
  return b;
});

function corrupt(message: string, entry?: string): ArchiveRejectedError {
  return new ArchiveRejectedError('corrupt', message, entry);
}

/**
 * Entry names can be 64 KiB long; keeping thousands of them would let an archive pin a lot of
 * memory. Names are remembered (for duplicate and central-directory checks) by this key instead.
 */
function nameKey(name: string): string {
  return name.length <= 64 ? name : `sha256:${createHash('sha256').update(name).digest('base64')}`;
}

function nameLabel(name: string): string {
  return name.length <= 200 ? name : `${name.slice(0, 200)}…`;
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * The parser proper, independent of streams: feed it chunks with write() (awaiting each), then
 * call end(). Any rule violation rejects with an ArchiveRejectedError.
 */
export class ZipStreamParser {
  private readonly limits: LimitTracker;
  private readonly content: ContentRules;

  // Input position. `chunk`/`pos` is the chunk being parsed; `carry` holds bytes of a record that
  // started in an earlier chunk (copied, small), or bytes handed back by unread().
  private chunk: Buffer = EMPTY;
  private pos = 0;
  private consumedBefore = 0;
  private carry: Buffer[] = [];
  private carryLength = 0;
  private lastNeed: Buffer = EMPTY;
  private lastNeedFromChunk = 0;

  private state: State = { kind: 'signature' };
  private phase: Phase = 'start';
  /** Stream offset of the record being parsed. */
  private recordStart = 0;

  private entry: LocalEntry | null = null;
  private capture: Buffer[] | null = null;
  private captureLength = 0;
  private readonly byOffset = new Map<number, LocalEntry>();
  private readonly nameKeys = new Set<string>();
  private localCount = 0;
  private centralCount = 0;
  private centralStart = 0;
  private centralEnd = 0;
  private zip64Eocd: (Zip64EndOfCentralDirectory & { offset: number }) | null = null;

  constructor(options: ArchiveValidatorOptions) {
    this.limits = new LimitTracker(options.limits);
    this.content = createContentRules(options.expect);
  }

  /**
   * Parses one chunk. Synchronous (undefined) unless an entry needs the asynchronous inflater: the
   * stored entries that make up most large archives then cost no promise per chunk.
   */
  write(chunk: Buffer): void | Promise<void> {
    this.chunk = chunk;
    this.pos = 0;
    let pending: Promise<boolean> | null = null;
    try {
      while (this.pos < chunk.length || this.carryLength > 0) {
        const progressed = this.step();
        if (typeof progressed !== 'boolean') {
          pending = progressed;
          return this.finishAsync(pending);
        }
        if (!progressed) break;
      }
    } finally {
      if (pending === null) this.finishChunk();
    }
  }

  private async finishAsync(pending: Promise<boolean>): Promise<void> {
    try {
      let progressed = await pending;
      while (progressed && (this.pos < this.chunk.length || this.carryLength > 0)) {
        const next = this.step();
        progressed = typeof next === 'boolean' ? next : await next;
      }
    } finally {
      this.finishChunk();
    }
  }

  private finishChunk(): void {
    this.consumedBefore += this.chunk.length;
    this.chunk = EMPTY;
    this.pos = 0;
  }

  /** Call once all input was written; checks the archive was complete and returns the report. */
  async end(): Promise<ArchiveReport> {
    // Bytes handed back into the carry at the very end of the input still need parsing.
    if (this.carryLength > 0) await this.write(EMPTY);
    if (this.state.kind !== 'done') throw this.truncated();
    return {
      entries: this.localCount,
      uncompressedBytes: this.limits.uncompressedBytes,
      ...this.content.report(),
    };
  }

  destroy(): void {
    const state = this.state;
    if (state.kind === 'deflate') state.inflater?.destroy();
  }

  // ---- input handling -------------------------------------------------------------------------

  /** Offset in the whole stream of the next byte to parse. */
  private position(): number {
    return this.consumedBefore + this.pos - this.carryLength;
  }

  /**
   * Returns the next `n` bytes once they are all available (possibly spanning chunks), or null
   * after stashing what there is. Only used for record headers, so the copies are small.
   */
  private need(n: number): Buffer | null {
    const chunk = this.chunk;
    if (this.carryLength === 0 && chunk.length - this.pos >= n) {
      const whole = chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      return this.needed(whole, n);
    }
    if (this.carryLength >= n) {
      const carried = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry);
      const rest = carried.subarray(n);
      this.carry = rest.length > 0 ? [rest] : [];
      this.carryLength = rest.length;
      return this.needed(carried.subarray(0, n), 0);
    }
    const take = Math.min(n - this.carryLength, chunk.length - this.pos);
    const piece = chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    if (this.carryLength + take < n) {
      if (take > 0) this.carry.push(Buffer.from(piece));
      this.carryLength += take;
      return null;
    }
    const whole = Buffer.concat([...this.carry, piece], n);
    this.carry = [];
    this.carryLength = 0;
    return this.needed(whole, take);
  }

  private needed(whole: Buffer, fromChunk: number): Buffer {
    this.lastNeed = whole;
    this.lastNeedFromChunk = fromChunk;
    return whole;
  }

  /** Gives back the last `k` bytes of the last need() result, to be parsed again. */
  private unread(k: number): void {
    if (k <= 0) return;
    if (k <= this.lastNeedFromChunk) {
      this.pos -= k;
      this.lastNeedFromChunk -= k;
      return;
    }
    const whole = this.lastNeed;
    this.pos -= this.lastNeedFromChunk;
    const back = Buffer.from(whole.subarray(whole.length - k, whole.length - this.lastNeedFromChunk));
    this.carry.unshift(back);
    this.carryLength += back.length;
    this.lastNeedFromChunk = 0;
  }

  /** Entry data is read straight from the chunk; record parsing always leaves the carry empty. */
  private dataInput(limit: number): Buffer {
    if (this.carryLength > 0) throw new Error('internal error: entry data with carried bytes');
    return this.chunk.subarray(this.pos, Math.min(this.chunk.length, this.pos + limit));
  }

  // ---- the state machine ----------------------------------------------------------------------

  /** Parses one step; returns false when more input is needed. */
  private step(): boolean | Promise<boolean> {
    const state = this.state;
    switch (state.kind) {
      case 'signature':
        return this.readSignature();
      case 'local-header': {
        const buf = this.need(LOCAL_FILE_FIXED);
        if (!buf) return false;
        this.state = { kind: 'local-variable', header: parseLocalFileHeader(buf) };
        return true;
      }
      case 'local-variable': {
        const { header } = state;
        const buf = this.need(header.nameLength + header.extraLength);
        if (!buf) return false;
        this.beginEntry(header, buf.subarray(0, header.nameLength), buf.subarray(header.nameLength));
        return true;
      }
      case 'stored': {
        const data = this.dataInput(state.remaining);
        this.pos += data.length;
        state.remaining -= data.length;
        const entry = this.entry!;
        entry.compressedSize += data.length;
        entry.crc32 = crc32(data, entry.crc32);
        this.onEntryData(data);
        if (state.remaining === 0) this.endEntryData();
        return true;
      }
      case 'stored-scan':
        return this.scanStored(state.scanner);
      case 'deflate':
        return this.inflate(state);
      case 'data-descriptor':
        return this.readDataDescriptor();
      case 'central-header': {
        const buf = this.need(CENTRAL_FILE_FIXED);
        if (!buf) return false;
        this.state = { kind: 'central-variable', header: parseCentralFileHeader(buf) };
        return true;
      }
      case 'central-variable': {
        const { header } = state;
        const buf = this.need(header.nameLength + header.extraLength + header.commentLength);
        if (!buf) return false;
        this.checkCentralEntry(header, buf.subarray(0, header.nameLength), buf.subarray(header.nameLength, header.nameLength + header.extraLength));
        this.state = { kind: 'signature' };
        return true;
      }
      case 'zip64-eocd':
        return this.readZip64Eocd();
      case 'zip64-locator':
        return this.readZip64Locator();
      case 'eocd':
        return this.readEocd();
      case 'skip': {
        const n = Math.min(state.remaining, this.carryLength + this.chunk.length - this.pos);
        const skipped = this.need(n)!;
        state.remaining -= skipped.length;
        if (state.remaining === 0) this.state = state.then;
        return n > 0;
      }
      case 'done':
        throw corrupt(
          `The archive has unexpected data after its end-of-central-directory record (at byte ${this.position()}). ` +
            'Upload the zip file exactly as the zip tool wrote it.',
        );
    }
  }

  private readSignature(): boolean {
    if (this.phase === 'start') this.checkStartsLikeZip();
    const buf = this.need(4);
    if (!buf) return false;
    const sig = buf.readUInt32LE(0);
    this.unread(4);
    this.recordStart = this.position();
    switch (this.phase) {
      case 'start':
      case 'entries':
        if (sig === SIG_LOCAL_FILE) {
          this.phase = 'entries';
          this.state = { kind: 'local-header' };
        } else if (sig === SIG_CENTRAL_FILE && this.phase === 'entries') {
          this.beginCentralDirectory();
          this.state = { kind: 'central-header' };
        } else if (sig === SIG_EOCD || sig === SIG_ZIP64_EOCD) {
          this.beginCentralDirectory();
          this.endCentralDirectory();
          this.state = { kind: sig === SIG_EOCD ? 'eocd' : 'zip64-eocd' };
        } else {
          throw this.unexpectedSignature(sig);
        }
        return true;
      case 'central':
        if (sig === SIG_CENTRAL_FILE) {
          this.state = { kind: 'central-header' };
        } else if (sig === SIG_EOCD || sig === SIG_ZIP64_EOCD) {
          this.endCentralDirectory();
          this.state = { kind: sig === SIG_EOCD ? 'eocd' : 'zip64-eocd' };
        } else {
          throw this.unexpectedSignature(sig);
        }
        return true;
      case 'after-zip64-eocd':
        if (sig !== SIG_ZIP64_LOCATOR) throw this.unexpectedSignature(sig);
        this.state = { kind: 'zip64-locator' };
        return true;
      case 'after-locator':
        if (sig !== SIG_EOCD) throw this.unexpectedSignature(sig);
        this.state = { kind: 'eocd' };
        return true;
      case 'end':
        throw new Error('internal error: signature after the end');
    }
  }

  /** Rejects a non-zip from its first bytes, even before 4 of them arrived. */
  private checkStartsLikeZip(): void {
    const head = Buffer.concat([...this.carry, this.chunk.subarray(this.pos, this.pos + 4)]).subarray(0, 4);
    if (head.length === 0) return;
    if (!SIGNATURE_BYTES_AT_START.some((sig) => sig.subarray(0, head.length).equals(head))) throw this.notAZip();
  }

  private notAZip(): ArchiveRejectedError {
    return new ArchiveRejectedError(
      'not_a_zip',
      'The file is not a zip archive (it does not start with a zip local file header). ' +
        'Upload the plugin or bundle as a .zip file; self-extracting or prefixed archives are not accepted.',
    );
  }

  private unexpectedSignature(sig: number): ArchiveRejectedError {
    if (this.phase === 'start') return this.notAZip();
    if (sig === SIG_DIGITAL_SIGNATURE || sig === SIG_ARCHIVE_EXTRA_DATA) {
      return new ArchiveRejectedError(
        'unsupported',
        'The archive uses a zip digital signature or central-directory encryption, which is not supported. Re-create it with a standard zip tool.',
      );
    }
    const where = this.phase === 'entries' ? `after entry ${quote(this.entry?.name ?? '')}` : 'in the central directory area';
    const expected =
      this.phase === 'after-zip64-eocd'
        ? ' (expected the zip64 end-of-central-directory locator)'
        : this.phase === 'after-locator'
          ? ' (expected the end-of-central-directory record)'
          : sig === SIG_LOCAL_FILE
            ? ' (a local file header after the central directory started)'
            : '';
    return corrupt(
      `The archive is corrupt: unexpected data ${hex32(sig)} at byte ${this.recordStart} ${where}${expected}. ` +
        'Re-create the archive with a standard zip tool.',
      this.phase === 'entries' ? this.entry?.name : undefined,
    );
  }

  private truncated(): ArchiveRejectedError {
    const total = this.consumedBefore;
    if (total === 0) {
      return new ArchiveRejectedError('not_a_zip', 'The upload is empty; expected a zip archive.');
    }
    if (this.phase === 'start') return this.notAZip();
    const state = this.state;
    if (state.kind === 'stored-scan') {
      return new ArchiveRejectedError(
        'unsupported',
        `Entry ${quote(this.entry!.name)} is stored (uncompressed) with a trailing data descriptor, and no descriptor matching its data was found, ` +
          'so its end cannot be located in a single pass. Re-create the archive with a standard zip tool (for example `zip -r`), or compress the entry.',
        this.entry!.name,
      );
    }
    const what =
      state.kind === 'skip'
        ? ` inside the ${state.what}`
        : this.entry && this.phase === 'entries' && state.kind !== 'signature'
          ? ` inside entry ${quote(this.entry.name)}`
          : '';
    return corrupt(
      `The archive ends unexpectedly after ${total} bytes${what}, before its end-of-central-directory record: ` +
        'the file is truncated (an incomplete upload or copy) or not a zip archive. Upload the complete zip file.',
      what && state.kind !== 'skip' ? this.entry!.name : undefined,
    );
  }

  // ---- local entries --------------------------------------------------------------------------

  private beginEntry(header: LocalFileHeader, rawName: Buffer, extra: Buffer): void {
    const name = decodeName(rawName, header.flags);
    checkEntryName(name);
    this.localCount++;
    this.limits.countEntry(name);
    if ((header.flags & ENCRYPTION_FLAGS) !== 0) rejectEncrypted(name);
    if (header.method !== METHOD_STORED && header.method !== METHOD_DEFLATE) rejectUnsupportedMethod(name, header.method);
    const capture = this.content.onEntry(name);
    const key = nameKey(name);
    if (this.nameKeys.has(key)) {
      throw new ArchiveRejectedError(
        'duplicate_entry',
        `The archive contains entry ${quote(name)} more than once; extractors disagree on which copy wins. Re-create the archive.`,
        name,
      );
    }
    this.nameKeys.add(key);

    const hasDescriptor = (header.flags & FLAG_DATA_DESCRIPTOR) !== 0;
    let declared: LocalEntry['declared'] = null;
    if (!hasDescriptor) {
      const sizes = applyZip64Extra(
        { compressedSize: header.compressedSize, uncompressedSize: header.uncompressedSize },
        extra,
        name,
        'local',
      );
      declared = { crc32: header.crc32, ...sizes };
      if (header.method === METHOD_STORED && sizes.compressedSize !== sizes.uncompressedSize) {
        throw corrupt(
          `Entry ${quote(name)} is stored (uncompressed) but declares ${sizes.compressedSize} compressed and ${sizes.uncompressedSize} uncompressed bytes; the archive is corrupt.`,
          name,
        );
      }
      this.limits.checkDeclared(name, sizes.uncompressedSize, sizes.compressedSize);
    }

    const entry: LocalEntry = {
      name,
      key,
      offset: this.recordStart,
      method: header.method,
      hasDescriptor,
      declared,
      crc32: 0,
      compressedSize: 0,
      uncompressedSize: 0,
      listedInCentral: false,
    };
    this.entry = entry;
    this.byOffset.set(entry.offset, entry);
    this.capture = capture ? [] : null;
    this.captureLength = 0;

    if (declared?.compressedSize === 0) {
      // No data at all. (Some writers store empty files as "deflate" with no bytes, which is not
      // a valid deflate stream but is unambiguous; the header must then declare 0 bytes.)
      this.endEntryData();
    } else if (header.method === METHOD_STORED) {
      if (hasDescriptor) {
        const scanner = new StoredDescriptorScanner((data) => this.onEntryData(data));
        this.state = { kind: 'stored-scan', scanner };
      } else {
        this.state = { kind: 'stored', remaining: declared!.compressedSize };
      }
    } else {
      this.state = { kind: 'deflate', inflater: null, remaining: declared ? declared.compressedSize : null };
    }
  }

  /** Accounts for an entry's uncompressed bytes (CRC is updated by the caller). */
  private onEntryData(data: Buffer): void {
    const entry = this.entry!;
    entry.uncompressedSize += data.length;
    this.limits.addUncompressed(entry.name, data.length);
    if (entry.declared && entry.uncompressedSize > entry.declared.uncompressedSize) {
      throw corrupt(
        `Entry ${quote(entry.name)} inflates to more than the ${entry.declared.uncompressedSize} bytes its header declares; the archive is corrupt or malicious.`,
        entry.name,
      );
    }
    if (this.capture) {
      this.captureLength += data.length;
      if (this.captureLength > MAX_DESCRIPTOR_BYTES) {
        throw new ArchiveRejectedError(
          'invalid_descriptor',
          `The plugin descriptor ${quote(entry.name)} is larger than ${MAX_DESCRIPTOR_BYTES / 1024} KiB; a descriptor is a short properties file. Fix it and rebuild the plugin.`,
          entry.name,
        );
      }
      this.capture.push(Buffer.from(data));
    }
  }

  private scanStored(scanner: StoredDescriptorScanner): boolean {
    const input = this.dataInput(Infinity);
    this.pos += scanner.push(input);
    if (!scanner.found) return true;
    if (scanner.leftover.length > 0) {
      this.carry = [scanner.leftover];
      this.carryLength = scanner.leftover.length;
    }
    const entry = this.entry!;
    entry.crc32 = scanner.crc32;
    entry.compressedSize = scanner.size;
    // The scanner only stops at a descriptor matching the data, so nothing is left to compare.
    this.finishEntry();
    return true;
  }

  private async inflate(state: Extract<State, { kind: 'deflate' }>): Promise<boolean> {
    const entry = this.entry!;
    try {
      if (state.inflater === null) {
        if (this.inflateInOnePiece(state)) return true;
        state.inflater = new StreamingInflater((piece, compressedConsumed) => this.onInflated(piece, compressedConsumed));
      }
      const { inflater } = state;
      const input = this.dataInput(state.remaining ?? Infinity);
      if (input.length > 0) {
        const used = await inflater.write(input);
        this.pos += used;
        if (state.remaining !== null) state.remaining -= used;
        if (used < input.length) {
          // The deflate stream ended inside this input: the rest is the next record.
          if (state.remaining !== null) throw new EndedEarlyError();
          await inflater.finish(false);
          entry.compressedSize = inflater.consumed;
          this.endEntryData();
          return true;
        }
      }
      if (state.remaining === 0) {
        await inflater.finish(true);
        entry.compressedSize = inflater.consumed;
        this.endEntryData();
      }
      return true;
    } catch (error) {
      state.inflater?.destroy();
      if (error instanceof ArchiveRejectedError) throw error;
      if (error instanceof EndedEarlyError) {
        throw corrupt(
          `Entry ${quote(entry.name)}: its deflate data ends before the ${entry.declared!.compressedSize} compressed bytes its header declares; the archive is corrupt.`,
          entry.name,
        );
      }
      if (error instanceof InflatedTooMuchError) {
        throw corrupt(
          `Entry ${quote(entry.name)} inflates to more than the ${entry.declared!.uncompressedSize} bytes its header declares; the archive is corrupt or malicious.`,
          entry.name,
        );
      }
      throw corrupt(
        `Entry ${quote(entry.name)} has invalid deflate data (${(error as Error).message}); the archive is corrupt. Re-create it and upload it again.`,
        entry.name,
      );
    }
  }

  /** Accounts for inflated bytes, `compressedConsumed` being the entry's input consumed so far. */
  private onInflated(piece: Buffer, compressedConsumed: number): void {
    const entry = this.entry!;
    entry.crc32 = crc32(piece, entry.crc32);
    this.onEntryData(piece);
    this.limits.checkRatio(entry.name, entry.uncompressedSize, compressedConsumed);
  }

  /**
   * Inflates a small entry synchronously when its whole deflate stream is in the current chunk.
   * Returns false (nothing consumed) when the streaming inflater is needed.
   */
  private inflateInOnePiece(state: Extract<State, { kind: 'deflate' }>): boolean {
    const entry = this.entry!;
    const available = this.chunk.length - this.pos;
    let result: { output: Buffer; consumed: number } | null;
    if (state.remaining !== null) {
      const declared = entry.declared!.uncompressedSize;
      if (declared > ONE_PIECE_MAX_OUTPUT || state.remaining > available) return false;
      result = inflateInOnePiece(this.dataInput(state.remaining), declared, true);
      state.remaining = 0;
    } else {
      if (available === 0) return false;
      result = inflateInOnePiece(this.dataInput(Infinity), ONE_PIECE_MAX_OUTPUT, false);
    }
    if (result === null) return false;
    this.pos += result.consumed;
    entry.compressedSize = result.consumed;
    this.onInflated(result.output, result.consumed);
    this.endEntryData();
    return true;
  }

  /** The entry's data ended: check it against the header, or read the descriptor that follows. */
  private endEntryData(): void {
    const entry = this.entry!;
    if (entry.hasDescriptor) {
      this.state = { kind: 'data-descriptor' };
      return;
    }
    const declared = entry.declared!;
    this.checkActual(entry, declared.crc32, declared.compressedSize, declared.uncompressedSize, 'its local header declares');
    this.finishEntry();
  }

  private checkActual(entry: LocalEntry, crc: number, compressed: number, uncompressed: number, source: string): void {
    if (entry.uncompressedSize !== uncompressed || entry.compressedSize !== compressed) {
      throw corrupt(
        `Entry ${quote(entry.name)} has ${entry.compressedSize} compressed / ${entry.uncompressedSize} uncompressed bytes, ` +
          `but ${source} ${compressed} / ${uncompressed}; the archive is corrupt. Re-create it and upload it again.`,
        entry.name,
      );
    }
    if (entry.crc32 >>> 0 !== crc >>> 0) {
      throw corrupt(
        `Entry ${quote(entry.name)} fails its CRC-32 check (data has ${hex32(entry.crc32)}, ${source} ${hex32(crc)}): ` +
          'the archive is corrupt, possibly damaged in transfer. Re-create it and upload it again.',
        entry.name,
      );
    }
  }

  private readDataDescriptor(): boolean {
    // Reading the longest form is safe: at least a central directory record follows.
    const buf = this.need(DESCRIPTOR_READ);
    if (!buf) return false;
    const entry = this.entry!;
    let used = 0;
    if (buf.readUInt32LE(0) === SIG_DATA_DESCRIPTOR) {
      const body = matchDescriptorBody(buf.subarray(4), entry.crc32, entry.compressedSize, entry.uncompressedSize);
      if (body !== 0) used = 4 + body;
    }
    if (used === 0) used = matchDescriptorBody(buf, entry.crc32, entry.compressedSize, entry.uncompressedSize);
    if (used === 0) {
      // Report against the usual signed, 32-bit form.
      const off = buf.readUInt32LE(0) === SIG_DATA_DESCRIPTOR ? 4 : 0;
      this.checkActual(entry, buf.readUInt32LE(off), buf.readUInt32LE(off + 4), buf.readUInt32LE(off + 8), 'its data descriptor declares');
      throw corrupt(`Entry ${quote(entry.name)} has a data descriptor that does not match its data; the archive is corrupt.`, entry.name);
    }
    this.unread(DESCRIPTOR_READ - used);
    this.finishEntry();
    return true;
  }

  private finishEntry(): void {
    const entry = this.entry!;
    if (this.capture) {
      const content = Buffer.concat(this.capture);
      this.capture = null;
      this.content.onCapturedEntry(entry.name, content);
    }
    entry.name = nameLabel(entry.name);
    this.state = { kind: 'signature' };
  }

  // ---- central directory ----------------------------------------------------------------------

  private beginCentralDirectory(): void {
    this.phase = 'central';
    this.centralStart = this.recordStart;
    this.content.onAllEntriesSeen();
  }

  private endCentralDirectory(): void {
    this.centralEnd = this.recordStart;
  }

  /** Each central record must describe, exactly, one local entry we parsed. */
  private checkCentralEntry(header: CentralFileHeader, rawName: Buffer, extra: Buffer): void {
    this.centralCount++;
    const name = decodeName(rawName, header.flags);
    checkEntryName(name);
    if ((header.flags & ENCRYPTION_FLAGS) !== 0) rejectEncrypted(name);
    if (isUnixSymlink(header.versionMadeBy, header.externalAttributes)) rejectSymlink(name);
    const values = applyZip64Extra(
      {
        uncompressedSize: header.uncompressedSize,
        compressedSize: header.compressedSize,
        localHeaderOffset: header.localHeaderOffset,
      },
      extra,
      name,
      'central',
    );
    if (header.diskStart !== 0 && header.diskStart !== U16_MAX) throw this.multiDisk();
    const mismatch = (what: string): never => {
      throw corrupt(
        `The central directory and the local header of entry ${quote(name)} disagree (${what}), so different zip readers would see different files. ` +
          'Re-create the archive with a standard zip tool.',
        name,
      );
    };
    const local = this.byOffset.get(values.localHeaderOffset);
    if (!local) mismatch(`the central directory points at byte ${values.localHeaderOffset}, where no entry starts`);
    const entry = local!;
    if (entry.listedInCentral) mismatch(`the central directory lists the entry at byte ${values.localHeaderOffset} twice`);
    entry.listedInCentral = true;
    if (entry.key !== nameKey(name)) mismatch(`the local header names it ${quote(entry.name)}`);
    if (entry.method !== header.method) mismatch(`compression method ${header.method} vs ${entry.method}`);
    if (entry.crc32 >>> 0 !== header.crc32 >>> 0) mismatch(`CRC-32 ${hex32(header.crc32)} vs ${hex32(entry.crc32)} of the data`);
    if (entry.compressedSize !== values.compressedSize) {
      mismatch(`compressed size ${values.compressedSize} vs ${entry.compressedSize} bytes of data`);
    }
    if (entry.uncompressedSize !== values.uncompressedSize) {
      mismatch(`uncompressed size ${values.uncompressedSize} vs ${entry.uncompressedSize} bytes of data`);
    }
  }

  private multiDisk(): ArchiveRejectedError {
    return new ArchiveRejectedError(
      'unsupported',
      'The archive is split across several files (a multi-volume or spanned zip), which is not supported. Re-create it as a single zip file.',
    );
  }

  private readZip64Eocd(): boolean {
    const buf = this.need(ZIP64_EOCD_FIXED);
    if (!buf) return false;
    const record = parseZip64EndOfCentralDirectory(buf);
    if (record.extensibleDataLength > MAX_ZIP64_EXTENSIBLE_DATA) {
      throw new ArchiveRejectedError(
        'unsupported',
        `The archive's zip64 end-of-central-directory record carries ${record.extensibleDataLength} bytes of extensible data, which is not supported.`,
      );
    }
    this.zip64Eocd = { ...record, offset: this.recordStart };
    this.phase = 'after-zip64-eocd';
    const next: State = { kind: 'signature' };
    this.state =
      record.extensibleDataLength > 0
        ? { kind: 'skip', remaining: record.extensibleDataLength, what: 'zip64 extensible data', then: next }
        : next;
    return true;
  }

  private readZip64Locator(): boolean {
    const buf = this.need(ZIP64_LOCATOR_SIZE);
    if (!buf) return false;
    const locator = parseZip64Locator(buf);
    if (locator.zip64EocdDisk !== 0 || locator.totalDisks > 1) throw this.multiDisk();
    if (locator.zip64EocdOffset !== this.zip64Eocd!.offset) {
      throw corrupt(
        `The zip64 locator points at byte ${locator.zip64EocdOffset}, but the zip64 end-of-central-directory record is at byte ${this.zip64Eocd!.offset}; the archive is corrupt.`,
      );
    }
    this.phase = 'after-locator';
    this.state = { kind: 'signature' };
    return true;
  }

  private readEocd(): boolean {
    const buf = this.need(EOCD_FIXED);
    if (!buf) return false;
    const eocd = parseEndOfCentralDirectory(buf);
    this.checkEnd(eocd);
    this.phase = 'end';
    const done: State = { kind: 'done' };
    this.state = eocd.commentLength > 0 ? { kind: 'skip', remaining: eocd.commentLength, what: 'archive comment', then: done } : done;
    return true;
  }

  /** The end records must agree with the entries and central directory actually seen. */
  private checkEnd(eocd: EndOfCentralDirectory): void {
    const z64 = this.zip64Eocd;
    if (eocd.disk !== 0 && !(eocd.disk === U16_MAX && z64)) throw this.multiDisk();
    if (eocd.centralDirectoryDisk !== 0 && !(eocd.centralDirectoryDisk === U16_MAX && z64)) throw this.multiDisk();
    if (z64 && (z64.disk !== 0 || z64.centralDirectoryDisk !== 0)) throw this.multiDisk();

    if (this.centralCount !== this.localCount) {
      const unlisted = [...this.byOffset.values()].find((e) => !e.listedInCentral);
      throw corrupt(
        `The archive has ${this.localCount} entries but its central directory lists ${this.centralCount}` +
          (unlisted ? ` (entry ${quote(unlisted.name)} is missing from it)` : '') +
          ', so different zip readers would see different files. Re-create the archive with a standard zip tool.',
        unlisted?.name,
      );
    }
    const size = this.centralEnd - this.centralStart;
    const check = (field: string, value: number, actual: number, saturated: number, z64Value: number | undefined): void => {
      const ok = value === actual || (value === saturated && z64Value !== undefined);
      if (!ok || (z64Value !== undefined && z64Value !== actual)) {
        const claimed = z64Value !== undefined && z64Value !== actual ? z64Value : value;
        throw corrupt(
          `The end-of-central-directory record says the ${field} is ${claimed}, but it is ${actual}; the archive is corrupt. ` +
            'Re-create it with a standard zip tool.',
        );
      }
    };
    check('number of entries', eocd.entries, this.centralCount, U16_MAX, z64?.entries);
    check('number of entries on this disk', eocd.entriesOnDisk, this.centralCount, U16_MAX, z64?.entriesOnDisk);
    check('central directory size', eocd.centralDirectorySize, size, U32_MAX, z64?.centralDirectorySize);
    check('central directory offset', eocd.centralDirectoryOffset, this.centralStart, U32_MAX, z64?.centralDirectoryOffset);
  }
}

class ZipStreamValidator extends Transform implements ArchiveValidator {
  private readonly parser: ZipStreamParser;
  private readonly observe: ((chunk: Buffer) => void) | undefined;
  private finalReport: ArchiveReport | null = null;

  constructor(options: ArchiveValidatorOptions) {
    // Modest buffers: the validator must not add much memory per upload, and larger ones did not
    // make it faster.
    super({ highWaterMark: 256 * 1024 });
    this.parser = new ZipStreamParser(options);
    this.observe = options.observe;
  }

  get report(): ArchiveReport | null {
    return this.finalReport;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let pending: void | Promise<void>;
    try {
      this.observe?.(chunk);
      // Pass the bytes on before parsing them: storage writes overlap with validation, and a
      // rejection destroys the pipeline (and so the partial upload) anyway.
      this.push(chunk);
      pending = this.parser.write(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (pending === undefined) callback();
    else pending.then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.parser.end().then((report) => {
      this.finalReport = report;
      callback();
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.parser.destroy();
    callback(error);
  }
}

/**
 * Creates the pass-through validator: `pipeline(source, validator, storage)` stores the bytes
 * unchanged while the validator checks them, failing the pipeline with an ArchiveRejectedError
 * at the first violation. `report` is set once the whole archive was checked.
 */
export function createArchiveValidator(options: ArchiveValidatorOptions): ArchiveValidator {
  return new ZipStreamValidator(options);
}
