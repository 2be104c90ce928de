// Zip builders for the archive validator tests: yazl (what Node tools write), the Info-ZIP `zip`
// CLI (what people run by hand), and a raw writer whose every field can be set, for archives no
// well-behaved tool would produce.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import yazl from 'yazl';

// ---- yazl ---------------------------------------------------------------------------------------

export interface YazlEntry {
  name: string;
  /** File content; omit for a directory entry (name must end in '/'). */
  data?: Buffer | string;
  /** Default true (deflate). */
  compress?: boolean;
  /** Add from a stream: sizes unknown up front, so yazl writes a data descriptor (flag bit 3). */
  stream?: boolean;
  forceZip64Format?: boolean;
  /** Unix mode, e.g. 0o120777 for a symlink. */
  mode?: number;
}

export async function yazlZip(entries: YazlEntry[], options: { comment?: string; forceZip64Format?: boolean } = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    const common = {
      mtime: new Date('2024-01-02T03:04:05Z'),
      ...(entry.compress !== undefined ? { compress: entry.compress } : {}),
      ...(entry.forceZip64Format ? { forceZip64Format: true } : {}),
      ...(entry.mode !== undefined ? { mode: entry.mode } : {}),
    };
    if (entry.data === undefined) {
      zip.addEmptyDirectory(entry.name, { mtime: common.mtime, ...(entry.mode !== undefined ? { mode: entry.mode } : {}) });
      continue;
    }
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data;
    if (entry.stream) zip.addReadStream(Readable.from([data]), entry.name, common);
    else zip.addBuffer(data, entry.name, common);
  }
  const endOptions: Partial<yazl.EndOptions> = {};
  if (options.comment !== undefined) endOptions.comment = options.comment;
  if (options.forceZip64Format) endOptions.forceZip64Format = true;
  zip.end(endOptions as yazl.EndOptions);
  const parts: Buffer[] = [];
  for await (const part of zip.outputStream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

// ---- Info-ZIP zip CLI ---------------------------------------------------------------------------

/** Writes `files` to a temp directory and zips it with `zip <args> out.zip <paths>` from inside it. */
export function cliZip(files: Record<string, string | Buffer>, args: string[] = ['-r', '-X']): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'extrepo-zip-'));
  try {
    const root = path.join(dir, 'src');
    for (const [name, content] of Object.entries(files)) {
      const full = path.join(root, name);
      if (name.endsWith('/')) {
        mkdirSync(full, { recursive: true });
      } else {
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    const out = path.join(dir, 'out.zip');
    const tops = [...new Set(Object.keys(files).map((name) => name.split('/')[0]!))].sort();
    execFileSync('zip', ['-q', ...args, out, ...tops], { cwd: root });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function withFiles<T>(files: Record<string, string | Buffer>, run: (root: string, dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'extrepo-zip-'));
  try {
    const root = path.join(dir, 'src');
    mkdirSync(root);
    for (const [name, content] of Object.entries(files)) {
      const full = path.join(root, name);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
    return run(root, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `jar cf` (deflate with data descriptors, as Java's ZipOutputStream writes). */
export function jarZip(files: Record<string, string | Buffer>, stored = false): Buffer {
  return withFiles(files, (root, dir) => {
    const out = path.join(dir, 'out.jar');
    execFileSync('jar', [stored ? 'cf0M' : 'cf', out, '.'], { cwd: root });
    return readFileSync(out);
  });
}

/**
 * Python's zipfile writing to an unseekable stream: every entry gets a data descriptor, stored
 * ones included (like Go's archive/zip); `zip64` forces zip64 extras and 24-byte descriptors.
 */
export function pythonStreamedZip(files: Record<string, string | Buffer>, options: { stored: boolean; zip64: boolean }): Buffer {
  return withFiles(files, (root) => {
    const script = `
import io, os, sys, zipfile
class Unseekable(io.RawIOBase):
    def writable(self): return True
    def write(self, b): return sys.stdout.buffer.write(b)
with zipfile.ZipFile(Unseekable(), 'w', compression=${options.stored ? 'zipfile.ZIP_STORED' : 'zipfile.ZIP_DEFLATED'}) as z:
    for name in sorted(sys.argv[1:]):
        with open(name, 'rb') as f, z.open(name, 'w', force_zip64=${options.zip64 ? 'True' : 'False'}) as out:
            out.write(f.read())
`;
    return execFileSync('python3', ['-c', script, ...Object.keys(files)], { cwd: root, maxBuffer: 256 * 1024 * 1024 });
  });
}

// ---- raw writer ---------------------------------------------------------------------------------

export interface RawEntry {
  /** Entry name; a Buffer is written as is (e.g. non-UTF-8 bytes). */
  name: string | Buffer;
  /** Uncompressed content (default empty). */
  data?: Buffer | string;
  /** 0 stored, 8 deflate (compressed here), anything else writes `data` as is. Default 8. */
  method?: number;
  /** Compressed bytes to write instead of the real ones (sizes/CRC still describe `data`). */
  compressed?: Buffer;
  /** Extra general-purpose flags (bit 11, UTF-8, is always set for string names). */
  flags?: number;
  /** Write a data descriptor after the data (sets bit 3 and zeroes the local CRC/sizes). */
  descriptor?: 'signed' | 'unsigned' | 'zip64' | 'zip64-unsigned' | 'none';
  /** Write zip64 extra fields (local and central) with the sizes, saturating the 32-bit fields. */
  zip64?: boolean;
  /** Overrides of what the local header / descriptor / central record claim. */
  local?: { crc32?: number; compressedSize?: number; uncompressedSize?: number };
  dataDescriptor?: { crc32?: number; compressedSize?: number; uncompressedSize?: number };
  central?: {
    name?: string;
    crc32?: number;
    compressedSize?: number;
    uncompressedSize?: number;
    offset?: number;
    method?: number;
    versionMadeBy?: number;
    externalAttributes?: number;
    flags?: number;
  };
  /** Leave the entry out of the central directory. */
  omitFromCentral?: boolean;
}

export interface RawZipOptions {
  comment?: string;
  /** Write the zip64 end-of-central-directory record and locator (EOCD fields saturated). */
  zip64Eocd?: boolean;
  eocd?: { entries?: number; centralDirectorySize?: number; centralDirectoryOffset?: number; commentLength?: number };
  /** Bytes appended after everything. */
  trailing?: Buffer;
  /** Central records for entries that have no local header. */
  extraCentral?: RawEntry[];
}

interface Written {
  entry: RawEntry;
  name: Buffer;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  offset: number;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
function zip64Extra(values: number[]): Buffer {
  return Buffer.concat([u16(0x0001), u16(values.length * 8), ...values.map(u64)]);
}

/** Builds a zip from parts written exactly as described; defaults give a valid archive. */
export function rawZip(entries: RawEntry[], options: RawZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    offset += b.length;
  };
  const written: Written[] = [];
  for (const entry of entries) {
    const name = typeof entry.name === 'string' ? Buffer.from(entry.name, 'utf8') : entry.name;
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : (entry.data ?? Buffer.alloc(0));
    const method = entry.method ?? 8;
    const compressed = entry.compressed ?? (method === 8 ? deflateRawSync(data) : data);
    const descriptor = entry.descriptor ?? 'none';
    const flags = (entry.flags ?? 0) | (typeof entry.name === 'string' ? 0x800 : 0) | (descriptor !== 'none' ? 0x8 : 0);
    const w: Written = {
      entry,
      name,
      flags,
      method,
      crc32: crc32(data),
      compressedSize: compressed.length,
      uncompressedSize: data.length,
      offset,
    };
    written.push(w);
    const claimed = {
      crc32: entry.local?.crc32 ?? (descriptor !== 'none' ? 0 : w.crc32),
      compressedSize: entry.local?.compressedSize ?? (descriptor !== 'none' ? 0 : w.compressedSize),
      uncompressedSize: entry.local?.uncompressedSize ?? (descriptor !== 'none' ? 0 : w.uncompressedSize),
    };
    const extra = entry.zip64 ? zip64Extra([claimed.uncompressedSize, claimed.compressedSize]) : Buffer.alloc(0);
    push(
      Buffer.concat([
        u32(0x04034b50),
        u16(entry.zip64 ? 45 : 20),
        u16(flags),
        u16(method),
        u16(0),
        u16(0x21),
        u32(claimed.crc32),
        u32(entry.zip64 ? 0xffffffff : claimed.compressedSize),
        u32(entry.zip64 ? 0xffffffff : claimed.uncompressedSize),
        u16(name.length),
        u16(extra.length),
        name,
        extra,
      ]),
    );
    push(compressed);
    if (descriptor !== 'none') {
      const d = {
        crc32: entry.dataDescriptor?.crc32 ?? w.crc32,
        compressedSize: entry.dataDescriptor?.compressedSize ?? w.compressedSize,
        uncompressedSize: entry.dataDescriptor?.uncompressedSize ?? w.uncompressedSize,
      };
      const signature = descriptor === 'signed' || descriptor === 'zip64' ? [u32(0x08074b50)] : [];
      const sizes = descriptor.startsWith('zip64')
        ? [u64(d.compressedSize), u64(d.uncompressedSize)]
        : [u32(d.compressedSize), u32(d.uncompressedSize)];
      push(Buffer.concat([...signature, u32(d.crc32), ...sizes]));
    }
  }

  const centralStart = offset;
  let count = 0;
  const centralRecord = (w: Written): Buffer => {
    const c = w.entry.central ?? {};
    const name = c.name !== undefined ? Buffer.from(c.name) : w.name;
    const values = {
      crc32: c.crc32 ?? w.crc32,
      compressedSize: c.compressedSize ?? w.compressedSize,
      uncompressedSize: c.uncompressedSize ?? w.uncompressedSize,
      offset: c.offset ?? w.offset,
    };
    const z64 = w.entry.zip64 === true;
    const extra = z64 ? zip64Extra([values.uncompressedSize, values.compressedSize, values.offset]) : Buffer.alloc(0);
    return Buffer.concat([
      u32(0x02014b50),
      u16(c.versionMadeBy ?? (3 << 8) | 63),
      u16(z64 ? 45 : 20),
      u16(c.flags ?? w.flags),
      u16(c.method ?? w.method),
      u16(0),
      u16(0x21),
      u32(values.crc32),
      u32(z64 ? 0xffffffff : values.compressedSize),
      u32(z64 ? 0xffffffff : values.uncompressedSize),
      u16(name.length),
      u16(extra.length),
      u16(0),
      u16(0),
      u16(0),
      u32(c.externalAttributes ?? (0o100644 << 16) >>> 0),
      u32(z64 ? 0xffffffff : values.offset),
      name,
      extra,
    ]);
  };
  for (const w of written) {
    if (w.entry.omitFromCentral) continue;
    push(centralRecord(w));
    count++;
  }
  for (const entry of options.extraCentral ?? []) {
    const data = Buffer.from(entry.data ?? '');
    push(
      centralRecord({
        entry,
        name: Buffer.from(entry.name),
        flags: 0x800,
        method: entry.method ?? 0,
        crc32: crc32(data),
        compressedSize: data.length,
        uncompressedSize: data.length,
        offset: 0,
      }),
    );
    count++;
  }
  const centralSize = offset - centralStart;
  const comment = Buffer.from(options.comment ?? '');
  const e = options.eocd ?? {};
  if (options.zip64Eocd) {
    const zip64EocdOffset = offset;
    push(
      Buffer.concat([
        u32(0x06064b50),
        u64(44),
        u16((3 << 8) | 63),
        u16(45),
        u32(0),
        u32(0),
        u64(e.entries ?? count),
        u64(e.entries ?? count),
        u64(e.centralDirectorySize ?? centralSize),
        u64(e.centralDirectoryOffset ?? centralStart),
      ]),
    );
    push(Buffer.concat([u32(0x07064b50), u32(0), u64(zip64EocdOffset), u32(1)]));
  }
  push(
    Buffer.concat([
      u32(0x06054b50),
      u16(0),
      u16(0),
      u16(options.zip64Eocd ? 0xffff : (e.entries ?? count)),
      u16(options.zip64Eocd ? 0xffff : (e.entries ?? count)),
      u32(options.zip64Eocd ? 0xffffffff : (e.centralDirectorySize ?? centralSize)),
      u32(options.zip64Eocd ? 0xffffffff : (e.centralDirectoryOffset ?? centralStart)),
      u16(e.commentLength ?? comment.length),
      comment,
    ]),
  );
  if (options.trailing) push(options.trailing);
  return Buffer.concat(parts);
}

// ---- plugin descriptors -------------------------------------------------------------------------

export function classicDescriptor(overrides: Record<string, string | null> = {}): string {
  return descriptorText(
    {
      description: 'A test plugin',
      version: '1.0.0',
      name: 'test-plugin',
      classname: 'org.example.TestPlugin',
      'java.version': '17',
      'elasticsearch.version': '8.11.1',
    },
    overrides,
  );
}

export function stableDescriptor(overrides: Record<string, string | null> = {}): string {
  return descriptorText(
    {
      description: 'A stable test plugin',
      version: '1.0.0',
      name: 'stable-test-plugin',
      'java.version': '17',
      'elasticsearch.version': '8.11.1',
    },
    overrides,
  );
}

function descriptorText(base: Record<string, string>, overrides: Record<string, string | null>): string {
  const merged: Record<string, string | null> = { ...base, ...overrides };
  const lines = ['# Elasticsearch plugin descriptor'];
  for (const [key, value] of Object.entries(merged)) if (value !== null) lines.push(`${key}=${value}`);
  return `${lines.join('\n')}\n`;
}
