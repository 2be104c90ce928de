// Finds the end of a STORED entry written with a data descriptor (flag bit 3), as Go's
// archive/zip writes them: its size is nowhere before the data, so the data is scanned for a
// descriptor signature whose CRC-32 and sizes match the bytes seen before it. A false match would
// need the signature plus a matching CRC and size by chance (about 2^-64).
//
// Data arrives in arbitrary pieces; a candidate descriptor may straddle two pieces, so up to
// MAX_DESCRIPTOR - 1 bytes that may begin one are held back (copied) until the next piece.

import { crc32 } from 'node:zlib';
import { DATA_DESCRIPTOR_SIG_BYTES, matchDescriptorBody } from './zip-format.js';

/** Signature + CRC + two 8-byte sizes: the longest descriptor, and the bytes a check needs. */
const MAX_DESCRIPTOR = 24;
const EMPTY = Buffer.alloc(0);

export class StoredDescriptorScanner {
  crc32 = 0;
  size = 0;
  /** Set once the descriptor was found. */
  found = false;
  /**
   * Bytes from an earlier piece that follow the descriptor (they were held back because checking a
   * candidate needs MAX_DESCRIPTOR bytes, more than a short descriptor). They belong to the next
   * record; the caller must parse them before the rest of the current piece.
   */
  leftover: Buffer = EMPTY;
  private held: Buffer = EMPTY;

  /** @param onData receives the entry's data bytes, in order, once they are known to be data. */
  constructor(private readonly onData: (data: Buffer) => void) {}

  /**
   * Consumes `input`; returns how many of its bytes belong to this entry (data and descriptor).
   * Less than `input.length` only once the descriptor was found (then check `leftover` too).
   */
  push(input: Buffer): number {
    if (this.found) return 0;
    if (this.held.length === 0) return this.scan(input, input.length);
    const heldLength = this.held.length;
    if (input.length < MAX_DESCRIPTOR) {
      // A tiny piece: merge it with the held bytes and scan the small result as one.
      const merged = Buffer.concat([this.held, input]);
      this.held = EMPTY;
      return this.fromHeldScan(merged, this.scan(merged, merged.length), heldLength);
    }
    // Candidates that start in the held bytes: check them on held + the head of input (every
    // such candidate has all its MAX_DESCRIPTOR bytes there).
    const window = Buffer.concat([this.held, input.subarray(0, MAX_DESCRIPTOR)]);
    this.held = EMPTY;
    const used = this.scan(window, heldLength);
    if (this.found) return this.fromHeldScan(window, used, heldLength);
    // No descriptor starts in the held bytes; they were all passed on as data. Scan input itself.
    return this.scan(input, input.length);
  }

  /** Converts bytes used of held+input into bytes used of input, keeping any leftover. */
  private fromHeldScan(data: Buffer, used: number, heldLength: number): number {
    if (used >= heldLength) return used - heldLength;
    this.leftover = Buffer.from(data.subarray(used, heldLength));
    return 0;
  }

  /**
   * Scans `data` for descriptors starting before `startLimit`, passing on data bytes as they are
   * confirmed. Returns the bytes of `data` used: up to the end of a found descriptor, or all of
   * `data` (unconfirmed tail bytes are then held, unless startLimit < data.length, in which case
   * everything before startLimit is confirmed data and the rest is left for the caller).
   */
  private scan(data: Buffer, startLimit: number): number {
    let confirmed = 0;
    let from = 0;
    const windowMode = startLimit < data.length;
    for (;;) {
      const at = data.indexOf(DATA_DESCRIPTOR_SIG_BYTES, from);
      if (at < 0 || at >= startLimit) {
        // No candidate (left): keep the last 3 bytes, which could begin a signature.
        const keepFrom = windowMode ? startLimit : Math.max(confirmed, data.length - 3);
        this.emit(data.subarray(confirmed, keepFrom));
        if (!windowMode) this.held = Buffer.from(data.subarray(keepFrom));
        return windowMode ? startLimit : data.length;
      }
      this.emit(data.subarray(confirmed, at));
      confirmed = at;
      if (at + MAX_DESCRIPTOR > data.length) {
        // Not enough bytes to check this candidate yet (never in window mode, see push()).
        this.held = Buffer.from(data.subarray(at));
        return data.length;
      }
      const body = matchDescriptorBody(data.subarray(at + 4), this.crc32, this.size, this.size);
      if (body !== 0) {
        this.found = true;
        return at + 4 + body;
      }
      from = at + 1;
    }
  }

  private emit(data: Buffer): void {
    if (data.length === 0) return;
    this.crc32 = crc32(data, this.crc32);
    this.size += data.length;
    this.onData(data);
  }
}
