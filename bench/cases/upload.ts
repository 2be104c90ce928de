// Uploads of the big zip: raw body (curl -T) and multipart (Go SDK: chunked, no Content-Length),
// interleaved with the same uploads to the plain baseline server, while sampling both servers' RSS.
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { multipartBody, rawBody, requestJson, timed } from '../client.js';
import { sidesInOrder, type BenchContext } from '../context.js';
import { makeVariant, makeZipBuffer, writeZipFile, type ZipFileInfo } from '../data.js';
import type { Extension } from '../extrepo.js';
import { withCpu } from '../process.js';
import { pairedRow, type Row } from '../report.js';
import { median, mibPerSecond, summarize } from '../stats.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
export type UploadKind = 'raw' | 'multipart';

interface BaselineUploadResult {
  sha256: string;
  size: number;
}

export function baselineUpload(baseUrl: string, kind: UploadKind, file: ZipFileInfo): Promise<BaselineUploadResult> {
  const url = `${baseUrl}/upload`;
  if (kind === 'raw') {
    return requestJson<BaselineUploadResult>(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/zip', 'content-length': file.size },
      body: rawBody(file.path),
      agent: false,
    });
  }
  const multipart = multipartBody(file.path);
  return requestJson<BaselineUploadResult>(url, {
    method: 'PUT',
    headers: multipart.headers,
    body: multipart.body,
    agent: false,
  });
}

export async function deleteBaselineFile(baseUrl: string, sha256: string): Promise<void> {
  await requestJson(`${baseUrl}/files/${sha256}`, { method: 'DELETE' });
}

export function extrepoUpload(ctx: BenchContext, kind: UploadKind, id: string, file: ZipFileInfo): Promise<Extension> {
  return kind === 'raw' ? ctx.extrepo.uploadFile(id, file.path, file.size) : ctx.extrepo.uploadMultipart(id, file.path);
}

/** Fails unless extrepo reports exactly the bytes we sent. */
export function checkStored(extension: Extension, file: ZipFileInfo): void {
  const meta = extension.file_metadata;
  if (!meta) throw new Error(`upload answered without file_metadata: ${JSON.stringify(extension)}`);
  if (meta.size !== file.size) throw new Error(`extrepo stored ${meta.size} bytes, expected ${file.size}`);
  if (meta.sha256 !== undefined && meta.sha256 !== file.sha256) {
    throw new Error(`extrepo stored sha256 ${meta.sha256}, expected ${file.sha256}`);
  }
}

/** A few small uploads on both sides so neither pays for JIT warm-up or first-time setup in a timed run. */
async function warmUp(ctx: BenchContext): Promise<void> {
  const zip = await makeZipBuffer(MiB, 424242);
  const file: ZipFileInfo = {
    path: path.join(ctx.workDir, 'warm-up.zip'),
    size: zip.length,
    sha256: createHash('sha256').update(zip).digest('hex'),
    entries: 2,
  };
  await writeFile(file.path, zip);
  for (let round = 0; round < 3; round++) {
    for (const kind of ['raw', 'multipart'] as const) {
      const extension = await ctx.extrepo.create(`bench-warm-up-${kind}-${round}`);
      checkStored(await extrepoUpload(ctx, kind, extension.id, file), file);
      await ctx.extrepo.delete(extension.id);
      const stored = await baselineUpload(ctx.baseline.baseUrl, kind, file);
      await deleteBaselineFile(ctx.baseline.baseUrl, stored.sha256);
    }
  }
}

/** Median RSS of the idle server over about a second. */
export async function measureIdleRss(ctx: BenchContext): Promise<number> {
  const close = ctx.extrepoRss.begin();
  await sleep(1000);
  return median(close());
}

export async function runUploads(ctx: BenchContext, kinds: UploadKind[]): Promise<Row[]> {
  const { options, data } = ctx;
  ctx.log('uploads: warming up');
  await warmUp(ctx);
  ctx.state.idleRssBytes ??= await measureIdleRss(ctx);
  const speeds: Record<UploadKind, { extrepo: number[]; baseline: number[] }> = {
    raw: { extrepo: [], baseline: [] },
    multipart: { extrepo: [], baseline: [] },
  };
  // Server CPU seconds (all threads) per GiB uploaded: steadier than throughput on a busy machine.
  const cpu: Record<UploadKind, { extrepo: number[]; baseline: number[] }> = {
    raw: { extrepo: [], baseline: [] },
    multipart: { extrepo: [], baseline: [] },
  };
  let variant = 0;
  for (let run = 0; run < options.runs; run++) {
    for (const kind of kinds) {
      for (const side of sidesInOrder(run)) {
        ctx.extrepo.server.assertRunning();
        const file = await makeVariant(data, ++variant);
        if (side === 'extrepo') {
          const extension = await ctx.extrepo.create(`bench-upload-${kind}-${run}`);
          const closeWindow = ctx.extrepoRss.begin();
          const {
            value: { value, seconds },
            cpuSeconds,
          } = await withCpu(ctx.extrepo.server.pid, () => timed(() => extrepoUpload(ctx, kind, extension.id, file)));
          ctx.state.uploadPeaks.push(Math.max(...closeWindow()));
          cpu[kind].extrepo.push(cpuSeconds / (file.size / GiB));
          checkStored(value, file);
          speeds[kind].extrepo.push(mibPerSecond(file.size, seconds));
          await ctx.extrepo.delete(extension.id);
        } else {
          const closeWindow = ctx.baselineRss.begin();
          const {
            value: { value, seconds },
            cpuSeconds,
          } = await withCpu(ctx.baseline.pid, () => timed(() => baselineUpload(ctx.baseline.baseUrl, kind, file)));
          ctx.state.baselineUploadPeaks.push(Math.max(...closeWindow()));
          cpu[kind].baseline.push(cpuSeconds / (file.size / GiB));
          if (kind === 'raw' && value.sha256 !== file.sha256) throw new Error('baseline stored different bytes');
          speeds[kind].baseline.push(mibPerSecond(file.size, seconds));
          await deleteBaselineFile(ctx.baseline.baseUrl, value.sha256);
        }
      }
      const last = (values: number[]) => values[values.length - 1]?.toFixed(0) ?? '–';
      ctx.log(
        `upload ${kind} run ${run + 1}/${options.runs}: extrepo ${last(speeds[kind].extrepo)} MiB/s, ` +
          `baseline ${last(speeds[kind].baseline)} MiB/s, extrepo peak RSS ${(
            (ctx.state.uploadPeaks[ctx.state.uploadPeaks.length - 1] ?? 0) / MiB
          ).toFixed(0)} MiB`,
      );
    }
  }

  return kinds.map((kind) =>
    pairedRow(
      {
        id: `upload-${kind}`,
        group: `upload-${kind}`,
        label: kind === 'raw' ? `upload ${sizeLabel(data.size)}, raw body (curl -T)` : `upload ${sizeLabel(data.size)}, multipart chunked (Go SDK)`,
        unit: 'MiB/s',
        baselineLabel: 'plain http',
        target: '≥ 0.85× baseline',
        notes: [cpuNote('s per GiB', cpu[kind].extrepo, cpu[kind].baseline)],
      },
      speeds[kind],
      0.85,
    ),
  );
}

/** "server CPU: extrepo 1.2 s per GiB, baseline 0.8 (1.5×)" from per-run CPU figures. */
export function cpuNote(unit: string, extrepo: number[], baseline: number[]): string {
  const e = median(extrepo);
  const b = median(baseline);
  const ratio = b > 0 ? ` (${(e / b).toFixed(2)}×)` : '';
  return `server CPU time (user+sys, all threads; 10 ms ticks): extrepo ${e.toFixed(3)} ${unit}, baseline ${b.toFixed(3)} ${unit}${ratio}.`;
}

/** Said beside every memory figure of a server run from its TypeScript source. */
export const TSX_NOTE =
  'extrepo ran from its TypeScript source through tsx, which adds about 45 MiB; `npm run build` and `--server-entry dist/main.js` measure it as production runs it.';

export function rssRow(ctx: BenchContext): Row {
  const peaks = ctx.state.uploadPeaks.map((bytes) => bytes / MiB);
  const idle = (ctx.state.idleRssBytes ?? Number.NaN) / MiB;
  const extrepo = summarize(peaks);
  const worst = extrepo.max;
  const hwm = ctx.extrepoRss.latest?.hwmBytes;
  const notes = [`${peaks.length} uploads sampled every 50 ms; the target applies to the highest peak (${worst.toFixed(0)} MiB).`];
  if (!ctx.options.serverEntry.endsWith('.js')) notes.push(TSX_NOTE);
  if (hwm !== undefined) notes.push(`server VmHWM (lifetime peak) so far: ${(hwm / MiB).toFixed(0)} MiB.`);
  if (ctx.state.baselineUploadPeaks.length > 0) {
    notes.push(`plain baseline server peak during the same uploads: ${(Math.max(...ctx.state.baselineUploadPeaks) / MiB).toFixed(0)} MiB.`);
  }
  return {
    id: 'rss-upload-peak',
    group: 'rss',
    label: `server peak RSS during ${sizeLabel(ctx.data.size)} uploads`,
    unit: 'MiB',
    extrepo,
    baseline: summarize([idle]),
    baselineLabel: 'extrepo idle',
    ratio: extrepo.median / idle,
    target: '< 150 MiB',
    pass: worst < 150,
    notes,
  };
}

/** The 4× upload (--big): its peak RSS must not exceed the peak of the normal-size uploads. */
export async function runBigUpload(ctx: BenchContext): Promise<Row> {
  const bigPath = path.join(ctx.workDir, 'big.zip');
  ctx.log(`big upload: writing a ${sizeLabel(ctx.options.bigBytes)} zip`);
  const big = await writeZipFile(bigPath, ctx.options.bigBytes, 7);
  try {
    const extension = await ctx.extrepo.create('bench-upload-big');
    const closeWindow = ctx.extrepoRss.begin();
    const { value, seconds } = await timed(() => extrepoUpload(ctx, 'raw', extension.id, big));
    const peak = Math.max(...closeWindow()) / MiB;
    checkStored(value, big);
    await ctx.extrepo.delete(extension.id);
    const normalPeak = Math.max(...ctx.state.uploadPeaks) / MiB;
    const speed = mibPerSecond(big.size, seconds);
    ctx.log(`big upload: ${speed.toFixed(0)} MiB/s, peak RSS ${peak.toFixed(0)} MiB`);
    const limit = normalPeak * 1.1 + 8;
    return {
      id: 'rss-big-upload',
      group: 'big',
      label: `server peak RSS during one ${sizeLabel(big.size)} upload (raw)`,
      unit: 'MiB',
      extrepo: summarize([peak]),
      baseline: Number.isFinite(normalPeak) ? summarize([normalPeak]) : null,
      baselineLabel: `peak of the ${sizeLabel(ctx.data.size)} uploads`,
      ratio: Number.isFinite(normalPeak) ? peak / normalPeak : null,
      target: `not above the ${sizeLabel(ctx.data.size)} peak (+10% +8 MiB)`,
      pass: Number.isFinite(normalPeak) ? peak <= limit : null,
      notes: [`the big upload itself ran at ${speed.toFixed(0)} MiB/s.`],
    };
  } finally {
    await rm(bigPath, { force: true });
  }
}

/** Creates the extension (and baseline file) that downloads, ranges and metadata GETs read. */
export async function prepareDownloadTarget(ctx: BenchContext): Promise<void> {
  if (ctx.state.downloadExtension && ctx.state.baselineFileSha) return;
  const file = await makeVariant(ctx.data, 99_999_999);
  const extension = await ctx.extrepo.create('bench-download', 'read by the download, range and metadata cases');
  const stored = await extrepoUpload(ctx, 'raw', extension.id, file);
  checkStored(stored, file);
  ctx.state.downloadExtension = stored;
  const baseline = await baselineUpload(ctx.baseline.baseUrl, 'raw', file);
  ctx.state.baselineFileSha = baseline.sha256;
}

export function sizeLabel(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${Number.isInteger(Math.round(gib * 100) / 100) ? gib.toFixed(0) : gib.toFixed(2)} GiB`;
  const mib = bytes / MiB;
  return `${mib >= 10 ? mib.toFixed(0) : mib.toFixed(1)} MiB`;
}
