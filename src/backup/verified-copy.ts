// Copies one blob between blob stores, recomputing its sha256 on the way: the copy is committed only
// if its bytes are the ones its name promises, so a backup or a restore never carries a corrupt file.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../stores/blob-store.js';

export class CorruptBlobError extends Error {
  override name = 'CorruptBlobError';
}

export async function copyBlobVerified(from: BlobStore, to: BlobStore, sha256: string, size: number): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const upload = await to.beginUpload();
  try {
    await pipeline(await from.open(sha256), tap, upload.writable);
    const actual = hash.digest('hex');
    if (actual !== sha256 || bytes !== size) {
      throw new CorruptBlobError(
        `blob ${sha256} is corrupt: its ${bytes} bytes hash to ${actual}, where the database expects ${size} bytes with that hash`,
      );
    }
    await upload.commit(sha256);
  } catch (error) {
    await upload.abort();
    throw error;
  }
}
