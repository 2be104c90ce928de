// Why a start failed, in one line an operator can act on: the setting involved and what to do. The
// causes are the usual ones of a first deployment (a port taken, a data dir that cannot exist, a
// database that refuses, a bucket that is missing), each mapped from the error the library threw.
import type { Config } from './config.js';

/** The process's exit codes (documented in docs/deployment.md). */
export const EXIT_CODES = {
  /** Stopped by SIGTERM or SIGINT after the requests in flight finished (or the grace period ended). */
  stopped: 0,
  /** An unexpected error: a bug; the stack trace is printed. */
  unexpected: 1,
  /** The configuration is invalid: nothing will change until a setting does (do not restart). */
  invalidConfig: 2,
  /** Something a setting names could not be used (port, data dir, TLS files, database, bucket): may pass on a retry. */
  unavailable: 3,
} as const;

export class StartupError extends Error {
  override name = 'StartupError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_CODES.unavailable,
  ) {
    super(message);
  }
}

type ErrorWithCode = Error & { code?: string; errno?: number; syscall?: string; $metadata?: { httpStatusCode?: number } };

function codeOf(error: unknown): string {
  return String((error as ErrorWithCode | undefined)?.code ?? '');
}

/** The message of an error and of an AggregateError's parts (Node's happy eyeballs throws those). */
function describeCause(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map((part: unknown) => describeCause(part)))].join('; ');
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim() || codeOf(error) || 'unknown error';
}

export function describeListenError(error: unknown, config: Config): StartupError {
  const where = `EXTREPO_HOST=${config.host} EXTREPO_PORT=${config.port}`;
  switch (codeOf(error)) {
    case 'EADDRINUSE':
      return new StartupError(
        `${where}: the port is already in use (another extrepo or another program listens there): stop it or choose another EXTREPO_PORT`,
      );
    case 'EACCES':
      return new StartupError(
        `${where}: not allowed to listen on this port as this user (ports below 1024 need privileges): choose EXTREPO_PORT 1024 or above, or let a proxy listen on the low port`,
      );
    case 'EADDRNOTAVAIL':
      return new StartupError(
        `${where}: ${config.host} is not an address of this machine: set EXTREPO_HOST to one of its addresses, or 0.0.0.0 / :: for all`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`${where}: the host name ${config.host} does not resolve: set EXTREPO_HOST to an address of this machine`);
    default:
      return new StartupError(`${where}: cannot listen: ${describeCause(error)}`);
  }
}

/** user@host:port/database of a PostgreSQL URL, without its password. */
function databaseLabel(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : '';
    return `${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the configured database';
  }
}

const CERTIFICATE_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function describeDatabaseError(error: unknown, config: Config): StartupError {
  const db = config.database;
  if (db === null) return describeEmbeddedStoreError(error, config);
  const label = databaseLabel(db.url);
  const code = codeOf(error);
  const cause = describeCause(error);
  const at = `EXTREPO_DATABASE_URL (${label})`;
  if (code === 'ENOENT' && db.sslCaFile !== null && cause.includes(db.sslCaFile)) {
    return new StartupError(
      `EXTREPO_DATABASE_SSL_CA_FILE=${db.sslCaFile}: the file cannot be read (${cause}): give the PEM file of the CA that signed the database's certificate`,
    );
  }
  if (code === 'ECONNREFUSED') {
    return new StartupError(`${at}: connection refused: is PostgreSQL running, and are the host and port in the URL right?`);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new StartupError(`${at}: the host name does not resolve: fix the host in the URL`);
  }
  if (code === 'ETIMEDOUT' || /timeout/i.test(cause)) {
    return new StartupError(`${at}: no answer from the server (${cause}): check the host, the port and any firewall between`);
  }
  if (code === '28P01' || (code === '28000' && /role .* does not exist/.test(cause))) {
    return new StartupError(`${at}: the server refused the credentials (${cause}): fix the user name and password in the URL`);
  }
  if (code === '28000' && /no encryption/.test(cause)) {
    return new StartupError(`${at}: the server accepts only encrypted connections (${cause}): set EXTREPO_DATABASE_SSL=require or verify-full`);
  }
  if (code === '28000') {
    return new StartupError(`${at}: the server refused the connection (${cause}): allow this client in pg_hba.conf or fix the URL`);
  }
  if (code === '3D000') {
    return new StartupError(`${at}: ${cause}: create the database (CREATE DATABASE …) or fix its name in the URL`);
  }
  if (/does not support SSL/i.test(cause)) {
    return new StartupError(
      `EXTREPO_DATABASE_SSL=${db.ssl}: the server at ${label} does not accept TLS: set EXTREPO_DATABASE_SSL=disable, or enable ssl on the server`,
    );
  }
  if (CERTIFICATE_ERRORS.has(code)) {
    return new StartupError(
      `EXTREPO_DATABASE_SSL=${db.ssl}: the certificate of ${label} cannot be verified (${cause}): set EXTREPO_DATABASE_SSL_CA_FILE to the CA that signed it, or EXTREPO_DATABASE_SSL=require to encrypt without verifying`,
    );
  }
  return new StartupError(`${at}: cannot open the database: ${cause}`);
}

function describeEmbeddedStoreError(error: unknown, config: Config): StartupError {
  // The SQLite store's own messages already name the setting (e.g. "in use by another process … EXTREPO_DATABASE_URL").
  return new StartupError(`EXTREPO_DATA_DIR=${config.dataDir}: cannot open the embedded database: ${describeCause(error)}`);
}

export function describeBucketError(error: unknown, config: Config): StartupError {
  const s3 = config.s3;
  if (s3 === null) {
    return new StartupError(`EXTREPO_DATA_DIR=${config.dataDir}: cannot open the blob directory: ${describeCause(error)}`);
  }
  const where = `EXTREPO_S3_BUCKET=${s3.bucket}${s3.endpoint ? ` at EXTREPO_S3_ENDPOINT=${s3.endpoint}` : ''}`;
  const name = (error as Error | undefined)?.name ?? '';
  const status = (error as ErrorWithCode | undefined)?.$metadata?.httpStatusCode;
  const code = codeOf(error);
  if (name === 'NotFound' || name === 'NoSuchBucket' || status === 404) {
    return new StartupError(`${where}: the bucket does not exist: create it, or fix EXTREPO_S3_BUCKET (and EXTREPO_S3_REGION / EXTREPO_S3_ENDPOINT)`);
  }
  if (name === 'CredentialsProviderError' || /credentials/i.test(describeCause(error))) {
    return new StartupError(
      `${where}: no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or give the machine an IAM role)`,
    );
  }
  if (status === 403 || name === 'Forbidden' || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new StartupError(
      `${where}: access denied (${name || status}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and that they may read and write the bucket`,
    );
  }
  if (status === 301 || name === 'PermanentRedirect') {
    return new StartupError(`${where}: the bucket is in another region: set EXTREPO_S3_REGION to the bucket's region`);
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ETIMEDOUT') {
    return new StartupError(
      `${where}: cannot reach the S3 endpoint (${describeCause(error)}): check EXTREPO_S3_ENDPOINT and that the store is running`,
    );
  }
  return new StartupError(`${where}: the bucket cannot be used: ${describeCause(error)}`);
}

export function describeTlsError(error: unknown, config: Config): StartupError {
  const tls = config.tls!;
  const cause = describeCause(error);
  const code = codeOf(error);
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    const setting = cause.includes(tls.keyFile) ? `EXTREPO_TLS_KEY=${tls.keyFile}` : `EXTREPO_TLS_CERT=${tls.certFile}`;
    return new StartupError(`${setting}: the file cannot be read (${cause}): give a PEM file readable by this user`);
  }
  return new StartupError(
    `EXTREPO_TLS_CERT=${tls.certFile} EXTREPO_TLS_KEY=${tls.keyFile}: not a usable certificate and key (${cause}): give the PEM certificate chain and the PEM private key that belongs to it`,
  );
}
