// Zip record layouts (PKWARE APPNOTE 6.3.x) and small pure parsers for them. Everything here works
// on one complete, already-gathered record buffer; the streaming parser decides when it has one.

import { ArchiveRejectedError } from './errors.js';

export const SIG_LOCAL_FILE = 0x04034b50;
export const SIG_CENTRAL_FILE = 0x02014b50;
export const SIG_DATA_DESCRIPTOR = 0x08074b50;
export const SIG_ZIP64_EOCD = 0x06064b50;
export const SIG_ZIP64_LOCATOR = 0x07064b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_DIGITAL_SIGNATURE = 0x05054b50;
export const SIG_ARCHIVE_EXTRA_DATA = 0x08064b50;

/** The 4 signature bytes as they appear in the stream, for Buffer.indexOf. */
export const DATA_DESCRIPTOR_SIG_BYTES = Buffer.from([0x50, 0x4b, 0x07, 0x08]);

// Fixed sizes, signature included.
export const LOCAL_FILE_FIXED = 30;
export const CENTRAL_FILE_FIXED = 46;
export const EOCD_FIXED = 22;
export const ZIP64_EOCD_FIXED = 56;
export const ZIP64_LOCATOR_SIZE = 20;

export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;

export const FLAG_ENCRYPTED = 1 << 0;
export const FLAG_DATA_DESCRIPTOR = 1 << 3;
export const FLAG_STRONG_ENCRYPTION = 1 << 6;
export const FLAG_UTF8 = 1 << 11;
export const FLAG_MASKED_HEADERS = 1 << 13;

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;
const EXTRA_ZIP64 = 0x0001;

/** Host system "Unix" in the upper byte of "version made by": external attrs carry st_mode. */
export const HOST_UNIX = 3;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

export interface LocalFileHeader {
  versionNeeded: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  nameLength: number;
  extraLength: number;
}

export interface CentralFileHeader {
  versionMadeBy: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  nameLength: number;
  extraLength: number;
  commentLength: number;
  diskStart: number;
  externalAttributes: number;
  localHeaderOffset: number;
}

export interface EndOfCentralDirectory {
  disk: number;
  centralDirectoryDisk: number;
  entriesOnDisk: number;
  entries: number;
  centralDirectorySize: number;
  centralDirectoryOffset: number;
  commentLength: number;
}

export interface Zip64EndOfCentralDirectory {
  /** Bytes after the 56-byte fixed part (the "zip64 extensible data sector"). */
  extensibleDataLength: number;
  disk: number;
  centralDirectoryDisk: number;
  entriesOnDisk: number;
  entries: number;
  centralDirectorySize: number;
  centralDirectoryOffset: number;
}

export interface Zip64Locator {
  zip64EocdDisk: number;
  zip64EocdOffset: number;
  totalDisks: number;
}

/**
 * Reads an unsigned 64-bit little-endian integer as a number. Zip64 sizes and offsets beyond 2^53
 * cannot describe a real upload, so they are rejected rather than silently rounded.
 */
export function readU64(buf: Buffer, offset: number): number {
  const low = buf.readUInt32LE(offset);
  const high = buf.readUInt32LE(offset + 4);
  if (high > 0x1fffff) {
    throw new ArchiveRejectedError('corrupt', 'The archive declares a 64-bit size or offset larger than 2^53 bytes; it is corrupt.');
  }
  return high * 0x1_0000_0000 + low;
}

export function parseLocalFileHeader(buf: Buffer): LocalFileHeader {
  return {
    versionNeeded: buf.readUInt16LE(4),
    flags: buf.readUInt16LE(6),
    method: buf.readUInt16LE(8),
    crc32: buf.readUInt32LE(14),
    compressedSize: buf.readUInt32LE(18),
    uncompressedSize: buf.readUInt32LE(22),
    nameLength: buf.readUInt16LE(26),
    extraLength: buf.readUInt16LE(28),
  };
}

export function parseCentralFileHeader(buf: Buffer): CentralFileHeader {
  return {
    versionMadeBy: buf.readUInt16LE(4),
    flags: buf.readUInt16LE(8),
    method: buf.readUInt16LE(10),
    crc32: buf.readUInt32LE(16),
    compressedSize: buf.readUInt32LE(20),
    uncompressedSize: buf.readUInt32LE(24),
    nameLength: buf.readUInt16LE(28),
    extraLength: buf.readUInt16LE(30),
    commentLength: buf.readUInt16LE(32),
    diskStart: buf.readUInt16LE(34),
    externalAttributes: buf.readUInt32LE(38),
    localHeaderOffset: buf.readUInt32LE(42),
  };
}

export function parseEndOfCentralDirectory(buf: Buffer): EndOfCentralDirectory {
  return {
    disk: buf.readUInt16LE(4),
    centralDirectoryDisk: buf.readUInt16LE(6),
    entriesOnDisk: buf.readUInt16LE(8),
    entries: buf.readUInt16LE(10),
    centralDirectorySize: buf.readUInt32LE(12),
    centralDirectoryOffset: buf.readUInt32LE(16),
    commentLength: buf.readUInt16LE(20),
  };
}

export function parseZip64EndOfCentralDirectory(buf: Buffer): Zip64EndOfCentralDirectory {
  // "Size of zip64 end of central directory record" counts everything after that field itself.
  const recordSize = readU64(buf, 4);
  if (recordSize < ZIP64_EOCD_FIXED - 12) {
    throw new ArchiveRejectedError('corrupt', 'The zip64 end-of-central-directory record is too short; the archive is corrupt.');
  }
  return {
    extensibleDataLength: recordSize - (ZIP64_EOCD_FIXED - 12),
    disk: buf.readUInt32LE(16),
    centralDirectoryDisk: buf.readUInt32LE(20),
    entriesOnDisk: readU64(buf, 24),
    entries: readU64(buf, 32),
    centralDirectorySize: readU64(buf, 40),
    centralDirectoryOffset: readU64(buf, 48),
  };
}

export function parseZip64Locator(buf: Buffer): Zip64Locator {
  return {
    zip64EocdDisk: buf.readUInt32LE(4),
    zip64EocdOffset: readU64(buf, 8),
    totalDisks: buf.readUInt32LE(16),
  };
}

/** Returns the data of the first zip64 extended-information extra field, if any. */
export function findZip64Extra(extra: Buffer): Buffer | undefined {
  let offset = 0;
  // Blocks are (id u16, size u16, data). Some writers pad the extra area with a few stray bytes
  // (e.g. alignment tools), so a short or overrunning tail ends the walk instead of failing.
  while (offset + 4 <= extra.length) {
    const id = extra.readUInt16LE(offset);
    const size = extra.readUInt16LE(offset + 2);
    const start = offset + 4;
    if (start + size > extra.length) return undefined;
    if (id === EXTRA_ZIP64) return extra.subarray(start, start + size);
    offset = start + size;
  }
  return undefined;
}

/**
 * Replaces the 32-bit fields that are saturated (0xFFFFFFFF) with their values from the zip64
 * extra field. Values appear in the extra field in a fixed order (uncompressed size, compressed
 * size, local header offset), and only for fields that are saturated.
 */
export function applyZip64Extra<T extends { uncompressedSize: number; compressedSize: number; localHeaderOffset?: number }>(
  fields: T,
  extra: Buffer,
  entryName: string,
  where: 'local' | 'central',
): T {
  const needU = fields.uncompressedSize === U32_MAX;
  const needC = fields.compressedSize === U32_MAX;
  const needO = fields.localHeaderOffset === U32_MAX;
  if (!needU && !needC && !needO) return fields;
  const data = findZip64Extra(extra);
  const missing = (): never => {
    throw new ArchiveRejectedError(
      'corrupt',
      `Entry ${JSON.stringify(entryName)} has 0xFFFFFFFF sizes in its ${where} header but no usable zip64 extra field; the archive is corrupt. Re-create it with a standard zip tool.`,
      entryName,
    );
  };
  if (data === undefined) return missing();
  const result = { ...fields };
  let offset = 0;
  // In local headers the field must hold both sizes (APPNOTE 4.5.3); honour that layout even when
  // only one of them is saturated.
  const bothSizes = where === 'local' && data.length >= 16;
  if (needU || bothSizes) {
    if (offset + 8 > data.length) return missing();
    const value = readU64(data, offset);
    if (needU) result.uncompressedSize = value;
    offset += 8;
  }
  if (needC || bothSizes) {
    if (offset + 8 > data.length) return missing();
    const value = readU64(data, offset);
    if (needC) result.compressedSize = value;
    offset += 8;
  }
  if (needO) {
    if (offset + 8 > data.length) return missing();
    result.localHeaderOffset = readU64(data, offset);
  }
  return result;
}

export function isUnixSymlink(versionMadeBy: number, externalAttributes: number): boolean {
  return versionMadeBy >>> 8 === HOST_UNIX && ((externalAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

// Code page 437, bytes 0x80-0xFF: the encoding zip names use when flag bit 11 (UTF-8) is clear.
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' + 'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes an entry name: UTF-8 when flag bit 11 is set (invalid UTF-8 is corrupt), otherwise
 * CP437, the zip default. Bytes below 0x80 decode as ASCII either way.
 */
export function decodeName(raw: Buffer, flags: number): string {
  if ((flags & FLAG_UTF8) !== 0) {
    try {
      return utf8.decode(raw);
    } catch {
      throw new ArchiveRejectedError(
        'corrupt',
        `An entry name is flagged as UTF-8 but is not valid UTF-8 (${JSON.stringify(raw.toString('latin1'))}); the archive is corrupt.`,
      );
    }
  }
  let ascii = true;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return raw.toString('latin1');
  let name = '';
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i]!;
    name += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  }
  return name;
}

export type DescriptorMatch = 0 | 12 | 20;

/**
 * Matches a data-descriptor body (the part after the optional signature: CRC-32 then compressed
 * and uncompressed sizes, 4 bytes each, or 8 bytes each in the zip64 form) against the actual
 * values. `body` must hold at least 20 bytes. Returns the body length that matched, or 0.
 *
 * The zip64 form cannot be told apart by the local header (yazl, Go and Java write it without a
 * zip64 extra there), so both are tried. The zip64 form is preferred: both forms can only match
 * when the 8 bytes after a short descriptor are zeros, which a short descriptor never has after
 * it (a record signature follows).
 */
export function matchDescriptorBody(body: Buffer, crc32: number, compressed: number, uncompressed: number): DescriptorMatch {
  if (body.readUInt32LE(0) !== crc32 >>> 0) return 0;
  const c64Low = body.readUInt32LE(4);
  const c64High = body.readUInt32LE(8);
  const u64Low = body.readUInt32LE(12);
  const u64High = body.readUInt32LE(16);
  if (c64High * 0x1_0000_0000 + c64Low === compressed && u64High * 0x1_0000_0000 + u64Low === uncompressed) return 20;
  if (c64Low === compressed && c64High === uncompressed) return 12;
  return 0;
}
