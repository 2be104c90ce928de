// The machine's own limits, measured in the same run: how fast one core hashes, and how fast the data
// directory's filesystem takes a sequential write that ends in fsync. Uploads can go no faster than
// the slower of the two (the server hashes and writes every byte).
import { createHash, randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { mibPerSecond, summarize, type Summary } from '../stats.js';

const MiB = 1024 * 1024;

export async function measureSha256(runs: number, secondsPerRun = 1): Promise<Summary> {
  const buffer = randomBytes(64 * MiB);
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    let bytes = 0;
    const started = process.hrtime.bigint();
    let elapsed = 0;
    do {
      createHash('sha256').update(buffer).digest();
      bytes += buffer.length;
      elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    } while (elapsed < secondsPerRun);
    samples.push(mibPerSecond(bytes, elapsed));
  }
  return summarize(samples);
}

export async function measureWriteFsync(dir: string, bytes: number, runs: number): Promise<Summary> {
  const block = randomBytes(MiB);
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const file = path.join(dir, `write-test-${run}.bin`);
    const started = process.hrtime.bigint();
    const handle = await open(file, 'w');
    try {
      for (let offset = 0; offset < bytes; offset += block.length) {
        block.writeUInt32LE(offset / MiB, 0);
        await handle.write(block, 0, Math.min(block.length, bytes - offset));
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    samples.push(mibPerSecond(bytes, Number(process.hrtime.bigint() - started) / 1e9));
    await unlink(file);
  }
  return summarize(samples);
}
