// Test data: valid ZIP archives ("bundles") of incompressible bytes, written once per run.
//
// Entries are STORED (no compression) and added with a known CRC and size, so every local header
// carries the sizes (no data descriptors) and any zip validator, streaming or not, can check them.
// yazl keeps every added buffer until the archive ends, so the entries are windows into one shared
// random block, each shifted by a different offset: distinct bytes per entry, bounded memory.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import yazl from 'yazl';

const MiB = 1024 * 1024;
const ENTRY_BYTES = 64 * MiB;

export interface ZipFileInfo {
  path: string;
  size: number;
  sha256: string;
  entries: number;
}

/**
 * Writes a zip of about `targetBytes` (payload; headers add a few hundred bytes) to `filePath` and
 * returns its real size and sha256.
 */
export async function writeZipFile(filePath: string, targetBytes: number, seed = 1): Promise<ZipFileInfo> {
  const payload = Math.max(targetBytes, 1);
  const entryBytes = Math.min(ENTRY_BYTES, payload);
  const block = randomBytes(entryBytes + MiB);
  block.writeUInt32LE(seed >>> 0, 0);
  const zip = new yazl.ZipFile();
  const out = createWriteStream(filePath, { highWaterMark: 4 * MiB });
  const hash = createHash('sha256');
  let written = 0;
  const output = zip.outputStream;
  output.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    written += chunk.length;
    if (!out.write(chunk)) {
      output.pause();
      out.once('drain', () => output.resume());
    }
  });
  const outputDone = new Promise<void>((resolve, reject) => {
    output.on('end', resolve);
    output.on('error', reject);
    zip.on('error', reject);
    out.on('error', reject);
  });

  let remaining = payload;
  let entries = 0;
  while (remaining > 0) {
    const length = Math.min(remaining, entryBytes);
    const shift = (entries * 4099) % MiB;
    const name = `bench/data-${seed}-${String(entries).padStart(5, '0')}.bin`;
    zip.addBuffer(block.subarray(shift, shift + length), name, { compress: false });
    entries += 1;
    remaining -= length;
  }
  zip.end({ comment: variantComment(0), forceZip64Format: false });
  await outputDone;
  out.end();
  await once(out, 'finish');
  return { path: filePath, size: written, sha256: hash.digest('hex'), entries };
}

// The archive comment sits at the very end of the file and has a fixed length, so a new variant of
// the archive (a different sha256, same size, still valid) costs one small write plus a re-hash.
function variantComment(variant: number): string {
  return `extrepo-bench-variant-${String(variant).padStart(8, '0')}`;
}

/**
 * Rewrites the archive comment so the file's bytes — and sha256 — are new, keeping it a valid zip.
 * Every timed upload sends a new variant, so no content-addressed shortcut can skip work.
 */
export async function makeVariant(info: ZipFileInfo, variant: number): Promise<ZipFileInfo> {
  const comment = Buffer.from(variantComment(variant), 'latin1');
  const handle = await open(info.path, 'r+');
  try {
    const { bytesWritten } = await handle.write(comment, 0, comment.length, info.size - comment.length);
    if (bytesWritten !== comment.length) throw new Error('short write while patching the zip comment');
  } finally {
    await handle.close();
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(info.path, { highWaterMark: 4 * MiB }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
  }
  return { ...info, sha256: hash.digest('hex') };
}

/** A small zip held in memory; `unique` makes its bytes (and so its sha256) distinct. */
export async function makeZipBuffer(payloadBytes: number, unique: number): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const payload = randomBytes(payloadBytes);
  payload.writeUInt32LE(unique >>> 0, 0);
  zip.addBuffer(payload, `bench/small-${unique}.bin`, { compress: false });
  zip.addBuffer(Buffer.from(`{"name":"bench-${unique}"}\n`), 'bench/manifest.json', { compress: false });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
