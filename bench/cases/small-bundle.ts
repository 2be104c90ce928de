// The common small case end to end: create an extension, upload a ~100 KiB bundle, read it back.
// Every bundle is distinct (no content-addressed shortcut). No baseline; the figure is reported.
import { forEachLimited, timed } from '../client.js';
import type { BenchContext } from '../context.js';
import { makeZipBuffer } from '../data.js';
import type { Row } from '../report.js';
import { median, summarize } from '../stats.js';
import { readCpuSeconds } from '../process.js';
import { checkStored } from './upload.js';
import { createHash } from 'node:crypto';

const KiB = 1024;

export async function runSmallBundles(ctx: BenchContext): Promise<Row> {
  const { smallOps, smallRuns, smallConcurrency } = ctx.options;
  const rates: number[] = [];
  const cpuPerOp: number[] = [];
  for (let run = 0; run < smallRuns; run++) {
    // Built before the clock starts, so the client's zip work is not measured.
    const zips: Buffer[] = [];
    for (let i = 0; i < smallOps; i++) zips.push(await makeZipBuffer(100 * KiB - 256, run * 1_000_000 + i));
    const created: string[] = [];
    ctx.extrepo.server.assertRunning();
    const cpuBefore = readCpuSeconds(ctx.extrepo.server.pid) ?? 0;
    const { seconds } = await timed(() =>
      forEachLimited(zips, smallConcurrency, async (zip, index) => {
        const extension = await ctx.extrepo.create(`bench-small-${run}-${index}`);
        created.push(extension.id);
        await ctx.extrepo.uploadBuffer(extension.id, zip);
        const fetched = await ctx.extrepo.get(extension.id);
        if (index === 0) {
          const sha256 = createHash('sha256').update(zip).digest('hex');
          checkStored(fetched, { path: '', size: zip.length, sha256, entries: 2 });
        }
      }),
    );
    cpuPerOp.push((((readCpuSeconds(ctx.extrepo.server.pid) ?? cpuBefore) - cpuBefore) / smallOps) * 1000);
    rates.push(smallOps / seconds);
    ctx.log(`small bundles run ${run + 1}/${smallRuns}: ${(smallOps / seconds).toFixed(0)} ops/s`);
    await forEachLimited(created, smallConcurrency, (id) => ctx.extrepo.delete(id));
  }
  return {
    id: 'small-bundle',
    group: 'small-bundle',
    label: `create + upload (100 KiB) + get, ${smallConcurrency} in flight`,
    unit: 'ops/s',
    extrepo: summarize(rates),
    baseline: null,
    baselineLabel: '',
    ratio: null,
    target: 'report only',
    pass: null,
    notes: [`${smallOps} operations per run, each 3 requests; server CPU ${median(cpuPerOp).toFixed(2)} ms per operation.`],
  };
}
