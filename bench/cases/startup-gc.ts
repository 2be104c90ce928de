// Start-up and garbage collection as the repository grows: one fresh extrepo per level (10,000 and
// 100,000 blobs by default, 1,000,000 on the embedded store with --gc-max 1000000), over stores
// filled directly (blobs written into the blob store, 90 % of them referenced by extension rows
// inserted in bulk; 10 % orphans for the collection to remove). Measured per level:
//   - time from spawning the process to /healthz answering (listening) and to /readyz answering 200;
//   - the first garbage collection, which runs in the background after listen: its duration (logged
//     by the server) and the server's peak RSS (VmHWM) when it has finished.
// Targets: start-up flat (≤ 1.5× per level), GC memory flat (≤ 1.5× per level), GC time linear
// (≤ the level factor). Blobs are empty files, or 1-byte objects: a collection's cost is per blob, not per byte.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openSqliteMetadataStore } from '../../src/stores/sqlite/sqlite-metadata-store.js';
import { openPostgresMetadataStore } from '../../src/stores/postgres/postgres-metadata-store.js';
import type { Backend } from '../backends.js';
import { forEachLimited } from '../client.js';
import type { BenchOptions } from '../context.js';
import { startExtrepo, type Extrepo } from '../extrepo.js';
import { makeTempDir, readMemory } from '../process.js';
import type { Row } from '../report.js';
import { summarize } from '../stats.js';

interface StartupGcContext {
  options: BenchOptions;
  log(message: string): void;
}

/** One blob in ORPHAN_EVERY is unreferenced. */
const ORPHAN_EVERY = 10;
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * A Buffer, not '': the SDK sends an empty string as a stream of unknown length, and s3rver then answered every
 * ListObjects of the prefix with a 500 (so the collection never finished).
 */
const ONE_BYTE = Buffer.from('x');
/** A collection that fails is retried every 30 s: give up (with the server's log) rather than wait forever. */
const GC_TIMEOUT_MS = 20 * 60 * 1000;

/** The hash of synthetic blob i; PostgreSQL computes the same one in SQL (see seedPostgres). */
const blobHash = (i: number) => createHash('sha256').update(`bench-blob-${i}`).digest('hex');

interface Measurement {
  level: number;
  listenMs: number;
  readyMs: number;
  gcMs: number;
  collected: number;
  peakRssMiB: number;
  readyRssMiB: number;
  seedSeconds: number;
}

export async function runStartupGc(ctx: StartupGcContext, backend: Backend, workDir: string): Promise<Row[]> {
  const levels = ctx.options.backend === 'postgres-s3' ? ctx.options.gcLevelsScaleOut : ctx.options.gcLevels;
  const measured: Measurement[] = [];
  for (const level of levels) {
    const dataDir = await makeTempDir(`extrepo-gc-${level}-`, workDir);
    const env = await backend.freshStores(`gc-${level}`);
    const seedStarted = Date.now();
    ctx.log(`startup-gc ${level}: writing ${level.toLocaleString('en-US')} blobs and their references`);
    await seed(env, dataDir, level, ctx);
    const seedSeconds = (Date.now() - seedStarted) / 1000;
    ctx.log(`startup-gc ${level}: seeded in ${seedSeconds.toFixed(1)} s; starting extrepo`);
    measured.push({ ...(await measureStart(ctx, env, dataDir, level)), seedSeconds });
  }
  return rowsFor(measured);
}

async function seed(env: Record<string, string>, dataDir: string, count: number, ctx: StartupGcContext): Promise<void> {
  if (env.EXTREPO_DATABASE_URL) await seedPostgres(env.EXTREPO_DATABASE_URL, count);
  else await seedSqlite(path.join(dataDir, 'extrepo.sqlite3'), count);
  if (env.EXTREPO_S3_BUCKET) await seedS3(env, count, ctx);
  else await seedFiles(path.join(dataDir, 'blobs'), count, ctx);
}

async function seedSqlite(file: string, count: number): Promise<void> {
  await (await openSqliteMetadataStore(file)).close(); // creates the schema
  const db = new Database(file);
  try {
    const insert = db.prepare(`INSERT INTO extensions (id, name, version, extension_type, file_sha256, file_size,
      file_uploaded_at, resource_version, created_at, modified_at) VALUES (?, ?, '*', 'bundle', ?, 0, ?, 1, ?, ?)`);
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        if (i % ORPHAN_EVERY === 0) continue;
        insert.run(String(1_000_000_000 + i), `gc-${i}`, blobHash(i), now, now, now);
      }
    })();
  } finally {
    db.close();
  }
}

async function seedPostgres(url: string, count: number): Promise<void> {
  await (await openPostgresMetadataStore({ url })).close(); // creates the schema
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO extensions (id, name, version, extension_type, file_sha256, file_size, file_uploaded_at,
         resource_version, created_at, modified_at)
       SELECT (1000000000 + i)::text, 'gc-' || i, '*', 'bundle', encode(sha256(convert_to('bench-blob-' || i, 'UTF8')), 'hex'),
         0, now(), 1, now(), now()
       FROM generate_series(0, $1 - 1) AS i WHERE i % $2 <> 0`,
      [count, ORPHAN_EVERY],
    );
  } finally {
    await client.end();
  }
}

/** Empty files in the fs blob store's layout (sha256/ab/cd/<hash>). */
async function seedFiles(root: string, count: number, ctx: StartupGcContext): Promise<void> {
  const made = new Set<string>();
  let lastReport = Date.now();
  await forEachLimited(
    Array.from({ length: count }, (_, i) => i),
    32,
    async (i) => {
      const hash = blobHash(i);
      const dir = path.join(root, 'sha256', hash.slice(0, 2), hash.slice(2, 4));
      if (!made.has(dir)) {
        made.add(dir);
        await mkdir(dir, { recursive: true });
      }
      await writeFile(path.join(dir, hash), '');
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        ctx.log(`startup-gc: ${i.toLocaleString('en-US')} blob files written`);
      }
    },
  );
}

async function seedS3(env: Record<string, string>, count: number, ctx: StartupGcContext): Promise<void> {
  const client = new S3Client({
    region: env.EXTREPO_S3_REGION ?? 'us-east-1',
    endpoint: env.EXTREPO_S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const prefix = env.EXTREPO_S3_PREFIX ?? '';
  let lastReport = Date.now();
  try {
    await forEachLimited(
      Array.from({ length: count }, (_, i) => i),
      16,
      async (i) => {
        await client.send(new PutObjectCommand({ Bucket: env.EXTREPO_S3_BUCKET, Key: `${prefix}sha256/${blobHash(i)}`, Body: ONE_BYTE }));
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          ctx.log(`startup-gc: ${i.toLocaleString('en-US')} objects put`);
        }
      },
    );
  } finally {
    client.destroy();
  }
}

async function probeStatus(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

/** The server's "start-up garbage collection finished" log line, once it has been written. */
function finishedLine(server: Extrepo['server']): { durationMs: number; collected: number } | null {
  for (const line of server.logs(64 * 1024).split('\n').reverse()) {
    if (!line.includes('start-up garbage collection finished')) continue;
    try {
      return JSON.parse(line) as { durationMs: number; collected: number };
    } catch {
      return null;
    }
  }
  return null;
}

async function measureStart(
  ctx: StartupGcContext,
  env: Record<string, string>,
  dataDir: string,
  level: number,
): Promise<Omit<Measurement, 'seedSeconds'>> {
  const started = performance.now();
  // info: the collection's result line; no periodic collection after the first.
  const extrepo = await startExtrepo({
    dataDir,
    entry: ctx.options.serverEntry,
    env: { ...env, EXTREPO_LOG_LEVEL: 'info', EXTREPO_GC_INTERVAL_SECONDS: '0' },
    echo: ctx.options.echo,
  });
  try {
    const listenMs = performance.now() - started;
    while ((await probeStatus(`${extrepo.server.baseUrl}/readyz`)) !== 200) {
      extrepo.server.assertRunning();
      await sleep(10);
    }
    const readyMs = performance.now() - started;
    const readyRssMiB = (readMemory(extrepo.server.pid)?.rssBytes ?? 0) / MiB;
    let finished = finishedLine(extrepo.server);
    const deadline = Date.now() + GC_TIMEOUT_MS;
    while (finished === null) {
      extrepo.server.assertRunning();
      if (Date.now() > deadline) {
        throw new Error(`startup-gc ${level}: no finished collection after ${GC_TIMEOUT_MS / 1000} s:\n${extrepo.server.logs()}`);
      }
      await sleep(50);
      finished = finishedLine(extrepo.server);
    }
    const peakRssMiB = (readMemory(extrepo.server.pid)?.hwmBytes ?? 0) / MiB;
    const expected = Math.ceil(level / ORPHAN_EVERY);
    if (finished.collected !== expected) {
      throw new Error(`startup-gc ${level}: the collection removed ${finished.collected} blobs, expected ${expected}`);
    }
    ctx.log(
      `startup-gc ${level}: listening after ${listenMs.toFixed(0)} ms, ready after ${readyMs.toFixed(0)} ms; ` +
        `GC ${finished.durationMs} ms (removed ${finished.collected}), peak RSS ${peakRssMiB.toFixed(0)} MiB`,
    );
    return { level, listenMs, readyMs, gcMs: finished.durationMs, collected: finished.collected, peakRssMiB, readyRssMiB };
  } finally {
    await extrepo.server.stop();
  }
}

function rowsFor(measured: Measurement[]): Row[] {
  const rows: Row[] = [];
  measured.forEach((entry, index) => {
    const previous = index > 0 ? measured[index - 1]! : null;
    const factor = previous ? entry.level / previous.level : null;
    const label = entry.level.toLocaleString('en-US');
    const previousLabel = previous ? `${previous.level.toLocaleString('en-US')} blobs` : '';
    const row = (id: string, what: string, unit: string, value: number, before: number | undefined, limit: number | null, notes: string[]): Row => {
      const ratio = before !== undefined && before > 0 ? value / before : null;
      return {
        id: `${id}-${entry.level}`,
        group: 'startup-gc',
        label: `${what}, ${label} blobs`,
        unit,
        extrepo: summarize([value]),
        baseline: before !== undefined ? summarize([before]) : null,
        baselineLabel: previousLabel,
        ratio,
        target: limit === null ? 'report only' : `growth ≤ ${limit}×`,
        pass: ratio === null || limit === null ? null : ratio <= limit,
        notes,
      };
    };
    rows.push(row('startup-listen', 'start-up to listening', 'ms', entry.listenMs, previous?.listenMs, previous ? 1.5 : null, [
      `stores seeded directly in ${entry.seedSeconds.toFixed(1)} s (${ORPHAN_EVERY - 1} in ${ORPHAN_EVERY} blobs referenced); includes Node + tsx start.`,
    ]));
    rows.push(row('startup-ready', 'start-up to /readyz 200', 'ms', entry.readyMs, previous?.readyMs, previous ? 1.5 : null, []));
    rows.push(row('gc-time', 'first garbage collection', 'ms', entry.gcMs, previous?.gcMs, factor, [
      `removed ${entry.collected.toLocaleString('en-US')} unreferenced blobs; runs in the background after listen.`,
    ]));
    rows.push(row('gc-peak-rss', 'server peak RSS after the collection', 'MiB', entry.peakRssMiB, previous?.peakRssMiB, previous ? 1.5 : null, [
      `RSS when ready: ${entry.readyRssMiB.toFixed(0)} MiB.`,
    ]));
  });
  return rows;
}
