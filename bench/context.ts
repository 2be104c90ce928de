// What every case gets: the options, the running servers, the test data, and where to put results.
import type { BackendName } from './backends.js';
import type { ZipFileInfo } from './data.js';
import type { Extension, Extrepo } from './extrepo.js';
import type { Nginx } from './nginx.js';
import type { RssSampler, ServerProcess } from './process.js';

export const CASES = [
  'limits',
  'upload-raw',
  'upload-multipart',
  'rss',
  'big',
  'download-full',
  'download-range',
  'metadata-get',
  'small-bundle',
  'listing',
  'startup-gc',
  'console',
  'cli',
] as const;

export type CaseName = (typeof CASES)[number];

export interface BenchOptions {
  mode: 'full' | 'quick' | 'smoke';
  /** Transfer size in bytes (the 1 GiB of the brief by default). */
  sizeBytes: number;
  /** Repetitions of each transfer. */
  runs: number;
  cases: Set<CaseName>;
  /** The stores extrepo runs on in this part of the run (`--backend both` runs each in turn). */
  backend: BackendName;
  outDir: string;
  tempParent: string;
  /** Extension counts for the listing case, ascending. */
  listLevels: number[];
  /** Blob counts for the startup-gc case on the embedded store, and on PostgreSQL + S3, ascending. */
  gcLevels: number[];
  gcLevelsScaleOut: number[];
  /** Seconds per autocannon run and how many runs per side. */
  loadSeconds: number;
  loadRuns: number;
  metadataConnections: number;
  /** Bytes of uploads and downloads moved through extrepo before the aged metadata GET (--aged-gib). */
  agedBytes: number;
  rangeConnections: number;
  /** Create+upload+get operations per run of the small-bundle case, and runs. */
  smallOps: number;
  smallRuns: number;
  smallConcurrency: number;
  listConcurrency: number;
  limitsRuns: number;
  /** Size of the --big upload (4× the transfer size). */
  bigBytes: number;
  echo: boolean;
  /** The server's entry file, relative to the project root. */
  serverEntry: string;
  profile: boolean;
  /** Where --cpu-prof output goes (one subdirectory per server); null without --profile. */
  profileDir: string | null;
}

/** node flags that profile a server into its own subdirectory of the profile dir (none without --profile). */
export function profileArgs(options: BenchOptions, name: string): string[] {
  return options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}/${name}`] : [];
}

export interface BenchState {
  /** The extension (and baseline file) that the download/range/metadata cases read. */
  downloadExtension?: Extension;
  baselineFileSha?: string;
  idleRssBytes?: number;
  /** Peak RSS (bytes) of each measured 1 GiB upload to extrepo. */
  uploadPeaks: number[];
  baselineUploadPeaks: number[];
}

export interface BenchContext {
  options: BenchOptions;
  workDir: string;
  data: ZipFileInfo;
  extrepo: Extrepo;
  extrepoRss: RssSampler;
  baseline: ServerProcess;
  baselineRss: RssSampler;
  /** nginx serving the plain baseline's files (download cases), null when not installed or not needed. */
  nginx: Nginx | null;
  /** Why there is no nginx, when the download cases ran without it. */
  nginxMissing?: string;
  state: BenchState;
  log(message: string): void;
}

/** "raw"-style alternation: even runs measure extrepo first, odd runs the baseline first. */
export function sidesInOrder(run: number): Array<'extrepo' | 'baseline'> {
  return run % 2 === 0 ? ['extrepo', 'baseline'] : ['baseline', 'extrepo'];
}
