// GET /deployments/extensions as the repository grows: 100, 1,000, 10,000, 100,000 extensions
// (metadata only, created through the API ~16 at a time), one fresh server per level so the counts
// are exact. Each step must grow no worse than linearly (≤ 10× per 10× more extensions).
import { forEachLimited, timed } from '../client.js';
import type { BenchContext } from '../context.js';
import type { Extrepo } from '../extrepo.js';
import { readCpuSeconds, RssSampler } from '../process.js';
import type { Row } from '../report.js';
import { summarize } from '../stats.js';

type ListingContext = Pick<BenchContext, 'options' | 'log'>;

/** Rounds over all levels: at least 5 (3 in smoke mode), then more while under the time budget. */
const MAX_SAMPLES = 30;
const MAX_SAMPLE_SECONDS = 20;

const collectClientGarbage: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** Fills a fresh server with `count` extensions through the API. */
export async function fill(ctx: ListingContext, repo: Extrepo, count: number): Promise<void> {
  const started = Date.now();
  let lastReport = started;
  let done = 0;
  const indexes = Array.from({ length: count }, (_, i) => i);
  await forEachLimited(indexes, ctx.options.listConcurrency, async (index) => {
    await repo.create(`bench-list-${String(index).padStart(6, '0')}`, `listing benchmark extension ${index}`);
    done += 1;
    const now = Date.now();
    if (now - lastReport >= 5000) {
      lastReport = now;
      const rate = done / ((now - started) / 1000);
      ctx.log(`listing: created ${done}/${count} (${rate.toFixed(0)}/s, ~${Math.ceil((count - done) / rate)} s left)`);
    }
  });
  ctx.log(`listing: ${count} extensions (created in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

interface Level {
  level: number;
  repo: Extrepo;
  bytes: number;
  times: number[];
  cpuBefore: number;
  sampler: RssSampler;
  closeWindow: () => number[];
  /** Server CPU per listing and peak RSS while sampling, once sampling is over. */
  cpuMs: number;
  peakRssMiB: number;
}

/**
 * Every level gets a fresh server of its own, filled through the API, so its count is exact. The
 * levels are then sampled round-robin (ascending, then descending order, alternately), so a drift
 * of the shared machine while sampling hits every level alike instead of whichever level was
 * sampled last; the growth ratios compare p50s taken over the same seconds.
 */
export async function runListing(ctx: ListingContext, startRepo: (level: number) => Promise<Extrepo>): Promise<Row[]> {
  const levels: Level[] = [];
  try {
    for (const level of ctx.options.listLevels) {
      const repo = await startRepo(level);
      const entry: Level = {
        level,
        repo,
        bytes: 0,
        times: [],
        cpuBefore: 0,
        sampler: new RssSampler(repo.server.pid),
        closeWindow: () => [],
        cpuMs: 0,
        peakRssMiB: 0,
      };
      levels.push(entry);
      await fill(ctx, repo, level);
      const first = await repo.list(); // warm-up, and check the count
      if (first.count !== level) throw new Error(`listing returned ${first.count} extensions, expected ${level}`);
      entry.bytes = first.bytes;
    }
    const minRounds = ctx.options.mode === 'smoke' ? 3 : 5;
    for (const entry of levels) {
      entry.repo.server.assertRunning();
      entry.sampler.start();
      entry.closeWindow = entry.sampler.begin();
      entry.cpuBefore = readCpuSeconds(entry.repo.server.pid) ?? 0;
    }
    const started = Date.now();
    for (let round = 0; round < MAX_SAMPLES && (round < minRounds || Date.now() - started < MAX_SAMPLE_SECONDS * 1000); round++) {
      for (const entry of round % 2 === 0 ? levels : [...levels].reverse()) {
        // The sample ends with the response's last byte: parsing 16 MiB of JSON in the bench process is
        // the client's cost, not the server's, and its own GC grew faster than linearly with the list.
        const { seconds } = await timed(() => entry.repo.fetchList());
        entry.times.push(seconds * 1000);
        // The bench collects its own garbage (up to 16 MiB per sample) between samples, outside the
        // timing, so that no sample pays for the one before it (npm run bench exposes gc()).
        collectClientGarbage();
      }
    }
    ctx.log(`listing: ${levels[0]?.times.length ?? 0} rounds over every level in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const entry of levels) {
      const cpuSeconds = (readCpuSeconds(entry.repo.server.pid) ?? entry.cpuBefore) - entry.cpuBefore;
      entry.cpuMs = (cpuSeconds / entry.times.length) * 1000;
      entry.peakRssMiB = Math.max(...entry.closeWindow()) / (1024 * 1024);
    }
    return levels.map((entry, index) => rowFor(ctx, entry, index > 0 ? levels[index - 1]! : null));
  } finally {
    for (const entry of levels) {
      entry.sampler.stop();
      await entry.repo.server.stop();
    }
  }
}

function rowFor(ctx: ListingContext, entry: Level, previous: Level | null): Row {
  const { level, times: samples, bytes, cpuMs } = entry;
  const times = summarize(samples);
  const previousTimes = previous ? summarize(previous.times) : null;
  const cpuGrowth = previous && previous.cpuMs > 0 ? ` (${(cpuMs / previous.cpuMs).toFixed(1)}× the previous size)` : '';
  ctx.log(`listing ${level}: p50 ${times.median.toFixed(1)} ms (${times.n} samples, ${(bytes / 1024).toFixed(0)} KiB)`);
  const growth = previousTimes ? times.median / previousTimes.median : null;
  const factor = previous ? level / previous.level : null;
  const targets: string[] = [];
  if (factor !== null) targets.push(`growth ≤ ${factor}×`);
  let pass = growth === null || factor === null ? null : growth <= factor;
  if (level === 10_000) {
    targets.push('p50 < 250 ms');
    pass = (pass ?? true) && times.median < 250;
  }
  return {
    id: `list-${level}`,
    group: 'listing',
    label: `GET /deployments/extensions, ${level.toLocaleString('en-US')} extensions (p50)`,
    unit: 'ms',
    extrepo: times,
    baseline: previousTimes,
    baselineLabel: previous ? `${previous.level.toLocaleString('en-US')} extensions` : '',
    ratio: growth,
    target: targets.length > 0 ? targets.join(', ') : 'report only',
    pass,
    notes: [
      `response ${(bytes / 1024).toFixed(0)} KiB, ${times.n} samples; server CPU ${cpuMs.toFixed(1)} ms per listing${cpuGrowth}; server peak RSS while listing ${entry.peakRssMiB.toFixed(0)} MiB.`,
    ],
  };
}
