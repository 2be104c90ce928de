// Start-up and garbage collection as the repository grows: one fresh extrepo per level (10,000,
// 100,000 and 1,000,000 blobs on the embedded store, 10,000 and 100,000 on PostgreSQL + S3), over
// stores filled directly (blobs written into the blob store, 90 % of them referenced by extension
// rows inserted in bulk; 10 % orphans for the collection to remove). Measured per level, over two
// starts of the same stores:
//   1. time from spawning the process to /healthz answering (listening) and to /readyz answering 200;
//      the first collection, which runs in the background after listen, is the full sweep of a store
//      that was never swept (EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE raised so that one cycle does it
//      all): its duration (logged by the server) and the server's peak RSS (VmHWM) when it has finished;
//   2. a second start: its first collection is a regular cycle (the sweep is not due), which checks the
//      recorded candidates only and must list no blob, whatever the level.
// Targets: start-up flat (≤ 1.5× per level), GC memory flat (≤ 1.5× per level), full-sweep time linear
// (≤ the level factor), a regular cycle lists nothing. Blobs are empty files, or 1-byte objects: a
// collection's cost is per blob, not per byte.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { S3RVER_PLACEHOLDER } from '../../test/helpers/s3.js';
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
import { makeTempDir, readCpuSeconds, readMemory } from '../process.js';
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

/** The collection's result line (src/domain/housekeeping.ts). */
interface CollectionLine {
  durationMs: number;
  collected: number;
  listed: number;
  candidates: number;
  sweep: string;
}

interface StartMeasurement {
  listenMs: number;
  readyMs: number;
  gc: CollectionLine;
  /** extrepo's own CPU from /readyz 200 to the collection's result line (the sweep's work, not the store's). */
  gcCpuSeconds: number;
  peakRssMiB: number;
  readyRssMiB: number;
}

interface Measurement {
  level: number;
  /** The first start: its collection is the full sweep. */
  first: StartMeasurement;
  /** The second start: its collection is a regular cycle. */
  second: StartMeasurement;
  seedSeconds: number;
}

/** One cycle does the whole sweep, so that its time is the time of a full listing. */
const WHOLE_SWEEP_PER_CYCLE = '100000000';

export async function runStartupGc(ctx: StartupGcContext, backend: Backend, workDir: string): Promise<Row[]> {
  const levels = ctx.options.backend === 'postgres-s3' ? ctx.options.gcLevelsScaleOut : ctx.options.gcLevels;
  const measured: Measurement[] = [];
  for (const level of levels) {
    const dataDir = await makeTempDir(`extrepo-gc-${level}-`, workDir);
    const env = await backend.freshStores(`gc-${level}`);
    const seedStarted = Date.now();
    ctx.log(`startup-gc ${level}: writing ${level.toLocaleString('en-US')} blobs and their references`);
    await seed(env, dataDir, level, ctx, backend);
    const seedSeconds = (Date.now() - seedStarted) / 1000;
    ctx.log(`startup-gc ${level}: seeded in ${seedSeconds.toFixed(1)} s; starting extrepo`);
    const first = await measureStart(ctx, env, dataDir, level, 'full sweep');
    const expected = Math.ceil(level / ORPHAN_EVERY);
    if (first.gc.collected !== expected || first.gc.sweep !== 'finished' || first.gc.listed !== level) {
      throw new Error(
        `startup-gc ${level}: the full sweep listed ${first.gc.listed} and removed ${first.gc.collected} blobs (${first.gc.sweep}), expected ${level} and ${expected} (finished)`,
      );
    }
    const second = await measureStart(ctx, env, dataDir, level, 'regular cycle');
    if (second.gc.sweep !== 'idle')
      throw new Error(`startup-gc ${level}: the second start's collection was not a regular cycle (${second.gc.sweep})`);
    measured.push({ level, first, second, seedSeconds });
  }
  return rowsFor(measured);
}

async function seed(env: Record<string, string>, dataDir: string, count: number, ctx: StartupGcContext, backend: Backend): Promise<void> {
  if (env.EXTREPO_DATABASE_URL) await seedPostgres(env.EXTREPO_DATABASE_URL, count);
  else await seedSqlite(path.join(dataDir, 'extrepo.sqlite3'), count);
  if (env.EXTREPO_S3_BUCKET && backend.s3Directory) await seedS3rverFiles(env, backend.s3Directory, count, ctx);
  else if (env.EXTREPO_S3_BUCKET) await seedS3(env, count, ctx);
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
  // The promise of each directory's mkdir: a second writer into the same directory waits for the first's.
  const made = new Map<string, Promise<unknown>>();
  let lastReport = Date.now();
  await forEachLimited(
    Array.from({ length: count }, (_, i) => i),
    32,
    async (i) => {
      const hash = blobHash(i);
      const dir = path.join(root, 'sha256', hash.slice(0, 2), hash.slice(2, 4));
      if (!made.has(dir)) made.set(dir, mkdir(dir, { recursive: true }));
      await made.get(dir);
      await writeFile(path.join(dir, hash), '');
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        ctx.log(`startup-gc: ${i.toLocaleString('en-US')} blob files written`);
      }
    },
  );
}

/**
 * The objects written straight into s3rver's directory, in its layout (`<bucket>/<key>._S3rver_object`
 * and its `.md5`, which is what a PutObject leaves; the metadata file is optional to s3rver), plus the
 * placeholder test/helpers/s3.ts keeps in each prefix. Putting 100,000 objects one PutObject at a
 * time took s3rver over ten minutes on this machine (677 s for 10,000 under load); what is measured is
 * extrepo listing and collecting them through the S3 API, which reads them exactly as if put.
 */
async function seedS3rverFiles(env: Record<string, string>, directory: string, count: number, ctx: StartupGcContext): Promise<void> {
  const dir = path.join(directory, env.EXTREPO_S3_BUCKET!, `${env.EXTREPO_S3_PREFIX ?? ''}sha256`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, S3RVER_PLACEHOLDER), '');
  const md5 = createHash('md5').update(ONE_BYTE).digest('hex');
  let lastReport = Date.now();
  await forEachLimited(
    Array.from({ length: count }, (_, i) => i),
    32,
    async (i) => {
      const file = path.join(dir, `${blobHash(i)}._S3rver_object`);
      await writeFile(file, ONE_BYTE);
      await writeFile(`${file}.md5`, md5);
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        ctx.log(`startup-gc: ${i.toLocaleString('en-US')} objects written into s3rver's directory`);
      }
    },
  );
}

/** Through the S3 API, one PutObject per blob: for an S3 whose files the bench cannot reach. */
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
function finishedLine(server: Extrepo['server']): CollectionLine | null {
  for (const line of server
    .logs(64 * 1024)
    .split('\n')
    .reverse()) {
    if (!line.includes('start-up garbage collection finished')) continue;
    try {
      return JSON.parse(line) as CollectionLine;
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
  what: 'full sweep' | 'regular cycle',
): Promise<StartMeasurement> {
  const started = performance.now();
  // info: the collection's result line; no periodic collection after the first.
  const extrepo = await startExtrepo({
    dataDir,
    entry: ctx.options.serverEntry,
    env: { ...env, EXTREPO_LOG_LEVEL: 'info', EXTREPO_GC_INTERVAL_SECONDS: '0', EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE: WHOLE_SWEEP_PER_CYCLE },
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
    const readyCpu = readCpuSeconds(extrepo.server.pid) ?? 0;
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
    const gcCpuSeconds = (readCpuSeconds(extrepo.server.pid) ?? readyCpu) - readyCpu;
    ctx.log(
      `startup-gc ${level}: listening after ${listenMs.toFixed(0)} ms, ready after ${readyMs.toFixed(0)} ms; ` +
        `GC (${what}) ${finished.durationMs} ms (listed ${finished.listed}, candidates ${finished.candidates}, ` +
        `removed ${finished.collected}), extrepo CPU ${gcCpuSeconds.toFixed(1)} s, peak RSS ${peakRssMiB.toFixed(0)} MiB`,
    );
    return { listenMs, readyMs, gc: finished, gcCpuSeconds, peakRssMiB, readyRssMiB };
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
    const { first, second } = entry;
    rows.push(
      row('startup-listen', 'start-up to listening', 'ms', first.listenMs, previous?.first.listenMs, previous ? 1.5 : null, [
        `stores seeded directly in ${entry.seedSeconds.toFixed(1)} s (${ORPHAN_EVERY - 1} in ${ORPHAN_EVERY} blobs referenced); includes Node + tsx start.`,
      ]),
    );
    rows.push(row('startup-ready', 'start-up to /readyz 200', 'ms', first.readyMs, previous?.first.readyMs, previous ? 1.5 : null, []));
    rows.push(
      row('gc-time', 'full GC sweep (one cycle)', 'ms', first.gc.durationMs, previous?.first.gc.durationMs, factor, [
        `listed ${first.gc.listed.toLocaleString('en-US')} blobs and removed ${first.gc.collected.toLocaleString('en-US')} unreferenced ones; runs in the background after listen.`,
      ]),
    );
    rows.push(
      row('gc-cpu', "full GC sweep, extrepo's own CPU", 's', first.gcCpuSeconds, previous?.first.gcCpuSeconds, factor, [
        "the server process's user + system time from ready to the sweep's end: its share of the sweep, without the store's (s3rver and PostgreSQL are other processes).",
      ]),
    );
    rows.push(
      row('gc-peak-rss', 'server peak RSS after the sweep', 'MiB', first.peakRssMiB, previous?.first.peakRssMiB, previous ? 1.5 : null, [
        `RSS when ready: ${first.readyRssMiB.toFixed(0)} MiB.`,
      ]),
    );
    rows.push({
      id: `gc-regular-${entry.level}`,
      group: 'startup-gc',
      label: `regular GC cycle after the sweep, ${label} blobs`,
      unit: 'ms',
      extrepo: summarize([second.gc.durationMs]),
      baseline: null,
      baselineLabel: '',
      ratio: null,
      target: 'lists no blob',
      pass: second.gc.listed === 0,
      notes: [
        `second start of the same stores: listed ${second.gc.listed} blobs, checked ${second.gc.candidates} candidates; ` +
          `listening after ${second.listenMs.toFixed(0)} ms, peak RSS ${second.peakRssMiB.toFixed(0)} MiB.`,
      ],
    });
  });
  return rows;
}
