// Downloads through the signed file_metadata.url: the whole file, and 1 MiB ranges at random offsets,
// against a plain node:http server streaming the same file from disk.
import { download, loadLoop, type LoadResult } from '../client.js';
import { sidesInOrder, type BenchContext } from '../context.js';
import { pairedRow, type Row } from '../report.js';
import { mibPerSecond, percentile, seededRandom, summarize } from '../stats.js';
import { withCpu } from '../process.js';
import { cpuNote, sizeLabel } from './upload.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function targets(ctx: BenchContext): { extrepo: string; baseline: string } {
  const url = ctx.state.downloadExtension?.file_metadata?.url;
  const sha = ctx.state.baselineFileSha;
  if (!url || !sha) throw new Error('the download target was not prepared');
  return { extrepo: url, baseline: `${ctx.baseline.baseUrl}/files/${sha}` };
}

export async function runFullDownloads(ctx: BenchContext): Promise<Row> {
  const urls = targets(ctx);
  const speeds = { extrepo: [] as number[], baseline: [] as number[] };
  const cpu = { extrepo: [] as number[], baseline: [] as number[] };
  const pids = { extrepo: ctx.extrepo.server.pid, baseline: ctx.baseline.pid };
  // One untimed pass each, so both read from a warm page cache.
  for (const side of ['extrepo', 'baseline'] as const) await download(urls[side]);
  for (let run = 0; run < ctx.options.runs; run++) {
    for (const side of sidesInOrder(run)) {
      ctx.extrepo.server.assertRunning();
      const { value: result, cpuSeconds } = await withCpu(pids[side], () => download(urls[side]));
      cpu[side].push(cpuSeconds / (result.bytes / GiB));
      if (result.status !== 200) throw new Error(`${side} download answered ${result.status}`);
      if (result.bytes !== ctx.data.size) throw new Error(`${side} sent ${result.bytes} bytes, expected ${ctx.data.size}`);
      speeds[side].push(mibPerSecond(result.bytes, result.seconds));
    }
    ctx.log(
      `download run ${run + 1}/${ctx.options.runs}: extrepo ${speeds.extrepo.at(-1)?.toFixed(0)} MiB/s, ` +
        `baseline ${speeds.baseline.at(-1)?.toFixed(0)} MiB/s`,
    );
  }
  return pairedRow(
    {
      id: 'download-full',
      group: 'download-full',
      label: `download ${sizeLabel(ctx.data.size)} via file_metadata.url`,
      unit: 'MiB/s',
      baselineLabel: 'plain http',
      target: '≥ 0.9× baseline',
      notes: [cpuNote('s per GiB', cpu.extrepo, cpu.baseline)],
    },
    speeds,
    0.9,
  );
}

/** 1 MiB ranges at random offsets; the seeded sequence is the same for both sides. */
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
    throw new Error(
      `${side} range load: statuses ${JSON.stringify(result.statuses)}, ${result.bytes} bytes for ${partial} ranges`,
    );
  }
}

export async function runRangeDownloads(ctx: BenchContext): Promise<Row> {
  const urls = targets(ctx);
  const { loadSeconds, loadRuns, rangeConnections } = ctx.options;
  const rates = { extrepo: [] as number[], baseline: [] as number[] };
  const p99 = { extrepo: [] as number[], baseline: [] as number[] };
  const cpu = { extrepo: [] as number[], baseline: [] as number[] };
  const pids = { extrepo: ctx.extrepo.server.pid, baseline: ctx.baseline.pid };
  for (const side of ['extrepo', 'baseline'] as const) {
    checkLoad(side, await rangeLoad(urls[side], ctx.data.size, 1, rangeConnections), ctx.data.size); // warm-up
  }
  for (let run = 0; run < loadRuns; run++) {
    for (const side of sidesInOrder(run)) {
      ctx.extrepo.server.assertRunning();
      const { value: result, cpuSeconds } = await withCpu(pids[side], () =>
        rangeLoad(urls[side], ctx.data.size, loadSeconds, rangeConnections),
      );
      cpu[side].push((cpuSeconds / result.requests) * 1000);
      checkLoad(side, result, ctx.data.size);
      rates[side].push(result.requests / result.seconds);
      p99[side].push(percentile(result.latencies, 99));
    }
    ctx.log(
      `range run ${run + 1}/${loadRuns}: extrepo ${rates.extrepo.at(-1)?.toFixed(0)} req/s, ` +
        `baseline ${rates.baseline.at(-1)?.toFixed(0)} req/s`,
    );
  }
  return pairedRow(
    {
      id: 'download-range',
      group: 'download-range',
      label: `download, 1 MiB Range at random offsets (${rangeConnections} connections)`,
      unit: 'req/s',
      baselineLabel: 'plain http',
      target: '≥ 0.8× baseline',
      notes: [
        `p99 latency: extrepo ${summarize(p99.extrepo).median.toFixed(1)} ms, baseline ${summarize(p99.baseline).median.toFixed(1)} ms.`,
        cpuNote('ms per request', cpu.extrepo, cpu.baseline),
      ],
    },
    rates,
    0.8,
  );
}
