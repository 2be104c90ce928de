// The cross-checks that make a one-pass parse safe: every central-directory record must describe
// exactly one local entry that was parsed (same name, method, CRC-32 and sizes), and the (zip64)
// end records must agree with what was seen. Zip readers that trust the central directory and
// readers that stream local headers would otherwise extract different files from one archive.
import { createHash } from 'node:crypto';
import { quote } from './errors.js';
import { checkEntryName, rejectEncrypted, rejectSymlink } from './entry-rules.js';
import { corrupt, hex32, multiDisk } from './rejections.js';
import {
  FLAG_ENCRYPTED,
  FLAG_MASKED_HEADERS,
  FLAG_STRONG_ENCRYPTION,
  U16_MAX,
  U32_MAX,
  applyZip64Extra,
  decodeName,
  isUnixSymlink,
  type CentralFileHeader,
  type EndOfCentralDirectory,
  type Zip64EndOfCentralDirectory,
  type Zip64Locator,
} from './zip-format.js';

export const ENCRYPTION_FLAGS = FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS;

/** What the archive said about an entry in its local header and what its data turned out to be. */
export interface LocalEntry {
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

/**
 * Entry names can be 64 KiB long; keeping thousands of them would let an archive pin a lot of
 * memory. Names are remembered (for duplicate and central-directory checks) by this key instead.
 */
export function nameKey(name: string): string {
  return name.length <= 64 ? name : `sha256:${createHash('sha256').update(name).digest('base64')}`;
}

export function nameLabel(name: string): string {
  return name.length <= 200 ? name : `${name.slice(0, 200)}…`;
}

export class CentralDirectoryCheck {
  private readonly byOffset = new Map<number, LocalEntry>();
  private localCount = 0;
  private centralCount = 0;
  private centralStart = 0;
  private centralEnd = 0;
  private zip64Eocd: (Zip64EndOfCentralDirectory & { offset: number }) | null = null;

  /** Remembers a local entry (by its header's offset) for the central directory to match. */
  addLocal(entry: LocalEntry): void {
    this.localCount++;
    this.byOffset.set(entry.offset, entry);
  }

  get entries(): number {
    return this.localCount;
  }

  /** The central directory starts at `offset` (at its first record, or at the end records if empty). */
  begin(offset: number): void {
    this.centralStart = offset;
  }

  /** The central directory ended at `offset`, where the end records start. */
  end(offset: number): void {
    this.centralEnd = offset;
  }

  /** Each central record must describe, exactly, one local entry we parsed. */
  checkEntry(header: CentralFileHeader, rawName: Buffer, extra: Buffer): void {
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
    if (header.diskStart !== 0 && header.diskStart !== U16_MAX) throw multiDisk();
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

  /** Remembers the zip64 end record found at `offset`, for the locator and the end record to match. */
  acceptZip64End(record: Zip64EndOfCentralDirectory, offset: number): void {
    this.zip64Eocd = { ...record, offset };
  }

  checkLocator(locator: Zip64Locator): void {
    if (locator.zip64EocdDisk !== 0 || locator.totalDisks > 1) throw multiDisk();
    if (locator.zip64EocdOffset !== this.zip64Eocd!.offset) {
      throw corrupt(
        `The zip64 locator points at byte ${locator.zip64EocdOffset}, but the zip64 end-of-central-directory record is at byte ${this.zip64Eocd!.offset}; the archive is corrupt.`,
      );
    }
  }

  /** The end records must agree with the entries and central directory actually seen. */
  checkEnd(eocd: EndOfCentralDirectory): void {
    const z64 = this.zip64Eocd;
    if (eocd.disk !== 0 && !(eocd.disk === U16_MAX && z64)) throw multiDisk();
    if (eocd.centralDirectoryDisk !== 0 && !(eocd.centralDirectoryDisk === U16_MAX && z64)) throw multiDisk();
    if (z64 && (z64.disk !== 0 || z64.centralDirectoryDisk !== 0)) throw multiDisk();

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
