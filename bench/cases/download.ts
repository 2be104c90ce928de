// Downloads through the signed file_metadata.url: the whole file (one stream, and 8 in parallel), and
// 1 MiB ranges at random offsets (1, 4 and 8 connections), against two baselines serving the same
// file in the same run: a plain node:http server streaming it from disk, and nginx with Debian's
// packaged defaults (`sendfile on`; bench/nginx.ts), when it is installed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { download, loadLoop, type DownloadResult, type LoadResult } from '../client.js';
import type { BenchContext } from '../context.js';
import { pairedRow, type Row } from '../report.js';
import { mibPerSecond, percentile, seededRandom, summarize } from '../stats.js';
import { withGroupCpu } from '../process.js';
import { cpuNote, sizeLabel } from './upload.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The issue's target against nginx, for whole files and ranges alike. */
const NGINX_TARGET = 0.9;

type Side = 'extrepo' | 'baseline' | 'nginx';

interface Targets {
  urls: Partial<Record<Side, string>>;
  pids: Partial<Record<Side, number>>;
  sides: Side[];
}

function targets(ctx: BenchContext): Targets {
  const url = ctx.state.downloadExtension?.file_metadata?.url;
  const sha = ctx.state.baselineFileSha;
  if (!url || !sha) throw new Error('the download target was not prepared');
  const urls: Partial<Record<Side, string>> = { extrepo: url, baseline: `${ctx.baseline.baseUrl}/files/${sha}` };
  const pids: Partial<Record<Side, number>> = { extrepo: ctx.extrepo.server.pid, baseline: ctx.baseline.pid };
  if (ctx.nginx) {
    urls.nginx = ctx.nginx.fileUrl(sha);
    pids.nginx = ctx.nginx.server.pid;
  }
  return { urls, pids, sides: ctx.nginx ? ['extrepo', 'baseline', 'nginx'] : ['extrepo', 'baseline'] };
}

/** Run i measures the sides rotated by i, every other run in reverse: each side goes first, middle and last. */
function sidesFor(run: number, sides: Side[]): Side[] {
  const shift = Math.floor(run / 2) % sides.length;
  const rotated = [...sides.slice(shift), ...sides.slice(0, shift)];
  return run % 2 === 0 ? rotated : rotated.reverse();
}

const CURL = ['/usr/bin/curl', '/usr/local/bin/curl'].find((candidate) => existsSync(candidate)) ?? null;

/** One download with curl (what the issue's figures were taken with), bytes discarded. */
function curlDownload(url: string): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(CURL!, ['-s', '-S', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('error', reject);
    // 'close', not 'exit': the process can end before its stdout has been read, and the status line
    // then read as '' (status 0; seen on a quiet CI machine, and once under load).
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const [status, bytes] = out.trim().split(' ').map(Number);
      if (code !== 0) reject(new Error(`curl exited with ${code}: ${err.trim()}`));
      else resolve({ status: status ?? 0, bytes: bytes ?? 0, seconds });
    });
  });
}

/** `streams` downloads of the whole file at once (each its own connection); total bytes over the wall time. */
async function downloadStreams(url: string, streams: number): Promise<DownloadResult> {
  const started = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: streams }, () => (CURL ? curlDownload(url) : download(url))));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const bad = results.find((result) => result.status !== 200);
  return { status: bad?.status ?? 200, bytes: results.reduce((sum, result) => sum + result.bytes, 0), seconds };
}

type Samples = Record<Side, number[]>;
const emptySamples = (): Samples => ({ extrepo: [], baseline: [], nginx: [] });

/** The paired rows of one measurement: extrepo against the plain server, and against nginx. */
function rowsFor(
  base: { id: string; group: string; label: string; unit: string; target: string; atLeast: number; cpuUnit: string; notes: string[] },
  values: Samples,
  cpu: Samples,
  ctx: BenchContext,
): Row[] {
  const rows: Row[] = [
    pairedRow(
      {
        id: base.id,
        group: base.group,
        label: base.label,
        unit: base.unit,
        baselineLabel: 'plain http',
        target: `${base.target} baseline`,
        notes: [...base.notes, cpuNote(base.cpuUnit, cpu.extrepo, cpu.baseline)],
      },
      { extrepo: values.extrepo, baseline: values.baseline },
      base.atLeast,
    ),
  ];
  const nginxRow = {
    id: `${base.id}-nginx`,
    group: base.group,
    label: `${base.label}, vs nginx`,
    unit: base.unit,
    baselineLabel: 'nginx sendfile',
    target: '≥ 0.9× nginx',
  };
  if (ctx.nginx) {
    rows.push(
      pairedRow(
        { ...nginxRow, notes: [cpuNote(base.cpuUnit, cpu.extrepo, cpu.nginx).replace('baseline', 'nginx (master + workers)')] },
        { extrepo: values.extrepo, baseline: values.nginx },
        NGINX_TARGET,
      ),
    );
  } else {
    rows.push({
      ...nginxRow,
      extrepo: summarize(values.extrepo),
      baseline: null,
      ratio: null,
      pass: null,
      notes: [ctx.nginxMissing ?? 'nginx was not started'],
    });
  }
  return rows;
}

async function fullDownloads(ctx: BenchContext, streams: number): Promise<Row[]> {
  const { urls, pids, sides } = targets(ctx);
  const values = emptySamples();
  const cpu = emptySamples();
  // 8 streams move 8× the bytes: fewer runs keep the case's time in proportion.
  const runs = streams === 1 ? ctx.options.runs : Math.min(ctx.options.runs, 3);
  for (let run = 0; run < runs; run++) {
    for (const side of sidesFor(run, sides)) {
      ctx.extrepo.server.assertRunning();
      const { value: result, cpuSeconds } = await withGroupCpu(pids[side]!, () => downloadStreams(urls[side]!, streams));
      if (result.status !== 200) throw new Error(`${side} download answered ${result.status}`);
      if (result.bytes !== ctx.data.size * streams) {
        throw new Error(`${side} sent ${result.bytes} bytes, expected ${ctx.data.size * streams}`);
      }
      cpu[side].push(cpuSeconds / (result.bytes / GiB));
      values[side].push(mibPerSecond(result.bytes, result.seconds));
    }
    ctx.log(
      `download ${streams} stream(s) run ${run + 1}/${runs}: ` + sides.map((side) => `${side} ${values[side].at(-1)?.toFixed(0)} MiB/s`).join(', '),
    );
  }
  const client = CURL ? 'curl' : 'node:http (curl not found)';
  return rowsFor(
    {
      id: streams === 1 ? 'download-full' : `download-full-${streams}`,
      group: 'download-full',
      label: `download ${sizeLabel(ctx.data.size)} via file_metadata.url${streams === 1 ? '' : `, ${streams} parallel streams (total)`}`,
      unit: 'MiB/s',
      target: '≥ 0.9×',
      atLeast: 0.9,
      cpuUnit: 's per GiB',
      notes: [`client: ${client}, one connection per stream${runs < ctx.options.runs ? `; ${runs} runs` : ''}.`],
    },
    values,
    cpu,
    ctx,
  );
}

export async function runFullDownloads(ctx: BenchContext): Promise<Row[]> {
  const { urls, sides } = targets(ctx);
  // One untimed pass each, so all read from a warm page cache.
  for (const side of sides) await download(urls[side]!);
  return [...(await fullDownloads(ctx, 1)), ...(await fullDownloads(ctx, 8))];
}

/** 1 MiB ranges at random offsets; the seeded sequence is the same for every side. */
function rangeLoad(url: string, fileSize: number, seconds: number, connections: number): Promise<LoadResult> {
  const span = Math.max(1, fileSize - MiB);
  const random = seededRandom(20240611);
  const length = Math.min(MiB, fileSize);
  return loadLoop(
    url,
    () => {
      const start = Math.floor(random() * span);
      return { range: `bytes=${start}-${start + length - 1}` };
    },
    connections,
    seconds,
  );
}

function checkLoad(side: string, result: LoadResult, fileSize: number): void {
  const partial = result.statuses[206] ?? 0;
  const expectedBytes = partial * Math.min(MiB, fileSize);
  if (partial !== result.requests || partial === 0 || result.bytes !== expectedBytes) {
    throw new Error(`${side} range load: statuses ${JSON.stringify(result.statuses)}, ${result.bytes} bytes for ${partial} ranges`);
  }
}

async function rangeDownloads(ctx: BenchContext, connections: number): Promise<Row[]> {
  const { urls, pids, sides } = targets(ctx);
  const { loadSeconds, loadRuns } = ctx.options;
  const rates = emptySamples();
  const p99 = emptySamples();
  const cpu = emptySamples();
  for (let run = 0; run < loadRuns; run++) {
    for (const side of sidesFor(run, sides)) {
      ctx.extrepo.server.assertRunning();
      const { value: result, cpuSeconds } = await withGroupCpu(pids[side]!, () => rangeLoad(urls[side]!, ctx.data.size, loadSeconds, connections));
      checkLoad(side, result, ctx.data.size);
      cpu[side].push((cpuSeconds / result.requests) * 1000);
      rates[side].push(result.requests / result.seconds);
      p99[side].push(percentile(result.latencies, 99));
    }
    ctx.log(
      `range (${connections} connections) run ${run + 1}/${loadRuns}: ` +
        sides.map((side) => `${side} ${rates[side].at(-1)?.toFixed(0)} req/s`).join(', '),
    );
  }
  const p99Note = sides.map((side) => `${side} ${summarize(p99[side]).median.toFixed(1)} ms`).join(', ');
  return rowsFor(
    {
      // The 4-connection row keeps the id it had before there were other levels.
      id: connections === 4 ? 'download-range' : `download-range-${connections}`,
      group: 'download-range',
      label: `download, 1 MiB Range at random offsets (${connections} connection${connections === 1 ? '' : 's'})`,
      unit: 'req/s',
      target: connections === 4 ? '≥ 0.8×' : '≥ 0.9×',
      atLeast: connections === 4 ? 0.8 : 0.9,
      cpuUnit: 'ms per request',
      notes: [`p99 latency: ${p99Note}; client: node:http keep-alive loop.`],
    },
    rates,
    cpu,
    ctx,
  );
}

export async function runRangeDownloads(ctx: BenchContext): Promise<Row[]> {
  const { urls, sides } = targets(ctx);
  for (const side of sides) {
    checkLoad(side, await rangeLoad(urls[side]!, ctx.data.size, 1, ctx.options.rangeConnections), ctx.data.size); // warm-up
  }
  const rows: Row[] = [];
  for (const connections of RANGE_CONNECTIONS) rows.push(...(await rangeDownloads(ctx, connections)));
  return rows;
}

/** Connection counts of the range case: one client, the old 4, and 8 (a rollout's nodes at once). */
const RANGE_CONNECTIONS = [1, 4, 8];
