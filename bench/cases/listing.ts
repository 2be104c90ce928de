// GET /deployments/extensions as the repository grows: 100, 1,000, 10,000, 100,000 extensions
// (metadata only, created through the API ~16 at a time). Run against a fresh server, so the counts
// are exact. Each step must grow no worse than linearly (≤ 10× per 10× more extensions).
import { forEachLimited, timed } from '../client.js';
import type { BenchContext } from '../context.js';
import type { Extrepo } from '../extrepo.js';
import { RssSampler, withCpu } from '../process.js';
import type { Row } from '../report.js';
import { summarize, type Summary } from '../stats.js';

type ListingContext = Pick<BenchContext, 'options' | 'log'>;

const MAX_SAMPLES = 30;
const MAX_SAMPLE_SECONDS = 10;

async function growTo(ctx: ListingContext, repo: Extrepo, from: number, to: number): Promise<void> {
  const started = Date.now();
  let lastReport = started;
  let done = from;
  const indexes = Array.from({ length: to - from }, (_, i) => from + i);
  await forEachLimited(indexes, ctx.options.listConcurrency, async (index) => {
    await repo.create(`bench-list-${String(index).padStart(6, '0')}`, `listing benchmark extension ${index}`);
    done += 1;
    const now = Date.now();
    if (now - lastReport >= 5000) {
      lastReport = now;
      const rate = (done - from) / ((now - started) / 1000);
      ctx.log(`listing: created ${done}/${to} (${rate.toFixed(0)}/s, ~${Math.ceil((to - done) / rate)} s left)`);
    }
  });
  ctx.log(`listing: ${to} extensions (created ${to - from} in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function sampleList(ctx: ListingContext, repo: Extrepo, expected: number): Promise<{ times: Summary; bytes: number }> {
  const minSamples = ctx.options.mode === 'smoke' ? 3 : 5;
  const first = await repo.list(); // warm-up, and check the count
  if (first.count !== expected) throw new Error(`listing returned ${first.count} extensions, expected ${expected}`);
  const times: number[] = [];
  const started = Date.now();
  while (times.length < MAX_SAMPLES && (times.length < minSamples || Date.now() - started < MAX_SAMPLE_SECONDS * 1000)) {
    // The sample ends with the response's last byte: parsing 16 MiB of JSON in the bench process is the
    // client's cost, not the server's, and its own GC grew faster than linearly with the list.
    const { seconds } = await timed(() => repo.fetchList());
    times.push(seconds * 1000);
  }
  return { times: summarize(times), bytes: first.bytes };
}

export async function runListing(ctx: ListingContext, repo: Extrepo): Promise<Row[]> {
  const rows: Row[] = [];
  let count = 0;
  let previous: { level: number; p50: Summary; cpuMs: number } | null = null;
  for (const level of ctx.options.listLevels) {
    repo.server.assertRunning();
    await growTo(ctx, repo, count, level);
    count = level;
    const sampler = new RssSampler(repo.server.pid).start();
    const closeWindow = sampler.begin();
    const { value: sampled, cpuSeconds } = await withCpu(repo.server.pid, () => sampleList(ctx, repo, level));
    const peakRss = Math.max(...closeWindow()) / (1024 * 1024);
    sampler.stop();
    const { times, bytes } = sampled;
    const cpuMs = (cpuSeconds / (times.n + 1)) * 1000;
    const cpuGrowth = previous && previous.cpuMs > 0 ? ` (${(cpuMs / previous.cpuMs).toFixed(1)}× the previous size)` : '';
    ctx.log(`listing ${level}: p50 ${times.median.toFixed(1)} ms (${times.n} samples, ${(bytes / 1024).toFixed(0)} KiB)`);
    const growth = previous ? times.median / previous.p50.median : null;
    const factor = previous ? level / previous.level : null;
    const growthOk = growth === null || factor === null ? null : growth <= factor;
    const targets: string[] = [];
    if (factor !== null) targets.push(`growth ≤ ${factor}×`);
    let pass = growthOk;
    if (level === 10_000) {
      targets.push('p50 < 250 ms');
      pass = (pass ?? true) && times.median < 250;
    }
    rows.push({
      id: `list-${level}`,
      group: 'listing',
      label: `GET /deployments/extensions, ${level.toLocaleString('en-US')} extensions (p50)`,
      unit: 'ms',
      extrepo: times,
      baseline: previous ? previous.p50 : null,
      baselineLabel: previous ? `${previous.level.toLocaleString('en-US')} extensions` : '',
      ratio: growth,
      target: targets.length > 0 ? targets.join(', ') : 'report only',
      pass,
      notes: [
        `response ${(bytes / 1024).toFixed(0)} KiB, ${times.n} samples; server CPU ${cpuMs.toFixed(1)} ms per listing${cpuGrowth}; server peak RSS while listing ${peakRss.toFixed(0)} MiB.`,
      ],
    });
    previous = { level, p50: times, cpuMs };
  }
  return rows;
}
