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
  };
  return Object.freeze(config);
}
