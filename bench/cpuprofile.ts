// Sums the self time of a V8 .cpuprofile (node --cpu-prof) by function, and by package/file, to
// find where a server spends its CPU. Usable on its own:
//
//   node --import tsx bench/cpuprofile.ts <file.cpuprofile> [top N]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface Hotspot {
  name: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byFunction: Hotspot[];
  byModule: Hotspot[];
  /** Self plus callees, for the project's own functions (src/): which of our code paths costs what. */
  inclusiveOwn: Hotspot[];
}

function shortLocation(url: string): string {
  if (!url) return '(native)';
  const clean = url.replace(/^file:\/\//, '');
  const nodeModules = clean.lastIndexOf('node_modules/');
  if (nodeModules >= 0) return clean.slice(nodeModules + 'node_modules/'.length);
  const cwd = `${process.cwd()}/`;
  return clean.startsWith(cwd) ? clean.slice(cwd.length) : clean;
}

/** "node_modules/fastify/lib/x.js" → "fastify"; "src/http/app.ts" → "src/http/app.ts"; "node:fs" → "node:fs". */
function moduleOf(url: string): string {
  if (!url) return '(native / V8)';
  const clean = url.replace(/^file:\/\//, '');
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(clean);
  if (match?.[1]) return `npm:${match[1]}`;
  return shortLocation(url);
}

function isOwnCode(url: string): boolean {
  const clean = url.replace(/^file:\/\//, '');
  return clean.startsWith(`${process.cwd()}/src/`);
}

function rank(totals: Map<string, number>, totalMs: number, top: number): Hotspot[] {
  return [...totals.entries()]
    .map(([name, selfMs]) => ({ name, selfMs, percent: (selfMs / totalMs) * 100 }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i];
    if (id === undefined) continue;
    // timeDeltas[i] is the time before sample i; attribute the following interval to it instead.
    const delta = deltas[i + 1] ?? 0;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + Math.max(0, delta));
  }
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalMicros = 0;
  let idleMicros = 0;
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id);
    if (!node) continue;
    const frame = node.callFrame;
    totalMicros += micros;
    if (frame.functionName === '(idle)') {
      idleMicros += micros;
      continue;
    }
    const name = `${frame.functionName || '(anonymous)'} ${shortLocation(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros / 1000);
    const module = frame.url ? moduleOf(frame.url) : frame.functionName.startsWith('(') ? frame.functionName : '(native / V8)';
    byModule.set(module, (byModule.get(module) ?? 0) + micros / 1000);
    // Every project function on the stack gets the time once (recursion counted once).
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const onStack = byId.get(current)?.callFrame;
      if (!onStack || !isOwnCode(onStack.url)) continue;
      const key = `${onStack.functionName || '(anonymous)'} ${shortLocation(onStack.url)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + micros / 1000);
    }
  }
  const busyMs = (totalMicros - idleMicros) / 1000;
  return {
    totalMs: totalMicros / 1000,
    idleMs: idleMicros / 1000,
    byFunction: rank(byFunction, busyMs, top),
    byModule: rank(byModule, busyMs, top),
    inclusiveOwn: rank(inclusive, busyMs, top),
  };
}

export function renderProfileSummary(summary: ProfileSummary, title: string): string {
  const lines = [
    `### ${title}`,
    '',
    `Profiled ${(summary.totalMs / 1000).toFixed(1)} s, of which idle ${(summary.idleMs / 1000).toFixed(1)} s; percentages are of busy time.`,
    '',
    '| self ms | % busy | function |',
    '| ---: | ---: | --- |',
    ...summary.byFunction.map((h) => `| ${h.selfMs.toFixed(0)} | ${h.percent.toFixed(1)} | \`${h.name}\` |`),
    '',
    '| self ms | % busy | module |',
    '| ---: | ---: | --- |',
    ...summary.byModule.map((h) => `| ${h.selfMs.toFixed(0)} | ${h.percent.toFixed(1)} | \`${h.name}\` |`),
  ];
  if (summary.inclusiveOwn.length > 0) {
    lines.push(
      '',
      '| total ms (self + callees) | % busy | project function (src/) |',
      '| ---: | ---: | --- |',
      ...summary.inclusiveOwn.map((h) => `| ${h.selfMs.toFixed(0)} | ${h.percent.toFixed(1)} | \`${h.name}\` |`),
    );
  }
  return lines.join('\n');
}

/**
 * The rendered summary of a profile file; null for a thread that was essentially idle (under
 * `minBusyMs`), such as the module loader's worker thread.
 */
export async function summarizeProfileFile(file: string, top = 25, title = path.basename(file), minBusyMs = 0): Promise<string | null> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const summary = summarizeProfile(profile, top);
  if (summary.totalMs - summary.idleMs < minBusyMs) return null;
  return renderProfileSummary(summary, title);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node --import tsx bench/cpuprofile.ts <file.cpuprofile> [top N]');
    process.exit(2);
  }
  summarizeProfileFile(file, top ? Number(top) : 25).then(
    (text) => console.log(text ?? ''),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
