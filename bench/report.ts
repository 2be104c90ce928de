// Results: one row per figure, rendered as a Markdown table and saved as JSON.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackendName } from './backends.js';
import { pairedRatios, summarize, type Summary } from './stats.js';

export interface Row {
  /** Stable id, e.g. "upload-raw", "list-10000". */
  id: string;
  /** Which case produced it (what `--only` selects and the smoke test checks). */
  group: string;
  label: string;
  unit: string;
  extrepo: Summary | null;
  baseline: Summary | null;
  /** What the baseline column is. */
  baselineLabel: string;
  /** extrepo / baseline (median of per-run ratios) for throughputs; growth or peak/idle where the row says so. */
  ratio: number | null;
  /** Spread of the per-run ratios, when the runs were paired. */
  ratioRange?: { min: number; max: number } | undefined;
  target: string;
  /** null when the row has no target. */
  pass: boolean | null;
  notes: string[];
}

/**
 * A row comparing extrepo with its baseline over paired runs: the medians of both, the median (and
 * spread) of the per-run ratios, and a pass when that ratio is at least `atLeast`.
 */
export function pairedRow(
  row: Omit<Row, 'extrepo' | 'baseline' | 'ratio' | 'ratioRange' | 'pass'>,
  samples: { extrepo: readonly number[]; baseline: readonly number[] },
  atLeast: number,
): Row {
  const paired = pairedRatios(samples.extrepo, samples.baseline);
  return {
    ...row,
    extrepo: summarize(samples.extrepo),
    baseline: summarize(samples.baseline),
    ratio: paired.median,
    ratioRange: paired,
    pass: paired.median >= atLeast,
  };
}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  kernel: string;
  date: string;
  tempDir: string;
  /** 1/5/15-minute load averages when the run started and ended: other work on the machine shows here. */
  loadAverageStart: number[];
  loadAverageEnd?: number[];
}

export interface Limits {
  sha256MiBps: Summary | null;
  writeFsyncMiBps: Summary | null;
  writeBytes: number;
}

export interface Report {
  version: 1;
  command: string;
  /** The stores extrepo ran on (absent in results written before there was a choice: local). */
  backend?: BackendName;
  /** What those stores were, and any default the run chose for them. */
  backendNotes?: string[];
  options: Record<string, unknown>;
  machine: MachineInfo;
  limits: Limits;
  rows: Row[];
  /** Case groups that ran. */
  groups: string[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  allPassed: boolean;
}

/** `--backend both`: one report per backend (each against its own same-run baselines) and the summary. */
export interface ComparisonReport {
  version: 1;
  kind: 'comparison';
  command: string;
  options: Record<string, unknown>;
  machine: MachineInfo;
  limits: Limits;
  reports: Report[];
  summary: ComparisonRow[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  allPassed: boolean;
}

export interface ComparisonCell {
  median: number;
  unit: string;
  /** Ratio to that run's baseline (median of the per-run ratios), where the row has one. */
  ratio: number | null;
  baselineLabel: string;
}

export interface ComparisonRow {
  id: string;
  label: string;
  /** One cell per backend, in the order of `backends`; null when that backend did not measure it. */
  cells: Array<ComparisonCell | null>;
  backends: BackendName[];
}

export function describeMachine(tempDir: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    date: new Date().toISOString(),
    tempDir,
    loadAverageStart: os.loadavg(),
  };
}

/** 3 significant-ish digits: 1234 → "1234", 12.34 → "12.3", 1.234 → "1.23". */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 0.1) return value.toFixed(2);
  return value.toPrecision(2);
}

function formatSummary(summary: Summary | null, unit: string): string {
  if (summary === null || summary.n === 0) return '–';
  const main = `${formatNumber(summary.median)} ${unit}`;
  if (summary.n === 1) return main;
  return `${main} [${formatNumber(summary.min)}–${formatNumber(summary.max)}]`;
}

function formatRatio(ratio: number | null, range?: { min: number; max: number }): string {
  if (ratio === null || Number.isNaN(ratio)) return '–';
  const main = `${ratio.toFixed(2)}×`;
  return range && range.min !== range.max ? `${main} [${range.min.toFixed(2)}–${range.max.toFixed(2)}]` : main;
}

function formatPass(pass: boolean | null): string {
  if (pass === null) return '–';
  return pass ? 'PASS' : '**FAIL**';
}

export function renderTable(rows: readonly Row[]): string {
  const lines = [
    '| case | extrepo median [min–max] | baseline median | ratio [min–max] | target | result |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const baseline = row.baseline === null ? '–' : `${formatNumber(row.baseline.median)} ${row.unit} (${row.baselineLabel})`;
    lines.push(
      `| ${row.label} | ${formatSummary(row.extrepo, row.unit)} | ${baseline} | ${formatRatio(row.ratio, row.ratioRange)} | ${row.target} | ${formatPass(row.pass)} |`,
    );
  }
  return lines.join('\n');
}

export function renderNotes(rows: readonly Row[]): string {
  const lines: string[] = [];
  for (const row of rows) for (const note of row.notes) lines.push(`- ${row.label}: ${note}`);
  return lines.join('\n');
}

function formatLoad(load: number[] | undefined): string {
  return load ? load.map((value) => value.toFixed(2)).join(' / ') : '–';
}

export function renderMachine(machine: MachineInfo, limits: Limits): string {
  const limitLines = [
    `- sha256 of an in-memory buffer, one core: ${formatSummary(limits.sha256MiBps, 'MiB/s')}`,
    `- sequential write + fsync of ${formatNumber(limits.writeBytes / 1024 ** 2)} MiB to the data dir's filesystem: ${formatSummary(limits.writeFsyncMiBps, 'MiB/s')}`,
  ];
  return [
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, ${machine.platform}, kernel ${machine.kernel}, Node ${machine.node}, ${machine.date}`,
    `Temp/data dir: ${machine.tempDir}`,
    `Load average (1/5/15 min) at start ${formatLoad(machine.loadAverageStart)}, at end ${formatLoad(machine.loadAverageEnd)}`,
    '',
    "Machine's limits (same run):",
    ...limitLines,
  ].join('\n');
}

const BASELINE_LEGEND = [
  'Ratios compare extrepo with a baseline measured in the same run, interleaved run by run; a ratio is the median of the per-run ratios (MiB = 2^20 bytes). Baselines, each its own process:',
  '- plain http (uploads): node:http server piping the request body through sha256 into a temp file in the same filesystem, fsync, rename, fsync of the directory; multipart bodies are stored as opaque bytes.',
  '- plain http (downloads): the same server, `pipeline(fs.createReadStream(file, {start, end}), res)`, single-range support.',
  '- bare Fastify: one route returning the same extension JSON from memory (no auth, no lookup).',
  '- listing rows compare with the previous size (growth per 10×); RSS rows with the idle server or the normal-size peak.',
].join('\n');

function renderBackendHeading(report: Report): string[] {
  if (!report.backend) return [];
  return [`## Backend: ${report.backend}`, '', ...(report.backendNotes ?? []).map((line) => `- ${line}`), ''];
}

export function renderReport(report: Report): string {
  const notes = renderNotes(report.rows);
  return [
    ...renderBackendHeading(report),
    renderTable(report.rows),
    '',
    BASELINE_LEGEND,
    notes ? `\nNotes:\n${notes}` : '',
    '',
    renderMachine(report.machine, report.limits),
    '',
    `Command: ${report.command}`,
    `Duration: ${Math.round(report.durationSeconds)} s; ${report.allPassed ? 'all targets met' : 'SOME TARGETS FAILED'}`,
  ].join('\n');
}

export async function writeReportJson(report: Report | ComparisonReport, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const file = path.join(outDir, `${stamp}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** What the side-by-side summary shows, in order; `withRatio` rows also show each backend's ratio to its baseline. */
const COMPARED: Array<{ id: string; label: string; withRatio: boolean }> = [
  { id: 'upload-raw', label: 'upload, raw body', withRatio: true },
  { id: 'upload-multipart', label: 'upload, multipart chunked', withRatio: true },
  { id: 'download-full', label: 'download via file_metadata.url', withRatio: true },
  { id: 'download-range', label: 'download, 1 MiB Range at random offsets', withRatio: true },
  { id: 'metadata-get', label: 'GET /deployments/extensions/{id}', withRatio: true },
  { id: 'metadata-get-p99', label: 'GET /deployments/extensions/{id}, p99', withRatio: false },
  { id: 'rss-upload-peak', label: 'server peak RSS during uploads', withRatio: false },
  { id: 'small-bundle', label: 'create + upload (100 KiB) + get', withRatio: false },
];

/** The side-by-side rows of several backends' reports (the largest listing level they all measured, too). */
export function compareReports(reports: readonly Report[]): ComparisonRow[] {
  const backends = reports.map((report) => report.backend ?? 'local');
  const specs = [...COMPARED];
  const listingIds = reports.map((report) => new Set(report.rows.filter((row) => row.group === 'listing').map((row) => row.id)));
  const common = [...(listingIds[0] ?? [])].filter((id) => listingIds.every((ids) => ids.has(id)));
  const largest = common.sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1])).at(-1);
  if (largest) {
    const count = Number(largest.split('-')[1]).toLocaleString('en-US');
    specs.push({ id: largest, label: `GET /deployments/extensions, ${count} extensions (p50)`, withRatio: false });
  }
  const rows: ComparisonRow[] = [];
  for (const spec of specs) {
    const cells = reports.map((report): ComparisonCell | null => {
      const row = report.rows.find((candidate) => candidate.id === spec.id);
      if (!row || !row.extrepo || row.extrepo.n === 0) return null;
      return {
        median: row.extrepo.median,
        unit: row.unit,
        ratio: spec.withRatio ? row.ratio : null,
        baselineLabel: row.baselineLabel,
      };
    });
    if (cells.some((cell) => cell !== null)) rows.push({ id: spec.id, label: spec.label, cells, backends });
  }
  return rows;
}

export function renderComparison(rows: readonly ComparisonRow[]): string {
  const backends = rows[0]?.backends ?? [];
  const first = backends[0] ?? 'local';
  const header = ['measure (median)'];
  for (const backend of backends) header.push(backend, `${backend} ÷ its baseline`);
  for (const backend of backends.slice(1)) header.push(`${backend} ÷ ${first}`);
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) {
    const cells = [row.label];
    for (const cell of row.cells) {
      cells.push(cell ? `${formatNumber(cell.median)} ${cell.unit}` : '–');
      cells.push(cell && cell.ratio !== null ? `${cell.ratio.toFixed(2)}× (${cell.baselineLabel})` : '–');
    }
    const base = row.cells[0];
    for (const cell of row.cells.slice(1)) {
      cells.push(base && cell && base.median > 0 ? `${(cell.median / base.median).toFixed(2)}×` : '–');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function renderComparisonReport(comparison: ComparisonReport): string {
  const sections: string[] = [];
  for (const report of comparison.reports) {
    const notes = renderNotes(report.rows);
    sections.push(
      [
        ...renderBackendHeading(report),
        renderTable(report.rows),
        notes ? `\nNotes:\n${notes}` : '',
        `\n${report.allPassed ? 'all targets met' : 'SOME TARGETS FAILED'} (${Math.round(report.durationSeconds)} s)`,
      ].join('\n'),
    );
  }
  return [
    ...sections.flatMap((section) => [section, '']),
    `## Side by side: ${comparison.reports.map((report) => report.backend ?? 'local').join(' vs ')}`,
    '',
    renderComparison(comparison.summary),
    '',
    'Each "÷ its baseline" is that backend\'s ratio to the baseline measured next to it in the same run (median of the per-run ratios); the last column compares the medians of the two backends directly, so it also carries the drift of the machine between the two parts of the run.',
    '',
    BASELINE_LEGEND,
    '',
    renderMachine(comparison.machine, comparison.limits),
    '',
    `Command: ${comparison.command}`,
    `Duration: ${Math.round(comparison.durationSeconds)} s; ${comparison.allPassed ? 'all targets met' : 'SOME TARGETS FAILED'}`,
  ].join('\n');
}
