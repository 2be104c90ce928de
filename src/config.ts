// All configuration is read and validated here, once, at start-up. An invalid value stops the server
// with a message that names the variable; nothing else in the code reads process.env.
import path from 'node:path';

const GiB = 1024 ** 3;

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
  /** File versions kept per extension (EXTREPO_KEEP_FILE_VERSIONS); 0 keeps all. */
  readonly keepFileVersions: number;
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
  return raw.replace(/\/+$/, '');
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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  const maxFileBytes = readInteger(env, 'EXTREPO_MAX_FILE_BYTES', 8 * GiB, 1);
  const logLevel = readString(env, 'EXTREPO_LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`EXTREPO_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
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
    maxJsonBytes: readInteger(env, 'EXTREPO_MAX_JSON_BYTES', 1024 * 1024, 1024),
    maxZipEntries: readInteger(env, 'EXTREPO_MAX_ZIP_ENTRIES', 10_000, 1),
    maxUncompressedBytes: readInteger(env, 'EXTREPO_MAX_UNCOMPRESSED_BYTES', 4 * maxFileBytes, 1),
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
    keepFileVersions: readInteger(env, 'EXTREPO_KEEP_FILE_VERSIONS', 10, 0, 1_000_000),
  };
  return Object.freeze(config);
}
