// All configuration is read and validated here, once, at start-up. An invalid value stops the server
// with a message that names the variable; nothing else in the code reads process.env.
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import {
  ARCHIVE_MAX_RATIO,
  ARCHIVE_RATIO_MIN_BYTES,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_ZIP_ENTRIES,
  UNCOMPRESSED_BYTES_PER_FILE_BYTE,
} from './archive/default-limits.js';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Base of absolute links we hand out (file_metadata.url); null means "the listening address". */
  readonly publicUrl: string | null;
  readonly logLevel: string;
  readonly maxFileBytes: number;
  readonly maxJsonBytes: number;
  readonly maxZipEntries: number;
  readonly maxUncompressedBytes: number;
  /** Highest inflated:compressed ratio of an archive entry (ARCHIVE_MAX_RATIO). */
  readonly maxCompressionRatio: number;
  /** The ratio rule applies to entries inflating to more than this (ARCHIVE_RATIO_MIN_BYTES). */
  readonly compressionRatioMinBytes: number;
  readonly downloadAllowHosts: readonly string[];
  readonly downloadConnectTimeoutMs: number;
  readonly downloadIdleTimeoutMs: number;
  readonly adminApiKey: string | null;
  /** Secret for signed file links; null means "generate one and keep it in the data dir". */
  readonly linkSecret: string | null;
  readonly linkTtlSeconds: number;
  readonly shutdownGraceMs: number;
  /** Password of the built-in admin created at first start; null means "generate one and print it". */
  readonly adminPassword: string | null;
  /** Lifetime of a bearer token from _login or _refresh. */
  readonly tokenTtlSeconds: number;
  /** PostgreSQL for metadata (EXTREPO_DATABASE_URL); null means SQLite in the data dir. */
  readonly database: DatabaseConfig | null;
  /** S3-compatible object storage for blobs (EXTREPO_S3_BUCKET); null means local disk in the data dir. */
  readonly s3: S3Config | null;
  /** What file_metadata.url points at: extrepo's own signed link, or a presigned S3 GET URL. */
  readonly fileLinks: 'extrepo' | 'presigned';
  /** Seconds between garbage collections (0: only at start-up). */
  readonly gcIntervalSeconds: number;
  /** Leftovers of uploads younger than this are never collected (another instance may still be writing them). */
  readonly gcGraceSeconds: number;
  /** A full sweep (listing every blob) starts this long after the last one finished (src/domain/garbage-collector.ts). */
  readonly gcFullSweepIntervalSeconds: number;
  /** Blobs a garbage-collection cycle lists of the full sweep in progress, at most. */
  readonly gcFullSweepBlobsPerCycle: number;
  /** Serve HTTPS with these PEM files (EXTREPO_TLS_CERT, EXTREPO_TLS_KEY), re-read on SIGHUP; null: plain HTTP. */
  readonly tls: TlsConfig | null;
  /**
   * Which peers' X-Forwarded-For to believe (Fastify's trustProxy): false (none: the socket's address is
   * the client), a hop count, or addresses/CIDRs of the proxies.
   */
  readonly trustProxy: false | number | readonly string[];
  /** PostgreSQL with local files, or S3 with local SQLite: refused unless EXTREPO_ALLOW_MIXED_STORES=true. */
  readonly allowMixedStores: boolean;
  /** Slow clients (http/plugins/client-limits.ts): time for a request's headers to arrive. */
  readonly headersTimeoutMs: number;
  /** Time for a whole JSON request body to arrive (uploads are bounded by a rate instead). */
  readonly bodyTimeoutMs: number;
  /** Slowest upload kept going, in bytes per second averaged over uploadRateWindowMs (0: no minimum). */
  readonly uploadMinBytesPerSecond: number;
  readonly uploadRateWindowMs: number;
  /** Connections that have not (yet) authenticated, at most; more are answered 503 and closed. */
  readonly maxUnauthenticatedConnections: number;
  /**
   * How long after the last upload or download ends the server collects its garbage and gives the
   * freed memory back to the kernel (EXTREPO_MEMORY_TRIM_IDLE_MS; 0: never).
   */
  readonly memoryTrimIdleMs: number;
  /** Local file downloads leave by sendfile(2) when the addon is built (EXTREPO_SENDFILE, default true). */
  readonly sendfile: boolean;
  /** File versions kept per extension (EXTREPO_KEEP_FILE_VERSIONS); 0 keeps all. */
  readonly keepFileVersions: number;
  /** Problems worth a warning but not a refusal (unknown EXTREPO_* variables), one line each. */
  readonly warnings: readonly string[];
}

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface DatabaseConfig {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  /** TLS: 'disable', 'require' (encrypted, server not verified) or 'verify-full' (verified against the CA). */
  readonly ssl: 'disable' | 'require' | 'verify-full';
  /** PEM file of the CA that signed the server's certificate (verify-full); null: the system's CAs. */
  readonly sslCaFile: string | null;
}

export interface S3Config {
  readonly bucket: string;
  readonly endpoint: string | null;
  readonly region: string;
  readonly forcePathStyle: boolean;
  readonly prefix: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function readString(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function readInteger(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  }
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${raw}`);
  }
  return value;
}

// Decimal units are powers of 1000 (20MB = 20,000,000 bytes), binary ones powers of 1024 (8GiB).
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** Parses a size: plain bytes ("1048576") or a number with a unit ("8GiB", "20MB", "1.5 GiB"), any case. */
export function parseSize(raw: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  if (!match) return null;
  const factor = SIZE_UNITS[match[2]!.toLowerCase()];
  if (factor === undefined) return null;
  const bytes = Math.round(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

function readSize(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = parseSize(raw);
  if (value === null) {
    throw new ConfigError(
      `${name} must be a size in bytes, optionally with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), such as 8GiB; got "${raw}"`,
    );
  }
  if (value < min) throw new ConfigError(`${name} must be at least ${min} bytes, got "${raw}"`);
  return value;
}

function readList(env: Env, name: string): string[] {
  const raw = env[name];
  if (!raw) return [];
  return raw
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item.length > 0)
    .map((item) => item.replace(/^\[(.*)\]$/, '$1'));
}

function readPublicUrl(env: Env): string | null {
  const raw = env.EXTREPO_PUBLIC_URL;
  if (!raw) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`EXTREPO_PUBLIC_URL must be an absolute http(s) URL, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`EXTREPO_PUBLIC_URL must use http or https, got "${raw}"`);
  }
  // extrepo serves /api/v1 and /extension-files at the root of its origin (ECE's paths, which clients
  // such as ecctl build from the host alone): a link under a path prefix would point at nothing.
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError(
      `EXTREPO_PUBLIC_URL must be an origin without a path, such as https://extensions.example.com, got "${raw}": ` +
        'extrepo serves its API at /api/v1 on the root of its host, so give it its own host name or port at the proxy',
    );
  }
  return parsed.origin;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = raw.trim().toLowerCase() as T;
  if (!choices.includes(value)) throw new ConfigError(`${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return value;
}

function readDatabase(env: Env): DatabaseConfig | null {
  const url = env.EXTREPO_DATABASE_URL;
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('EXTREPO_DATABASE_URL must be a postgres:// URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`EXTREPO_DATABASE_URL must be a postgres:// URL, got a ${parsed.protocol} URL`);
  }
  return {
    url,
    poolSize: readInteger(env, 'EXTREPO_DATABASE_POOL_SIZE', 10, 1, 1000),
    statementTimeoutMs: readInteger(env, 'EXTREPO_DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0),
    ssl: readChoice(env, 'EXTREPO_DATABASE_SSL', ['disable', 'require', 'verify-full'] as const, 'disable'),
    sslCaFile: env.EXTREPO_DATABASE_SSL_CA_FILE ? path.resolve(env.EXTREPO_DATABASE_SSL_CA_FILE) : null,
  };
}

function readS3(env: Env): S3Config | null {
  const bucket = env.EXTREPO_S3_BUCKET;
  const others = ['EXTREPO_S3_ENDPOINT', 'EXTREPO_S3_REGION', 'EXTREPO_S3_FORCE_PATH_STYLE', 'EXTREPO_S3_PREFIX'];
  if (!bucket) {
    const stray = others.find((name) => env[name]);
    if (stray) throw new ConfigError(`${stray} is set but EXTREPO_S3_BUCKET is not: set the bucket to use S3`);
    return null;
  }
  const endpoint = env.EXTREPO_S3_ENDPOINT || null;
  if (endpoint !== null) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(endpoint);
    } catch {
      // reported below
    }
    if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new ConfigError(`EXTREPO_S3_ENDPOINT must be an absolute http(s) URL, got "${endpoint}"`);
    }
  }
  return {
    bucket,
    endpoint,
    region: readString(env, 'EXTREPO_S3_REGION', env.AWS_REGION || 'us-east-1'),
    forcePathStyle: readBoolean(env, 'EXTREPO_S3_FORCE_PATH_STYLE', false),
    prefix: readString(env, 'EXTREPO_S3_PREFIX', ''),
  };
}

function readTls(env: Env): TlsConfig | null {
  const cert = env.EXTREPO_TLS_CERT || null;
  const key = env.EXTREPO_TLS_KEY || null;
  if (cert === null && key === null) return null;
  if (cert === null || key === null) {
    const [given, missing] = cert === null ? ['EXTREPO_TLS_KEY', 'EXTREPO_TLS_CERT'] : ['EXTREPO_TLS_CERT', 'EXTREPO_TLS_KEY'];
    throw new ConfigError(`${given} is set but ${missing} is not: set both (PEM files of the certificate chain and its private key) to serve HTTPS`);
  }
  return { certFile: path.resolve(cert), keyFile: path.resolve(key) };
}

// proxy-addr's names for address ranges, which Fastify's trustProxy accepts beside addresses and CIDRs.
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function readTrustProxy(env: Env): false | number | string[] {
  const raw = env.EXTREPO_TRUST_PROXY?.trim();
  if (!raw) return false;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 100) throw new ConfigError(`EXTREPO_TRUST_PROXY as a hop count must be at most 100, got ${raw}`);
    return hops === 0 ? false : hops;
  }
  if (['true', 'yes', 'on', 'all', '*'].includes(raw.toLowerCase())) {
    throw new ConfigError(
      `EXTREPO_TRUST_PROXY=${raw} would believe any client's X-Forwarded-For: give the proxies' addresses ` +
        '(such as 10.0.0.5,10.1.0.0/16 or loopback) or the number of proxies in front of extrepo',
    );
  }
  if (['false', 'no', 'off', 'none'].includes(raw.toLowerCase())) return false;
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  for (const item of items) {
    const known = PROXY_RANGE_NAMES.includes(item.toLowerCase()) || ipaddr.isValid(item) || isCidr(item);
    if (!known) {
      throw new ConfigError(
        `EXTREPO_TRUST_PROXY must be a hop count or a comma-separated list of addresses, CIDRs, loopback, linklocal or uniquelocal; "${item}" is none of these`,
      );
    }
  }
  return items.map((item) => (PROXY_RANGE_NAMES.includes(item.toLowerCase()) ? item.toLowerCase() : item));
}

function isCidr(value: string): boolean {
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Both stores shared, or both embedded. PostgreSQL with files on local disk gives a second instance
 * rows whose files it cannot read; S3 with a local SQLite gives each instance its own idea of which
 * blobs are referenced, so one's garbage collection deletes another's files.
 */
function checkStorePairing(database: DatabaseConfig | null, s3: S3Config | null, allowMixed: boolean): void {
  if (allowMixed || (database === null) === (s3 === null)) return;
  const advice = 'set both for several instances, or EXTREPO_ALLOW_MIXED_STORES=true to run a single instance this way on purpose';
  if (database !== null) {
    throw new ConfigError(
      `EXTREPO_DATABASE_URL is set but EXTREPO_S3_BUCKET is not: files would stay on this machine's disk (EXTREPO_DATA_DIR), where another instance sharing the database cannot read them; ${advice}`,
    );
  }
  throw new ConfigError(
    `EXTREPO_S3_BUCKET is set but EXTREPO_DATABASE_URL is not: each instance would keep its own SQLite metadata, and one's garbage collection would delete the files another references; ${advice}`,
  );
}

/** Every setting this version reads, for the warning about unknown EXTREPO_* variables. */
export const KNOWN_SETTINGS: readonly string[] = [
  'EXTREPO_HOST',
  'EXTREPO_PORT',
  'EXTREPO_DATA_DIR',
  'EXTREPO_PUBLIC_URL',
  'EXTREPO_LOG_LEVEL',
  'EXTREPO_MAX_FILE_BYTES',
  'EXTREPO_MAX_JSON_BYTES',
  'EXTREPO_MAX_ZIP_ENTRIES',
  'EXTREPO_MAX_UNCOMPRESSED_BYTES',
  'EXTREPO_DOWNLOAD_ALLOW_HOSTS',
  'EXTREPO_DOWNLOAD_CONNECT_TIMEOUT_MS',
  'EXTREPO_DOWNLOAD_IDLE_TIMEOUT_MS',
  'EXTREPO_ADMIN_API_KEY',
  'EXTREPO_ADMIN_PASSWORD',
  'EXTREPO_LINK_SECRET',
  'EXTREPO_LINK_TTL_SECONDS',
  'EXTREPO_SHUTDOWN_GRACE_MS',
  'EXTREPO_TOKEN_TTL_SECONDS',
  'EXTREPO_DATABASE_URL',
  'EXTREPO_DATABASE_POOL_SIZE',
  'EXTREPO_DATABASE_STATEMENT_TIMEOUT_MS',
  'EXTREPO_DATABASE_SSL',
  'EXTREPO_DATABASE_SSL_CA_FILE',
  'EXTREPO_S3_BUCKET',
  'EXTREPO_S3_ENDPOINT',
  'EXTREPO_S3_REGION',
  'EXTREPO_S3_FORCE_PATH_STYLE',
  'EXTREPO_S3_PREFIX',
  'EXTREPO_FILE_LINKS',
  'EXTREPO_GC_INTERVAL_SECONDS',
  'EXTREPO_GC_GRACE_SECONDS',
  'EXTREPO_GC_FULL_SWEEP_INTERVAL_SECONDS',
  'EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE',
  'EXTREPO_TLS_CERT',
  'EXTREPO_TLS_KEY',
  'EXTREPO_TRUST_PROXY',
  'EXTREPO_ALLOW_MIXED_STORES',
];

/**
 * One warning per EXTREPO_* variable that is no setting (a typo is otherwise silently ignored),
 * naming the closest real one. `read` holds the names loadConfig looked at, so a setting added
 * without updating KNOWN_SETTINGS is still known. EXTREPO_TEST_* belong to the test suite.
 */
export function unknownSettingWarnings(env: Env, read: ReadonlySet<string> = new Set()): string[] {
  const known = [...new Set([...KNOWN_SETTINGS, ...read])];
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('EXTREPO_') || name.startsWith('EXTREPO_TEST_') || known.includes(name)) continue;
    const closest = closestName(name, known);
    warnings.push(
      closest === null
        ? `${name} is not an extrepo setting and is ignored (the settings are listed in the README)`
        : `${name} is not an extrepo setting and is ignored: did you mean ${closest}?`,
    );
  }
  return warnings;
}

function closestName(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Beyond a third of the name, a "closest" setting is a guess that misleads more than it helps;
  // a name that is a setting's shortened or lengthened form (EXTREPO_LINK_TTL, EXTREPO_DATA_DIRECTORY)
  // is still recognised by the prefix they share.
  const suffixLength = name.length - 'EXTREPO_'.length;
  if (bestDistance <= Math.max(2, Math.floor(suffixLength / 3))) return best;
  const minimum = 'EXTREPO_'.length + 3;
  const related = candidates.filter(
    (candidate) => (name.startsWith(candidate) && candidate.length >= minimum) || (candidate.startsWith(name) && name.length >= minimum),
  );
  return related.sort((a, b) => Math.abs(a.length - name.length) - Math.abs(b.length - name.length))[0] ?? null;
}

/** Levenshtein distance (insertions, deletions and substitutions each cost 1). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** An origin for printing and links: IPv6 addresses in brackets (http://[::1]:12400). */
export function formatOrigin(scheme: 'http' | 'https', host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return `${scheme}://${bare.includes(':') ? `[${bare}]` : bare}:${port}`;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  // Records the names read, for unknownSettingWarnings.
  const read = new Set<string>();
  const source = env;
  env = new Proxy(source, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name);
    },
  });
  const maxFileBytes = readSize(env, 'EXTREPO_MAX_FILE_BYTES', DEFAULT_MAX_FILE_BYTES, 1);
  const logLevel = readString(env, 'EXTREPO_LOG_LEVEL', 'info').trim().toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`EXTREPO_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.EXTREPO_LOG_LEVEL}"`);
  }
  const adminApiKey = env.EXTREPO_ADMIN_API_KEY || null;
  if (adminApiKey !== null && adminApiKey.length < 16) {
    throw new ConfigError('EXTREPO_ADMIN_API_KEY must be at least 16 characters long');
  }
  const linkSecret = env.EXTREPO_LINK_SECRET || null;
  if (linkSecret !== null && linkSecret.length < 32) {
    throw new ConfigError('EXTREPO_LINK_SECRET must be at least 32 characters long');
  }
  const s3 = readS3(env);
  const fileLinks = readChoice(env, 'EXTREPO_FILE_LINKS', ['extrepo', 'presigned'] as const, 'extrepo');
  if (fileLinks === 'presigned' && s3 === null) {
    throw new ConfigError('EXTREPO_FILE_LINKS=presigned needs S3 storage (EXTREPO_S3_BUCKET)');
  }
  const adminPassword = env.EXTREPO_ADMIN_PASSWORD || null;
  if (adminPassword !== null && adminPassword.length < 8) {
    throw new ConfigError('EXTREPO_ADMIN_PASSWORD must be at least 8 characters long');
  }
  const config: Config = {
    host: readString(env, 'EXTREPO_HOST', '127.0.0.1'),
    port: readInteger(env, 'EXTREPO_PORT', 12400, 0, 65535),
    dataDir: path.resolve(readString(env, 'EXTREPO_DATA_DIR', './data')),
    publicUrl: readPublicUrl(env),
    logLevel,
    maxFileBytes,
    maxJsonBytes: readSize(env, 'EXTREPO_MAX_JSON_BYTES', 1024 * 1024, 1024),
    maxZipEntries: readInteger(env, 'EXTREPO_MAX_ZIP_ENTRIES', DEFAULT_MAX_ZIP_ENTRIES, 1),
    maxUncompressedBytes: readSize(env, 'EXTREPO_MAX_UNCOMPRESSED_BYTES', UNCOMPRESSED_BYTES_PER_FILE_BYTE * maxFileBytes, 1),
    maxCompressionRatio: ARCHIVE_MAX_RATIO,
    compressionRatioMinBytes: ARCHIVE_RATIO_MIN_BYTES,
    downloadAllowHosts: readList(env, 'EXTREPO_DOWNLOAD_ALLOW_HOSTS'),
    downloadConnectTimeoutMs: readInteger(env, 'EXTREPO_DOWNLOAD_CONNECT_TIMEOUT_MS', 10_000, 1),
    downloadIdleTimeoutMs: readInteger(env, 'EXTREPO_DOWNLOAD_IDLE_TIMEOUT_MS', 30_000, 1),
    adminApiKey,
    linkSecret,
    linkTtlSeconds: readInteger(env, 'EXTREPO_LINK_TTL_SECONDS', 3600, 1, 7 * 24 * 3600),
    shutdownGraceMs: readInteger(env, 'EXTREPO_SHUTDOWN_GRACE_MS', 30_000, 0),
    adminPassword,
    tokenTtlSeconds: readInteger(env, 'EXTREPO_TOKEN_TTL_SECONDS', 1800, 1, 7 * 24 * 3600),
    database: readDatabase(env),
    s3,
    fileLinks,
    gcIntervalSeconds: readInteger(env, 'EXTREPO_GC_INTERVAL_SECONDS', 3600, 0, 7 * 24 * 3600),
    gcGraceSeconds: readInteger(env, 'EXTREPO_GC_GRACE_SECONDS', 24 * 3600, 0),
    gcFullSweepIntervalSeconds: readInteger(env, 'EXTREPO_GC_FULL_SWEEP_INTERVAL_SECONDS', 7 * 24 * 3600, 0),
    gcFullSweepBlobsPerCycle: readInteger(env, 'EXTREPO_GC_FULL_SWEEP_BLOBS_PER_CYCLE', 10_000, 1),
    tls: readTls(env),
    trustProxy: readTrustProxy(env),
    allowMixedStores: readBoolean(env, 'EXTREPO_ALLOW_MIXED_STORES', false),
    warnings: [],
    headersTimeoutMs: readInteger(env, 'EXTREPO_HEADERS_TIMEOUT_MS', 20_000, 1),
    bodyTimeoutMs: readInteger(env, 'EXTREPO_BODY_TIMEOUT_MS', 30_000, 1),
    uploadMinBytesPerSecond: readInteger(env, 'EXTREPO_UPLOAD_MIN_BYTES_PER_SECOND', 1024, 0),
    uploadRateWindowMs: readInteger(env, 'EXTREPO_UPLOAD_RATE_WINDOW_MS', 60_000, 100),
    maxUnauthenticatedConnections: readInteger(env, 'EXTREPO_MAX_UNAUTHENTICATED_CONNECTIONS', 512, 1),
    keepFileVersions: readInteger(env, 'EXTREPO_KEEP_FILE_VERSIONS', 10, 0, 1_000_000),
    memoryTrimIdleMs: readInteger(env, 'EXTREPO_MEMORY_TRIM_IDLE_MS', 2000, 0, 24 * 3600 * 1000),
    sendfile: readBoolean(env, 'EXTREPO_SENDFILE', true),
  };
  checkStorePairing(config.database, config.s3, config.allowMixedStores);
  return deepFreeze({ ...config, warnings: unknownSettingWarnings(source, read) });
}

/** Config is read once and never changed: nested parts (database, s3, tls, host lists) included. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const nested of Object.values(value)) deepFreeze(nested);
  return Object.freeze(value);
}
