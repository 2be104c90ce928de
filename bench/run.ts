// extrepo benchmark: measures the server against plain baselines in the same run and prints one table.
//
//   npm run bench -- [--quick | --smoke] [--size MiB] [--runs N] [--only case,...] [--big] [--list-max N]
//                    [--backend local|postgres-s3|both] [--out dir] [--tmp dir] [--profile] [--echo] [--strict]
//
// Every figure is a ratio to a baseline measured in the same run, because the machine is shared and
// noisy. Progress goes to stderr; the table goes to stdout and, as JSON, to bench/results/.
// --backend postgres-s3 starts a throwaway PostgreSQL cluster and an s3rver for the run (bench/services.ts);
// --backend both runs every case on local and then on postgres-s3 and adds a side-by-side summary.
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, profileArgs, type BenchContext, type BenchOptions, type CaseName } from './context.js';
import { writeZipFile, type ZipFileInfo } from './data.js';
import { startExtrepo, type Extrepo } from './extrepo.js';
import { BACKENDS, LOCAL_BACKEND, startPostgresS3, type Backend, type BackendName } from './backends.js';
import { cleanupAll, freePort, installCleanupHandlers, isStopping, makeTempDir, RssSampler, startServer, type ServerProcess } from './process.js';
import {
  compareReports,
  describeMachine,
  renderComparisonReport,
  renderReport,
  writeReportJson,
  type ComparisonReport,
  type Limits,
  type MachineInfo,
  type Report,
  type Row,
} from './report.js';
import { summarizeProfileFile } from './cpuprofile.js';
import { startNginx, type Nginx } from './nginx.js';
import { measureSha256, measureWriteFsync } from './cases/limits.js';
import { prepareDownloadTarget, rssRow, runBigUpload, runUploads, sizeLabel, type UploadKind } from './cases/upload.js';
import { runFullDownloads, runRangeDownloads } from './cases/download.js';
import { runMetadataGets } from './cases/metadata.js';
import { runSmallBundles } from './cases/small-bundle.js';
import { runListing } from './cases/listing.js';
import { runStartupGc } from './cases/startup-gc.js';
import { prefillEmbeddedStore, runConsoleLoad } from './cases/console-load.js';
import { runCliTransfers } from './cases/cli.js';

const MiB = 1024 * 1024;

const HELP = `usage: npm run bench -- [options]

  --quick              smaller transfers (256 MiB), fewer runs, listing up to 10,000
  --smoke              tiny everything (2 MiB, 1 run, 100 extensions, 1 s load) — checks the harness
  --size <MiB>         transfer size (default 1024; 256 when postgres-s3 is part of the run)
  --runs <N>           repetitions of each transfer (default 5)
  --only <case,...>    ${CASES.join(', ')}
  --big                also upload 4× the transfer size once and compare peak RSS
  --list-max <N>       largest listing size (default 100,000; 10,000 when postgres-s3 is part of the run)
  --gc-max <N>         largest blob count of the startup-gc case (default 1,000,000 on the embedded store, which
                       takes minutes to seed; PostgreSQL + S3 stop at 100,000)
  --aged-gib <N>       uploads + downloads moved through extrepo before the aged metadata GET (default 4)
  --backend <name>     local (default: SQLite + files), postgres-s3 (a throwaway PostgreSQL 15 cluster and an
                       s3rver, started and removed by the bench), or both (each in turn, plus a side-by-side summary);
                       --only startup-gc alone defaults to both (its levels are set for each backend)
  --out <dir>          where the JSON result goes (default bench/results)
  --tmp <dir>          parent of the temporary work directory (default: the OS temp dir)
  --profile            run extrepo under --cpu-prof and print its hotspots at the end
  --server-entry <ts>  the server's entry file (default src/main.ts)
  --echo               show the servers' own output
  --strict             exit 1 when a target is missed
`;

class UsageError extends Error {
  override name = 'UsageError';
}

type RunOptions = BenchOptions & {
  strict: boolean;
  /** What --backend asked for, in the order they run. */
  backends: BackendName[];
  /** Defaults the run chose because of the backend (said in the output). */
  defaultNotes: string[];
};

function parseOptions(argv: string[]): RunOptions {
  try {
    return parseOptionsOrThrow(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseOptionsOrThrow(argv: string[]): RunOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      size: { type: 'string' },
      runs: { type: 'string' },
      only: { type: 'string' },
      big: { type: 'boolean', default: false },
      'list-max': { type: 'string' },
      'gc-max': { type: 'string' },
      'aged-gib': { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      tmp: { type: 'string' },
      profile: { type: 'boolean', default: false },
      echo: { type: 'boolean', default: false },
      'server-entry': { type: 'string', default: 'src/main.ts' },
      strict: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const positiveInt = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} needs a whole number ≥ 1, got "${raw}"`);
    return value;
  };
  const defaults = {
    full: { size: 1024, runs: 5, levels: [100, 1_000, 10_000, 100_000], loadSeconds: 8, loadRuns: 3, smallOps: 300, smallRuns: 3, limitsRuns: 3 },
    quick: { size: 256, runs: 3, levels: [100, 1_000, 10_000], loadSeconds: 4, loadRuns: 2, smallOps: 100, smallRuns: 2, limitsRuns: 2 },
    smoke: { size: 2, runs: 1, levels: [10, 100], loadSeconds: 1, loadRuns: 1, smallOps: 10, smallRuns: 1, limitsRuns: 1 },
  }[mode];
  const gcDefaults = { full: [10_000, 100_000, 1_000_000], quick: [10_000], smoke: [100, 1_000] }[mode];
  const gcMax = positiveInt('gc-max', values['gc-max'], Math.max(...gcDefaults));
  const gcLevels = [10_000, 100_000, 1_000_000].filter((level) => level <= gcMax && level > Math.max(...gcDefaults));
  const allGcLevels = [...gcDefaults.filter((level) => level <= gcMax), ...gcLevels];
  // The start-up and GC levels are specified for both backends, so that case alone runs on both.
  const onlyStartupGc = values.only !== undefined && values.only.split(',').every((name) => name.trim() === 'startup-gc');
  const backend = values.backend ?? (onlyStartupGc ? 'both' : 'local');
  if (backend !== 'both' && !(BACKENDS as readonly string[]).includes(backend)) {
    throw new Error(`unknown --backend "${backend}" (known: ${BACKENDS.join(', ')}, both)`);
  }
  const backends: BackendName[] = backend === 'both' ? [...BACKENDS] : [backend as BackendName];
  // s3rver runs on the same (small) machine as everything else and is far slower than the local disk:
  // runs that include it default to smaller transfers and listings, and say so.
  const defaultNotes: string[] = [];
  const withS3 = backends.includes('postgres-s3');
  const scaleOutSize = 256;
  const scaleOutListMax = 10_000;
  let defaultSize = defaults.size;
  if (withS3 && values.size === undefined && defaultSize > scaleOutSize) {
    defaultSize = scaleOutSize;
    defaultNotes.push(
      `transfer size ${scaleOutSize} MiB: the default when postgres-s3 is part of the run (s3rver shares this machine and is slow); --size to change.`,
    );
  }
  const sizeBytes = positiveInt('size', values.size, defaultSize) * MiB;
  let listMax = positiveInt('list-max', values['list-max'], Math.max(...defaults.levels));
  if (withS3 && values['list-max'] === undefined && listMax > scaleOutListMax) {
    listMax = scaleOutListMax;
    defaultNotes.push(
      `listing up to ${scaleOutListMax.toLocaleString('en-US')} extensions: the default when postgres-s3 is part of the run; --list-max to change.`,
    );
  }
  const levels = defaults.levels.filter((level) => level <= listMax);
  if (levels.at(-1) !== listMax) levels.push(listMax);

  let cases = new Set<CaseName>(CASES.filter((name) => name !== 'big'));
  if (values.only !== undefined) {
    cases = new Set();
    for (const name of values.only
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)) {
      if (!(CASES as readonly string[]).includes(name)) {
        throw new Error(`unknown case "${name}" in --only (known: ${CASES.join(', ')})`);
      }
      cases.add(name as CaseName);
    }
  }
  if (values.big) cases.add('big');
  // Peak RSS is measured during the uploads, and the big upload is compared with that peak.
  if ((cases.has('rss') || cases.has('big')) && !cases.has('upload-raw') && !cases.has('upload-multipart')) {
    cases.add('upload-raw');
  }
  if (cases.has('upload-raw') || cases.has('upload-multipart')) cases.add('rss');

  return {
    mode,
    sizeBytes,
    runs: positiveInt('runs', values.runs, defaults.runs),
    cases,
    backend: backends[0] ?? 'local',
    backends,
    defaultNotes,
    outDir: path.resolve(values.out ?? 'bench/results'),
    tempParent: path.resolve(values.tmp ?? (process.env.TMPDIR || '/tmp')),
    listLevels: levels,
    gcLevels: allGcLevels,
    // s3rver takes PutObjects one at a time on this machine: seeding a million would take hours.
    gcLevelsScaleOut: allGcLevels.filter((level) => level <= 100_000),
    loadSeconds: defaults.loadSeconds,
    loadRuns: defaults.loadRuns,
    metadataConnections: 50,
    // The "aged" server has moved at least 4 GiB; --smoke only checks the harness.
    agedBytes:
      values['aged-gib'] !== undefined ? positiveInt('aged-gib', values['aged-gib'], 4) * 1024 * MiB : mode === 'smoke' ? 8 * MiB : 4 * 1024 * MiB,
    rangeConnections: 4,
    smallOps: defaults.smallOps,
    smallRuns: defaults.smallRuns,
    smallConcurrency: 8,
    listConcurrency: 16,
    limitsRuns: defaults.limitsRuns,
    bigBytes: 4 * sizeBytes,
    echo: values.echo,
    serverEntry: values['server-entry'],
    profile: values.profile,
    profileDir: null,
    strict: values.strict,
  };
}

type Log = (message: string) => void;

function log(message: string): void {
  const time = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${time}] ${message}\n`);
}

async function startExtrepoFor(options: BenchOptions, backend: Backend, dataDir: string, profileName: string): Promise<Extrepo> {
  return startExtrepo({
    dataDir,
    entry: options.serverEntry,
    nodeArgs: profileArgs(options, profileName),
    env: await backend.freshStores(profileName),
    echo: options.echo,
  });
}

async function startBaselineFiles(options: BenchOptions, dir: string): Promise<ServerProcess> {
  const port = await freePort();
  return startServer({
    name: 'baseline-files',
    args: [...profileArgs(options, 'baseline-files'), '--import', 'tsx', 'bench/baselines.ts', 'files', '--port', String(port), '--dir', dir],
    port,
    echo: options.echo,
  });
}

/** Summaries of every profile written under the profile dir (one subdirectory per server). */
async function summarizeProfiles(profileDir: string): Promise<string[]> {
  if (!existsSync(profileDir)) return [];
  const texts: string[] = [];
  for (const server of (await readdir(profileDir)).sort()) {
    const dir = path.join(profileDir, server);
    const files = (await readdir(dir)).filter((file) => file.endsWith('.cpuprofile')).sort();
    for (const file of files) {
      const full = path.join(dir, file);
      const text = await summarizeProfileFile(full, 25, `${server}: ${file}`, 500);
      if (text !== null) texts.push(text);
      log(`cpu profile kept at ${full}`);
    }
  }
  return texts;
}

/** Every case that uses one long-lived extrepo next to the plain baseline server. */
async function runServerCases(options: BenchOptions, backend: Backend, workDir: string, needsData: boolean, log: Log): Promise<Row[]> {
  const has = (name: CaseName) => options.cases.has(name);
  const rows: Row[] = [];
  const inputDir = path.join(workDir, 'input');
  const baselineDir = path.join(workDir, 'baseline-data');
  const extrepoDir = path.join(workDir, 'extrepo-data');
  for (const dir of [inputDir, baselineDir, extrepoDir]) await mkdir(dir);
  let data: ZipFileInfo = { path: '', size: 0, sha256: '', entries: 0 };
  if (needsData) {
    log(`data: writing a ${sizeLabel(options.sizeBytes)} zip`);
    data = await writeZipFile(path.join(inputDir, 'bundle.zip'), options.sizeBytes);
    log(`data: ${data.size} bytes, ${data.entries} entries, sha256 ${data.sha256.slice(0, 16)}…`);
  }
  const baseline = await startBaselineFiles(options, baselineDir);
  const extrepo = await startExtrepoFor(options, backend, extrepoDir, 'extrepo');
  log(`servers: extrepo pid ${extrepo.server.pid} at ${extrepo.server.baseUrl}, baseline pid ${baseline.pid}`);
  let nginx: Nginx | null = null;
  let nginxMissing: string | undefined;
  if (has('download-full') || has('download-range')) {
    const started = await startNginx(baselineDir, workDir, options.echo);
    nginx = started.nginx;
    nginxMissing = started.reason;
    if (nginx) log(`servers: nginx pid ${nginx.server.pid} at ${nginx.server.baseUrl}, serving the baseline's files`);
    else log(`servers: ${nginxMissing}`);
  }
  const extrepoRss = new RssSampler(extrepo.server.pid).start();
  const baselineRss = new RssSampler(baseline.pid).start();
  const ctx: BenchContext = {
    options,
    workDir,
    data,
    extrepo,
    extrepoRss,
    baseline,
    baselineRss,
    nginx,
    ...(nginxMissing ? { nginxMissing } : {}),
    state: { uploadPeaks: [], baselineUploadPeaks: [] },
    log,
  };
  try {
    const kinds = (['raw', 'multipart'] as UploadKind[]).filter((kind) => has(`upload-${kind}`));
    if (kinds.length > 0) {
      rows.push(...(await runUploads(ctx, kinds)));
      rows.push(rssRow(ctx));
    }
    if (has('big')) rows.push(await runBigUpload(ctx));
    if (has('download-full') || has('download-range') || has('metadata-get') || has('cli')) {
      log('download: preparing the extension that is read back');
      await prepareDownloadTarget(ctx);
    }
    if (has('download-full')) rows.push(...(await runFullDownloads(ctx)));
    if (has('download-range')) rows.push(...(await runRangeDownloads(ctx)));
    if (has('metadata-get')) rows.push(...(await runMetadataGets(ctx)));
    if (has('small-bundle')) rows.push(await runSmallBundles(ctx));
    if (has('cli')) rows.push(...(await runCliTransfers(ctx)));
  } catch (error) {
    // A 500 says only "it has been logged": add what the server logged (warnings and errors).
    const logs = extrepo.server.logs(6000).trim();
    if (error instanceof Error && logs) error.message += `\n--- extrepo's last output ---\n${logs}`;
    throw error;
  } finally {
    extrepoRss.stop();
    baselineRss.stop();
    await extrepo.server.stop();
    await baseline.stop();
    await nginx?.server.stop();
  }
  return rows;
}

/** The listing case: one fresh server per level (see cases/listing.ts), each on its own data dir and stores. */
async function runListingCase(options: BenchOptions, backend: Backend, workDir: string, log: Log): Promise<Row[]> {
  log(`listing: one fresh extrepo per level: ${options.listLevels.join(', ')}`);
  return runListing({ options, log }, async (level) => {
    const dir = await makeTempDir(`extrepo-list-${level}-`, workDir);
    return startExtrepoFor(options, backend, dir, `extrepo-listing-${level}`);
  });
}

/**
 * The console case: one fresh server per level, like listing (see cases/console-load.ts). On the
 * embedded store the repository is written straight into SQLite before the server starts: the API
 * creates ~45 extensions a second on a loaded machine, 40 minutes for 100,000, and how the
 * extensions got there is not what this case measures.
 */
async function runConsoleCase(options: BenchOptions, backend: Backend, workDir: string, log: Log): Promise<Row[]> {
  return runConsoleLoad({ options, log }, async (level) => {
    const dir = await makeTempDir(`extrepo-console-${level}-`, workDir);
    const prefilled = backend.name === 'local' ? await prefillEmbeddedStore(dir, level, log) : false;
    return { repo: await startExtrepoFor(options, backend, dir, `extrepo-console-${level}`), prefilled };
  });
}

/** Every case on one backend: its storage servers (if any), extrepo, the baselines; one report. */
async function runBackend(
  options: BenchOptions,
  runOptions: RunOptions,
  workDir: string,
  machine: MachineInfo,
  limits: Limits,
  log: Log,
): Promise<{ report: Report; profileTexts: string[] }> {
  const startedAt = new Date();
  const has = (name: CaseName) => options.cases.has(name);
  const needsData = ['upload-raw', 'upload-multipart', 'big', 'download-full', 'download-range', 'metadata-get', 'cli'].some((name) =>
    has(name as CaseName),
  );
  const needsMainServer = needsData || has('small-bundle');
  const rows: Row[] = [];
  const profileTexts: string[] = [];
  const backend = options.backend === 'postgres-s3' ? await startPostgresS3(workDir, log) : LOCAL_BACKEND;
  const backendNotes = [backend.description, ...runOptions.defaultNotes];
  try {
    if (needsMainServer) rows.push(...(await runServerCases(options, backend, workDir, needsData, log)));
    if (has('listing')) rows.push(...(await runListingCase(options, backend, workDir, log)));
    if (has('startup-gc')) rows.push(...(await runStartupGc({ options, log }, backend, workDir)));
    if (has('console')) rows.push(...(await runConsoleCase(options, backend, workDir, log)));
    backendNotes.push(...backend.notes());
  } finally {
    await backend.stop();
  }

  if (options.profileDir) {
    profileTexts.push(...(await summarizeProfiles(options.profileDir)));
    if (existsSync(options.profileDir)) await writeFile(path.join(options.profileDir, 'summary.md'), `${profileTexts.join('\n\n')}\n`);
  }
  const finishedAt = new Date();
  const report: Report = {
    version: 1,
    command: commandLine(),
    backend: options.backend,
    backendNotes,
    options: optionsForJson(options),
    machine,
    limits,
    rows,
    groups: [...new Set(rows.map((row) => row.group)), ...(has('limits') ? ['limits'] : [])],
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    allPassed: rows.every((row) => row.pass !== false),
  };
  return { report, profileTexts };
}

function commandLine(): string {
  return `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
}

function optionsForJson(options: BenchOptions): Record<string, unknown> {
  return { ...options, cases: [...options.cases], sizeMiB: options.sizeBytes / MiB };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  installCleanupHandlers();
  const startedAt = new Date();
  const workDir = await makeTempDir('extrepo-bench-', options.tempParent);
  const machine = describeMachine(workDir);
  log(
    `${options.mode} run on ${options.backends.join(' then ')}: ${sizeLabel(options.sizeBytes)} transfers × ${options.runs}, ` +
      `cases ${[...options.cases].join(', ')}; ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; work dir ${workDir}`,
  );
  for (const note of options.defaultNotes) log(note);
  const limits: Limits = { sha256MiBps: null, writeFsyncMiBps: null, writeBytes: options.sizeBytes };
  const profileBase = options.profile ? path.join(options.outDir, `profile-${startedAt.toISOString().replace(/[:.]/g, '-')}`) : null;
  const several = options.backends.length > 1;

  try {
    if (options.cases.has('limits')) {
      log('limits: sha256 and write+fsync');
      limits.sha256MiBps = await measureSha256(options.limitsRuns);
      limits.writeFsyncMiBps = await measureWriteFsync(workDir, options.sizeBytes, options.limitsRuns);
      log(`limits: sha256 ${limits.sha256MiBps.median.toFixed(0)} MiB/s, write+fsync ${limits.writeFsyncMiBps.median.toFixed(0)} MiB/s`);
    }

    const reports: Report[] = [];
    const profileTexts: string[] = [];
    for (const backend of options.backends) {
      const backendLog: Log = several ? (message) => log(`${backend}: ${message}`) : log;
      const backendDir = several ? await makeTempDir(`${backend}-`, workDir) : workDir;
      const backendOptions: BenchOptions = {
        ...options,
        backend,
        profileDir: profileBase && several ? path.join(profileBase, backend) : profileBase,
      };
      backendLog(several ? 'starting' : `backend ${backend}: starting`);
      const result = await runBackend(backendOptions, options, backendDir, machine, limits, backendLog);
      reports.push(result.report);
      profileTexts.push(...result.profileTexts);
    }

    const finishedAt = new Date();
    machine.loadAverageEnd = os.loadavg();
    let output: string;
    let allPassed: boolean;
    let file: string;
    const [single] = reports;
    if (!several && single) {
      // The whole run (the machine limits included), as before there was a choice of backends.
      single.options = optionsForJson(options);
      single.startedAt = startedAt.toISOString();
      single.finishedAt = finishedAt.toISOString();
      single.durationSeconds = (finishedAt.getTime() - startedAt.getTime()) / 1000;
      file = await writeReportJson(single, options.outDir);
      output = renderReport(single);
      allPassed = single.allPassed;
    } else {
      const comparison: ComparisonReport = {
        version: 1,
        kind: 'comparison',
        command: commandLine(),
        options: { ...optionsForJson(options), backend: 'both' },
        machine,
        limits,
        reports,
        summary: compareReports(reports),
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
        allPassed: reports.every((report) => report.allPassed),
      };
      file = await writeReportJson(comparison, options.outDir);
      output = renderComparisonReport(comparison);
      allPassed = comparison.allPassed;
    }
    console.log(output);
    for (const text of profileTexts) console.log(`\n${text}`);
    console.log(`\nJSON: ${file}`);
    return options.strict && !allPassed ? 1 : 0;
  } finally {
    await cleanupAll();
  }
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    if (isStopping()) return; // the signal handler cleans up and exits
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${HELP}`);
      process.exit(2);
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    await cleanupAll().catch(() => undefined);
    process.exit(1);
  },
);
