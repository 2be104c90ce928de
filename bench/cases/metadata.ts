// GET /deployments/extensions/{id} under load (autocannon), against a bare Fastify route that returns
// the same JSON from memory, in its own process: first on the server as the run found it, then again
// after at least 4 GiB more of uploads and downloads through the same process ("aged").
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { download, request } from '../client.js';
import { makeVariant } from '../data.js';
import { profileArgs, sidesInOrder, type BenchContext } from '../context.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, readCpuSplit, RssSampler, startServer } from '../process.js';
import { checkStored, cpuNote, sizeLabel, TSX_NOTE } from './upload.js';
import { pairedRow, type Row } from '../report.js';
import { median, summarize } from '../stats.js';

const MiB = 1024 * 1024;

function load(url: string, headers: Record<string, string>, seconds: number, connections: number): PromiseLike<Result> {
  return autocannon({ url, headers, connections, duration: seconds, timeout: 10 });
}

function checkLoad(side: string, result: Result): void {
  if (result.errors > 0 || result.non2xx > 0 || result['2xx'] === 0) {
    throw new Error(`${side} metadata load: ${result.errors} errors, ${result.non2xx} non-2xx, statuses ${JSON.stringify(result.statusCodeStats)}`);
  }
}

interface Measured {
  rates: { extrepo: number[]; baseline: number[] };
  p99: { extrepo: number[]; baseline: number[] };
  cpu: { extrepo: number[]; baseline: number[] };
  /** The kernel's share of that CPU time (system time), µs per request. */
  sys: { extrepo: number[]; baseline: number[] };
}

/** Alternating autocannon runs against extrepo and the bare route (after one warm-up run each). */
async function measure(
  ctx: BenchContext,
  urls: { extrepo: string; baseline: string },
  auth: Record<string, string>,
  pids: { extrepo: number; baseline: number },
  phase: string,
): Promise<Measured> {
  const { loadSeconds, loadRuns, metadataConnections } = ctx.options;
  const result: Measured = {
    rates: { extrepo: [], baseline: [] },
    p99: { extrepo: [], baseline: [] },
    cpu: { extrepo: [], baseline: [] },
    sys: { extrepo: [], baseline: [] },
  };
  for (const side of ['extrepo', 'baseline'] as const) {
    checkLoad(side, await load(urls[side], auth, 1, metadataConnections)); // warm-up
  }
  for (let run = 0; run < loadRuns; run++) {
    for (const side of sidesInOrder(run)) {
      ctx.extrepo.server.assertRunning();
      const before = readCpuSplit(pids[side]);
      const answer = await load(urls[side], auth, loadSeconds, metadataConnections);
      const after = readCpuSplit(pids[side]);
      if (before !== null && after !== null) {
        const perRequest = (seconds: number) => (seconds / answer.requests.total) * 1e6;
        result.cpu[side].push(perRequest(after.user + after.system - before.user - before.system));
        result.sys[side].push(perRequest(after.system - before.system));
      }
      checkLoad(side, answer);
      result.rates[side].push(answer.requests.total / answer.duration);
      result.p99[side].push(answer.latency.p99);
    }
    ctx.log(
      `metadata (${phase}) run ${run + 1}/${loadRuns}: extrepo ${result.rates.extrepo.at(-1)?.toFixed(0)} req/s ` +
        `p99 ${result.p99.extrepo.at(-1)} ms, bare ${result.rates.baseline.at(-1)?.toFixed(0)} req/s p99 ${result.p99.baseline.at(-1)} ms`,
    );
  }
  return result;
}

/**
 * Moves at least `bytes` of uploads and downloads through extrepo (a new file for one extension, then
 * the download target, in turn), so the next measurement sees a process that has been up and busy for
 * a while, as it is when a rollout's nodes all ask at once. Returns the bytes moved.
 */
async function ageServer(ctx: BenchContext, bytes: number): Promise<{ moved: number; uploads: number; downloads: number }> {
  const url = ctx.state.downloadExtension?.file_metadata?.url;
  if (!url) throw new Error('the download target was not prepared');
  const extension = await ctx.extrepo.create('bench-aging', 'given a new file again and again before the aged metadata GET');
  let moved = 0;
  let uploads = 0;
  let downloads = 0;
  while (moved < bytes) {
    const file = await makeVariant(ctx.data, 50_000_000 + uploads);
    checkStored(await ctx.extrepo.uploadFile(extension.id, file.path, file.size), file);
    uploads += 1;
    moved += file.size;
    const got = await download(url);
    if (got.status !== 200 || got.bytes !== ctx.data.size) throw new Error(`aging download answered ${got.status} with ${got.bytes} bytes`);
    downloads += 1;
    moved += got.bytes;
  }
  return { moved, uploads, downloads };
}

function metadataRows(ctx: BenchContext, measured: Measured, suffix: string, labelTail: string, notes: string[], bodyBytes: number): Row[] {
  const { metadataConnections } = ctx.options;
  const extrepoP99 = summarize(measured.p99.extrepo);
  const baselineP99 = summarize(measured.p99.baseline);
  return [
    pairedRow(
      {
        id: `metadata-get${suffix}`,
        group: 'metadata-get',
        label: `GET /deployments/extensions/{id}, ${metadataConnections} connections${labelTail}`,
        unit: 'req/s',
        baselineLabel: 'bare Fastify',
        target: `≥ ${RATE_TARGET}× bare route`,
        notes: [
          ...notes,
          `response body ${bodyBytes} bytes.`,
          cpuNote('µs per request', measured.cpu.extrepo, measured.cpu.baseline),
          `of which system time: extrepo ${median(measured.sys.extrepo).toFixed(1)}, baseline ${median(measured.sys.baseline).toFixed(1)} µs per request.`,
        ],
      },
      measured.rates,
      RATE_TARGET,
    ),
    {
      id: `metadata-get${suffix}-p99`,
      group: 'metadata-get',
      label: `GET /deployments/extensions/{id}, p99 latency${labelTail}`,
      unit: 'ms',
      extrepo: extrepoP99,
      baseline: baselineP99,
      baselineLabel: 'bare Fastify',
      ratio: extrepoP99.median / baselineP99.median,
      target: `< ${P99_TARGET_MS} ms`,
      pass: extrepoP99.median < P99_TARGET_MS,
      notes: [],
    },
  ];
}

/**
 * extrepo gives memory back once no transfer has been in flight for EXTREPO_MEMORY_TRIM_IDLE_MS (2 s by
 * default: docs/deployment.md). Idle means past that point, as a server between deployments is; the
 * cases before this one may have ended a transfer a moment ago.
 */
const IDLE_SETTLE_MS = 3000;

/** Median RSS (MiB) of extrepo and of the bare Fastify process, both idle, over the same second. */
async function idleRss(ctx: BenchContext, bareRss: RssSampler): Promise<{ extrepo: number; baseline: number }> {
  await sleep(IDLE_SETTLE_MS);
  const closeExtrepo = ctx.extrepoRss.begin();
  const closeBare = bareRss.begin();
  await sleep(1000);
  return { extrepo: median(closeExtrepo()) / MiB, baseline: median(closeBare()) / MiB };
}

function memoryRows(ctx: BenchContext, idle: { extrepo: number; baseline: number }, serving: { extrepo: number; baseline: number }): Row[] {
  const fromSource = ctx.options.serverEntry.endsWith('.js') ? [] : [TSX_NOTE + ' The bare Fastify process runs through tsx too.'];
  return [
    {
      id: 'rss-idle',
      group: 'metadata-get',
      label: 'server idle RSS (before the metadata load, 3 s after the last transfer)',
      unit: 'MiB',
      extrepo: summarize([idle.extrepo]),
      baseline: summarize([idle.baseline]),
      baselineLabel: 'bare Fastify',
      ratio: idle.extrepo / idle.baseline,
      target: '< 100 MiB',
      pass: idle.extrepo < 100,
      notes: fromSource,
    },
    {
      id: 'rss-serving-peak',
      group: 'metadata-get',
      label: `server peak RSS while serving the metadata GET (${ctx.options.metadataConnections} connections, aged server)`,
      unit: 'MiB',
      extrepo: summarize([serving.extrepo]),
      baseline: summarize([serving.baseline]),
      baselineLabel: 'bare Fastify',
      ratio: serving.extrepo / serving.baseline,
      target: 'report only',
      pass: null,
      notes: [],
    },
  ];
}

/** Issue 11's targets: on a fresh server and on one that has moved gigabytes. */
const RATE_TARGET = 0.8;
const P99_TARGET_MS = 10;

export async function runMetadataGets(ctx: BenchContext): Promise<Row[]> {
  const extension = ctx.state.downloadExtension;
  if (!extension) throw new Error('the download target was not prepared');
  const extrepoUrl = `${ctx.extrepo.api}/${encodeURIComponent(extension.id)}`;
  const auth = { authorization: ctx.extrepo.authHeader };

  // The bare route serves exactly what extrepo answers for this extension.
  const served = await request(extrepoUrl, { method: 'GET', headers: auth });
  const jsonFile = path.join(ctx.workDir, 'extension.json');
  await writeFile(jsonFile, served.body);
  const port = await freePort();
  const bare = await startServer({
    name: 'bare-fastify',
    args: [
      ...profileArgs(ctx.options, 'bare-fastify'),
      '--import',
      'tsx',
      'bench/baselines.ts',
      'metadata',
      '--port',
      String(port),
      '--json',
      jsonFile,
    ],
    port,
    echo: ctx.options.echo,
  });
  ctx.log(`metadata: bare Fastify route pid ${bare.pid} at ${bare.baseUrl}`);
  try {
    const urls = { extrepo: extrepoUrl, baseline: `${bare.baseUrl}/api/v1/deployments/extensions/${extension.id}` };
    const pids = { extrepo: ctx.extrepo.server.pid, baseline: bare.pid };
    const bareRss = new RssSampler(bare.pid).start();
    const idle = await idleRss(ctx, bareRss);
    const asIs = await measure(ctx, urls, auth, pids, 'as the run found it');
    const rows = metadataRows(ctx, asIs, '', '', ['the server as the run found it (after the cases before this one, if any).'], served.body.length);

    ctx.log(`metadata: aging the server with ${sizeLabel(ctx.options.agedBytes)} of uploads and downloads`);
    const aging = await ageServer(ctx, ctx.options.agedBytes);
    const closeExtrepo = ctx.extrepoRss.begin();
    const closeBare = bareRss.begin();
    const aged = await measure(ctx, urls, auth, pids, 'aged');
    const serving = { extrepo: Math.max(...closeExtrepo()) / MiB, baseline: Math.max(...closeBare()) / MiB };
    bareRss.stop();
    const agedNote =
      `after ${sizeLabel(aging.moved)} more through the same process (${aging.uploads} uploads of a new file, ` +
      `${aging.downloads} downloads, ${sizeLabel(ctx.data.size)} each); --aged-gib sets the amount.`;
    rows.push(...metadataRows(ctx, aged, '-aged', `, aged server`, [agedNote], served.body.length));
    rows.push(...memoryRows(ctx, idle, serving));
    return rows;
  } finally {
    await bare.stop();
  }
}
