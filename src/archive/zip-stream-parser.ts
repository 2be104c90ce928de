// One-pass streaming zip parser. The zip is parsed front to back as it flows through, never
// buffered whole and never seeked: local entries in order (each one's data decoded and CRC-checked
// on the fly by an entry decoder), then the central directory, which must agree with what the
// local entries said, then the (zip64) end-of-central-directory records. Memory stays flat: besides
// per-entry bookkeeping (bounded by maxEntries) it holds at most one record header (< 200 KiB), a
// few held-back bytes, one zlib inflater and the plugin descriptor (<= 64 KiB).
//
// Every rule fails at the first byte that proves the violation, with an ArchiveRejectedError.
// The pieces: byte-cursor.ts (input across chunk boundaries), entry-decoders.ts (stored and
// deflate data), central-directory.ts (the cross-checks), rejections.ts (the messages).

import { ByteCursor } from './byte-cursor.js';
import { CentralDirectoryCheck, ENCRYPTION_FLAGS, nameKey, nameLabel, type LocalEntry } from './central-directory.js';
import { createEntryDecoder, isSupportedMethod, type EntryDecoder } from './entry-decoders.js';
import { ArchiveRejectedError, quote } from './errors.js';
import { LimitTracker, checkEntryName, rejectEncrypted, rejectUnsupportedMethod } from './entry-rules.js';
import { MAX_DESCRIPTOR_BYTES, createContentRules, type ContentRules } from './plugin-descriptor.js';
import { corrupt, dataAfterEnd, emptyUpload, hex32, notAZip, truncated, unexpectedSignature, type Phase } from './rejections.js';
import type { ArchiveExpectations, ArchiveLimits, ArchiveReport } from './types.js';
import {
  CENTRAL_FILE_FIXED,
  EOCD_FIXED,
  FLAG_DATA_DESCRIPTOR,
  LOCAL_FILE_FIXED,
  METHOD_STORED,
  SIG_CENTRAL_FILE,
  SIG_DATA_DESCRIPTOR,
  SIG_EOCD,
  SIG_LOCAL_FILE,
  SIG_ZIP64_EOCD,
  SIG_ZIP64_LOCATOR,
  ZIP64_EOCD_FIXED,
  ZIP64_LOCATOR_SIZE,
  applyZip64Extra,
  decodeName,
  matchDescriptorBody,
  parseCentralFileHeader,
  parseEndOfCentralDirectory,
  parseLocalFileHeader,
  parseZip64EndOfCentralDirectory,
  parseZip64Locator,
  type CentralFileHeader,
  type LocalFileHeader,
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

/** Bytes read for a data descriptor: optional signature, CRC-32 and two 8-byte sizes. */
const DESCRIPTOR_READ = 24;
/** Zip64 extensible data we are willing to skip (nobody writes any). */
const MAX_ZIP64_EXTENSIBLE_DATA = 1024 * 1024;

type State =
  | { kind: 'signature' }
  | { kind: 'local-header' }
  | { kind: 'local-variable'; header: LocalFileHeader }
  | { kind: 'entry-data'; decoder: EntryDecoder }
  | { kind: 'data-descriptor' }
  | { kind: 'central-header' }
  | { kind: 'central-variable'; header: CentralFileHeader }
  | { kind: 'zip64-eocd' }
  | { kind: 'zip64-locator' }
  | { kind: 'eocd' }
  | { kind: 'skip'; remaining: number; what: string; then: State }
  | { kind: 'done' };

const SIGNATURE_BYTES_AT_START = [SIG_LOCAL_FILE, SIG_EOCD, SIG_ZIP64_EOCD].map((sig) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(sig);
  return b;
});

/**
 * The parser proper, independent of streams: feed it chunks with write() (awaiting each), then
 * call end(). Any rule violation rejects with an ArchiveRejectedError.
 */
export class ZipStreamParser {
  private readonly limits: LimitTracker;
  private readonly content: ContentRules;
  private readonly input = new ByteCursor();
  private readonly central = new CentralDirectoryCheck();

  private state: State = { kind: 'signature' };
  private phase: Phase = 'start';
  /** Stream offset of the record being parsed. */
  private recordStart = 0;

  private entry: LocalEntry | null = null;
  private capture: Buffer[] | null = null;
  private captureLength = 0;
  private readonly nameKeys = new Set<string>();
  private readonly sink = { data: (piece: Buffer, compressedSoFar: number | null) => this.onEntryData(piece, compressedSoFar) };

  constructor(options: ArchiveValidatorOptions) {
    this.limits = new LimitTracker(options.limits);
    this.content = createContentRules(options.expect);
  }

  /**
   * Parses one chunk. Synchronous (undefined) unless an entry needs the asynchronous inflater: the
   * stored entries that make up most large archives then cost no promise per chunk.
   */
  write(chunk: Buffer): void | Promise<void> {
    const input = this.input;
    input.begin(chunk);
    let pending: Promise<boolean> | null = null;
    try {
      while (input.hasInput()) {
        const progressed = this.step();
        if (typeof progressed !== 'boolean') {
          pending = progressed;
          return this.finishAsync(pending);
        }
        if (!progressed) break;
      }
    } finally {
      if (pending === null) input.finishChunk();
    }
  }

  private async finishAsync(pending: Promise<boolean>): Promise<void> {
    try {
      let progressed = await pending;
      while (progressed && this.input.hasInput()) {
        const next = this.step();
        progressed = typeof next === 'boolean' ? next : await next;
      }
    } finally {
      this.input.finishChunk();
    }
  }

  /** Call once all input was written; checks the archive was complete and returns the report. */
  async end(): Promise<ArchiveReport> {
    // Bytes handed back into the carry at the very end of the input still need parsing.
    if (this.input.available() > 0) await this.write(Buffer.alloc(0));
    if (this.state.kind !== 'done') throw this.truncated();
    return {
      entries: this.central.entries,
      uncompressedBytes: this.limits.uncompressedBytes,
      ...this.content.report(),
    };
  }

  destroy(): void {
    const state = this.state;
    if (state.kind === 'entry-data') state.decoder.destroy();
  }

  // ---- the state machine ----------------------------------------------------------------------

  /** Parses one step; returns false when more input is needed. */
  private step(): boolean | Promise<boolean> {
    const state = this.state;
    const input = this.input;
    switch (state.kind) {
      case 'signature':
        return this.readSignature();
      case 'local-header': {
        const buf = input.need(LOCAL_FILE_FIXED);
        if (!buf) return false;
        this.state = { kind: 'local-variable', header: parseLocalFileHeader(buf) };
        return true;
      }
      case 'local-variable': {
        const { header } = state;
        const buf = input.need(header.nameLength + header.extraLength);
        if (!buf) return false;
        this.beginEntry(header, buf.subarray(0, header.nameLength), buf.subarray(header.nameLength));
        return true;
      }
      case 'entry-data':
        return this.decode(state.decoder);
      case 'data-descriptor':
        return this.readDataDescriptor();
      case 'central-header': {
        const buf = input.need(CENTRAL_FILE_FIXED);
        if (!buf) return false;
        this.state = { kind: 'central-variable', header: parseCentralFileHeader(buf) };
        return true;
      }
      case 'central-variable': {
        const { header } = state;
        const buf = input.need(header.nameLength + header.extraLength + header.commentLength);
        if (!buf) return false;
        this.central.checkEntry(header, buf.subarray(0, header.nameLength), buf.subarray(header.nameLength, header.nameLength + header.extraLength));
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
        const n = Math.min(state.remaining, input.available());
        const skipped = input.need(n)!;
        state.remaining -= skipped.length;
        if (state.remaining === 0) this.state = state.then;
        return n > 0;
      }
      case 'done':
        throw dataAfterEnd(input.position());
    }
  }

  private readSignature(): boolean {
    const input = this.input;
    if (this.phase === 'start') this.checkStartsLikeZip();
    const buf = input.need(4);
    if (!buf) return false;
    const sig = buf.readUInt32LE(0);
    input.unread(4);
    this.recordStart = input.position();
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
          this.central.end(this.recordStart);
          this.state = { kind: sig === SIG_EOCD ? 'eocd' : 'zip64-eocd' };
        } else {
          throw this.unexpectedSignature(sig);
        }
        return true;
      case 'central':
        if (sig === SIG_CENTRAL_FILE) {
          this.state = { kind: 'central-header' };
        } else if (sig === SIG_EOCD || sig === SIG_ZIP64_EOCD) {
          this.central.end(this.recordStart);
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
    const head = this.input.peek(4);
    if (head.length === 0) return;
    if (!SIGNATURE_BYTES_AT_START.some((sig) => sig.subarray(0, head.length).equals(head))) throw notAZip();
  }

  private unexpectedSignature(sig: number): ArchiveRejectedError {
    return unexpectedSignature(sig, this.phase, this.recordStart, this.entry?.name);
  }

  private truncated(): ArchiveRejectedError {
    const total = this.input.totalConsumed();
    if (total === 0) return emptyUpload();
    if (this.phase === 'start') return notAZip();
    const state = this.state;
    if (state.kind === 'entry-data') {
      const specific = state.decoder.truncatedError();
      if (specific) return specific;
    }
    if (state.kind === 'skip') return truncated(total, { what: `the ${state.what}` });
    if (this.entry && this.phase === 'entries' && state.kind !== 'signature') {
      return truncated(total, { what: `entry ${quote(this.entry.name)}`, entry: this.entry.name });
    }
    return truncated(total, null);
  }

  // ---- local entries --------------------------------------------------------------------------

  private beginEntry(header: LocalFileHeader, rawName: Buffer, extra: Buffer): void {
    const name = decodeName(rawName, header.flags);
    checkEntryName(name);
    this.limits.countEntry(name);
    if ((header.flags & ENCRYPTION_FLAGS) !== 0) rejectEncrypted(name);
    if (!isSupportedMethod(header.method)) rejectUnsupportedMethod(name, header.method);
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
      const sizes = applyZip64Extra({ compressedSize: header.compressedSize, uncompressedSize: header.uncompressedSize }, extra, name, 'local');
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
    this.central.addLocal(entry);
    this.capture = capture ? [] : null;
    this.captureLength = 0;

    if (declared?.compressedSize === 0) {
      // No data at all. (Some writers store empty files as "deflate" with no bytes, which is not
      // a valid deflate stream but is unambiguous; the header must then declare 0 bytes.)
      this.endEntryData();
    } else {
      this.state = { kind: 'entry-data', decoder: createEntryDecoder(header.method, { name, declared }, this.sink) };
    }
  }

  /** Feeds the rest of the chunk to the entry's decoder. */
  private decode(decoder: EntryDecoder): boolean | Promise<boolean> {
    const consumed = decoder.write(this.input.data(Infinity));
    if (typeof consumed === 'number') return this.decoded(decoder, consumed);
    return consumed.then((n) => this.decoded(decoder, n));
  }

  private decoded(decoder: EntryDecoder, consumed: number): boolean {
    this.input.advance(consumed);
    if (!decoder.ended) return true;
    const entry = this.entry!;
    entry.crc32 = decoder.crc32;
    entry.compressedSize = decoder.compressedSize;
    if (decoder.consumedDescriptor) {
      // The decoder only stops at a descriptor matching the data, so nothing is left to compare.
      this.input.pushBack(decoder.takeLeftover());
      this.finishEntry();
    } else {
      this.endEntryData();
    }
    return true;
  }

  /** Accounts for an entry's uncompressed bytes (the decoder keeps the CRC). */
  private onEntryData(data: Buffer, compressedSoFar: number | null): void {
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
    if (compressedSoFar !== null) this.limits.checkRatio(entry.name, entry.uncompressedSize, compressedSoFar);
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
    const buf = this.input.need(DESCRIPTOR_READ);
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
    this.input.unread(DESCRIPTOR_READ - used);
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

  // ---- central directory and end records ------------------------------------------------------

  private beginCentralDirectory(): void {
    this.phase = 'central';
    this.central.begin(this.recordStart);
    this.content.onAllEntriesSeen();
  }

  private readZip64Eocd(): boolean {
    const buf = this.input.need(ZIP64_EOCD_FIXED);
    if (!buf) return false;
    const record = parseZip64EndOfCentralDirectory(buf);
    if (record.extensibleDataLength > MAX_ZIP64_EXTENSIBLE_DATA) {
      throw new ArchiveRejectedError(
        'unsupported',
        `The archive's zip64 end-of-central-directory record carries ${record.extensibleDataLength} bytes of extensible data, which is not supported.`,
      );
    }
    this.central.acceptZip64End(record, this.recordStart);
    this.phase = 'after-zip64-eocd';
    const next: State = { kind: 'signature' };
    this.state =
      record.extensibleDataLength > 0 ? { kind: 'skip', remaining: record.extensibleDataLength, what: 'zip64 extensible data', then: next } : next;
    return true;
  }

  private readZip64Locator(): boolean {
    const buf = this.input.need(ZIP64_LOCATOR_SIZE);
    if (!buf) return false;
    this.central.checkLocator(parseZip64Locator(buf));
    this.phase = 'after-locator';
    this.state = { kind: 'signature' };
    return true;
  }

  private readEocd(): boolean {
    const buf = this.input.need(EOCD_FIXED);
    if (!buf) return false;
    const eocd = parseEndOfCentralDirectory(buf);
    this.central.checkEnd(eocd);
    this.phase = 'end';
    const done: State = { kind: 'done' };
    this.state = eocd.commentLength > 0 ? { kind: 'skip', remaining: eocd.commentLength, what: 'archive comment', then: done } : done;
    return true;
  }
}
