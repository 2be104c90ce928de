// extrepo-test-backends: none
// The CLI's sha256 on a worker thread (src/cli/threaded-sha256.ts) gives the digest node:crypto
// gives, whatever the chunking, holds the caller back when the worker falls behind, and ends its
// worker either way.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { threadedSha256 } from '../src/cli/threaded-sha256.js';

const MiB = 1024 * 1024;

async function digestOf(chunks: Buffer[]): Promise<{ digest: string; waits: number }> {
  const hash = threadedSha256();
  let waits = 0;
  for (const chunk of chunks) {
    const caughtUp = hash.update(chunk);
    if (caughtUp !== undefined) {
      waits += 1;
      await caughtUp;
    }
  }
  return { digest: await hash.digest(), waits };
}

const expected = (chunks: Buffer[]) => createHash('sha256').update(Buffer.concat(chunks)).digest('hex');

test('the digest is that of node:crypto for chunks smaller than, equal to and larger than a batch, and for nothing', async () => {
  const cases: Buffer[][] = [
    [],
    [Buffer.alloc(0)],
    [Buffer.from('abc')],
    [randomBytes(4 * MiB)],
    [randomBytes(4 * MiB - 1), randomBytes(1), randomBytes(1)],
    [randomBytes(9 * MiB + 17)],
    Array.from({ length: 300 }, (_, i) => randomBytes(1 + ((i * 7919) % 65_536))),
  ];
  for (const chunks of cases) assert.equal((await digestOf(chunks)).digest, expected(chunks));
});

test('a caller far ahead of the worker is asked to wait, and nothing is lost meanwhile', async () => {
  // 24 batches handed over at once: more than may wait for the worker.
  const chunks = Array.from({ length: 24 }, () => randomBytes(4 * MiB));
  const { digest, waits } = await digestOf(chunks);
  assert.ok(waits > 0, 'update asked to wait at least once');
  assert.equal(digest, expected(chunks));
});

test('destroy ends the worker without a digest, so a failed transfer leaves nothing running', async () => {
  const hash = threadedSha256();
  void hash.update(randomBytes(5 * MiB));
  await hash.destroy();
  // A worker left running would keep this file's process from exiting, and the run would time out.
  assert.equal(
    await hash.digest().then(
      () => 'digest',
      () => 'refused',
    ),
    'refused',
    'no digest after destroy',
  );
});
