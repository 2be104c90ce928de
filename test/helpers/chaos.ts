// A chaos run: two extrepo processes over one PostgreSQL database and one S3 bucket, clients sending
// a mix of creates, uploads, downloads, updates and deletes to both, and one instance killed with
// SIGKILL again and again (and started again). Afterwards the ledger is checked against what the
// clients were told: every answered write is present, every answered delete is gone, every link
// serves bytes matching its sha256, no answer was a 5xx, and after a garbage collection no blob is
// left that nothing references. Used by test/chaos.test.ts (short) and bench/chaos.ts (long).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { zipOf } from './archives.js';
import { bucketView } from './bucket.js';
import { startInstance, type Instance } from './instance.js';

const run = promisify(execFile);
const EXT = '/api/v1/deployments/extensions';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export interface ChaosOptions {
  /** A fresh database and bucket (freshSharedStorage().env) plus EXTREPO_ADMIN_API_KEY. */
  env: Record<string, string>;
  adminKey: string;
  /** SIGKILLs of one instance; the load runs until the last one has been restarted and `minDurationMs` is over. */
  kills: number;
  killEveryMs: number;
  minDurationMs?: number;
  clients: number;
  /** Largest uploaded file (default 2 MiB): big enough for a kill to land mid-upload. */
  maxFileBytes?: number;
  log?: (message: string) => void;
}

export interface ChaosReport {
  requests: number;
  /** Requests that got an HTTP answer (the others met a killed instance). */
  answered: number;
  kills: number;
  writes: number;
  deletes: number;
  downloadsChecked: number;
  /** Everything that broke a promise; empty when the run held up. */
  failures: string[];
}

interface Answer {
  status: number;
  body: any;
  text: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const maxFileBytes = options.maxFileBytes ?? 2 * 1024 * 1024;
  const report: ChaosReport = { requests: 0, answered: 0, kills: 0, writes: 0, deletes: 0, downloadsChecked: 0, failures: [] };
  /** Answered uploads: id → sha256 of the file the client was told is stored. */
  const written = new Map<string, string>();
  /** Answered deletes. */
  const deleted = new Set<string>();

  const [stable, first] = await Promise.all([startInstance(options.env), startInstance(options.env)]);
  let victim: Instance | null = first;
  const instances = () => [stable, ...(victim ? [victim] : [])];

  const call = async (instance: Instance, method: string, path: string, init: { json?: unknown; body?: Buffer } = {}): Promise<Answer | null> => {
    const headers: Record<string, string> = { authorization: `ApiKey ${options.adminKey}` };
    let body: string | Buffer | undefined = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] = 'application/json';
    } else if (init.body !== undefined) {
      headers['content-type'] = 'application/zip';
    }
    report.requests++;
    try {
      const response = await fetch(instance.url + path, { method, headers, body: body as BodyInit | undefined });
      const text = await response.text();
      report.answered++;
      if (response.status >= 500) report.failures.push(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
      return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
    } catch {
      return null; // the instance was killed before answering: the outcome is unknown
    }
  };

  const checkDownload = async (instance: Instance, id: string, expected: string): Promise<void> => {
    const read = await call(instance, 'GET', `${EXT}/${id}`);
    if (read === null) return;
    if (read.status !== 200 || read.body.file_metadata?.sha256 !== expected) {
      report.failures.push(`GET ${id}: ${read.status}, sha256 ${String(read.body?.file_metadata?.sha256)}, expected ${expected}`);
      return;
    }
    const link = new URL(read.body.file_metadata.url as string);
    try {
      const response = await fetch(instance.url + link.pathname + link.search);
      const bytes = Buffer.from(await response.arrayBuffer());
      report.downloadsChecked++;
      if (response.status !== 200 || sha256(bytes) !== expected) {
        report.failures.push(`download of ${id}: ${response.status}, ${bytes.length} bytes with sha256 ${sha256(bytes)}, expected ${expected}`);
      }
    } catch {
      // killed mid-download
    }
  };

  const minimumEnd = Date.now() + (options.minDurationMs ?? 0);
  let killing = true;
  const client = async (index: number) => {
    let counter = 0;
    const mine: string[] = [];
    while (killing || Date.now() < minimumEnd) {
      const pool = instances();
      const instance = pool[Math.floor(Math.random() * pool.length)]!;
      const roll = Math.random();
      if (roll < 0.45 || mine.length === 0) {
        const created = await call(instance, 'POST', EXT, { json: { name: `chaos-${index}-${counter++}`, version: '*', extension_type: 'bundle' } });
        if (created?.status !== 201) continue;
        const id = created.body.id as string;
        const zip = await zipOf({ 'data.bin': randomBytes(Math.floor(Math.random() * maxFileBytes)) }, { compress: false });
        const uploaded = await call(instance, 'PUT', `${EXT}/${id}`, { body: zip });
        if (uploaded?.status === 200) {
          if (uploaded.body.file_metadata?.sha256 !== sha256(zip)) report.failures.push(`upload of ${id} answered another sha256`);
          written.set(id, sha256(zip));
          mine.push(id);
          report.writes++;
        }
      } else if (roll < 0.75) {
        const id = mine[Math.floor(Math.random() * mine.length)]!;
        await checkDownload(instance, id, written.get(id)!);
      } else if (roll < 0.85) {
        const id = mine[Math.floor(Math.random() * mine.length)]!;
        const updated = await call(instance, 'POST', `${EXT}/${id}`, { json: { name: `renamed-${id}`, version: '*', extension_type: 'bundle' } });
        if (updated !== null && updated.status !== 200) report.failures.push(`update of ${id} answered ${updated.status}: ${updated.text}`);
      } else {
        const at = Math.floor(Math.random() * mine.length);
        const id = mine[at]!;
        mine.splice(at, 1);
        const answer = await call(instance, 'DELETE', `${EXT}/${id}`);
        // Unanswered: it may or may not have happened, so the id leaves the ledger either way.
        written.delete(id);
        if (answer?.status === 200) {
          deleted.add(id);
          report.deletes++;
        } else if (answer !== null) {
          report.failures.push(`delete of ${id} answered ${answer.status}: ${answer.text}`);
        }
      }
    }
  };

  const killer = async () => {
    try {
      while (report.kills < options.kills) {
        await new Promise((resolve) => setTimeout(resolve, options.killEveryMs));
        const doomed = victim;
        victim = null;
        await doomed?.kill();
        report.kills++;
        log(`chaos: kill ${report.kills}; ${report.requests} requests so far`);
        victim = await startInstance(options.env);
      }
      // A little load on the restarted instance too.
      await new Promise((resolve) => setTimeout(resolve, options.killEveryMs));
    } finally {
      killing = false;
    }
  };

  const referenced = new Set<string>();
  try {
    await Promise.all([killer(), ...Array.from({ length: options.clients }, (_, index) => client(index))]);
    log(`chaos: load over (${report.requests} requests, ${report.kills} kills); checking the ledger`);

    for (const [id, expected] of written) await checkDownload(stable, id, expected);
    for (const id of deleted) {
      const answer = await call(stable, 'GET', `${EXT}/${id}`);
      if (answer?.status !== 404) report.failures.push(`deleted ${id} still answers ${answer?.status}`);
    }
    const list = await call(stable, 'GET', EXT);
    for (const extension of (list?.body.extensions ?? []) as Array<{ file_metadata?: { sha256: string } }>) {
      if (extension.file_metadata) referenced.add(extension.file_metadata.sha256);
    }
  } finally {
    await Promise.allSettled([stable.stop(), victim?.stop()]);
  }

  // Nothing runs now, so a collection without grace period may take everything unreferenced.
  await run(process.execPath, ['--no-warnings', '--import', 'tsx', 'src/tools/gc.ts'], {
    env: { PATH: process.env.PATH ?? '', ...options.env, EXTREPO_GC_GRACE_SECONDS: '0', EXTREPO_LOG_LEVEL: 'warn' },
  });
  const bucket = bucketView(options.env);
  try {
    const keys = await bucket.keys();
    const blobs = new Set(keys.filter((key) => key.startsWith('sha256/')).map((key) => key.slice('sha256/'.length)));
    for (const blob of blobs) if (!referenced.has(blob)) report.failures.push(`orphan blob ${blob} after garbage collection`);
    for (const hash of referenced) if (!blobs.has(hash)) report.failures.push(`referenced blob ${hash} is missing`);
    const leftovers = keys.filter((key) => !key.startsWith('sha256/'));
    if (leftovers.length > 0) report.failures.push(`leftovers after garbage collection: ${leftovers.slice(0, 5).join(', ')}`);
  } finally {
    bucket.close();
  }
  return report;
}
