// Presigned S3 GET URLs for file_metadata.url (EXTREPO_FILE_LINKS=presigned): what Elastic itself
// hands out. AWS Signature V4 in the query string, computed here synchronously (responses render
// many links, and the route code is synchronous) from credentials that the SDK's standard chain
// resolves and a background refresh keeps current. The object store then serves the exact bytes,
// Range included, with no extrepo instance in the path.
//
// A link signed with temporary credentials (an instance role, SSO) stops working when they expire,
// whatever its X-Amz-Expires says: keep EXTREPO_LINK_TTL_SECONDS below their lifetime.
import { createHash, createHmac } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3BlobStoreOptions } from './s3-blob-store.js';

export interface PresignOptions {
  /** Seconds the link is valid (at least; see granularity below), at most 7 days (S3's limit). */
  expiresInSeconds: number;
  /** response-content-type the object store answers with. */
  contentType?: string;
  /** response-content-disposition, e.g. attachment; filename="x.zip". */
  contentDisposition?: string;
}

export interface S3Presigner {
  /** Presigned GET of the committed blob `sha256`. */
  blobUrl(sha256: string, options: PresignOptions, now?: Date): string;
  close(): void;
}

const MAX_EXPIRES_SECONDS = 7 * 24 * 3600;
/** Links are signed as of the start of the minute, so repeated reads within it give the same URL. */
const GRANULARITY_SECONDS = 60;
const REFRESH_MS = 60_000;

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Resolves the credentials once (fails fast if there are none) and keeps them fresh. */
export async function createS3Presigner(options: S3BlobStoreOptions): Promise<S3Presigner> {
  const region = options.region ?? 'us-east-1';
  const client = new S3Client({ region, ...(options.credentials ? { credentials: options.credentials } : {}) });
  const resolve = async (): Promise<Credentials> => {
    const value = await client.config.credentials();
    return {
      accessKeyId: value.accessKeyId,
      secretAccessKey: value.secretAccessKey,
      ...(value.sessionToken ? { sessionToken: value.sessionToken } : {}),
    };
  };
  let credentials = await resolve();
  const timer = setInterval(() => {
    resolve().then(
      (fresh) => {
        credentials = fresh;
      },
      () => undefined, // keep the last good ones; the next refresh retries
    );
  }, REFRESH_MS);
  timer.unref();

  const bucket = options.bucket;
  const prefix = (() => {
    const trimmed = (options.prefix ?? '').replace(/^\/+/, '');
    return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
  })();
  const endpoint = new URL(
    options.endpoint ?? (region.startsWith('cn-') ? `https://s3.${region}.amazonaws.com.cn` : `https://s3.${region}.amazonaws.com`),
  );
  const pathStyle = options.forcePathStyle === true;

  return {
    blobUrl(sha256, presign, now = new Date()) {
      const signedAt = Math.floor(now.getTime() / 1000 / GRANULARITY_SECONDS) * GRANULARITY_SECONDS;
      const query: Record<string, string> = {};
      if (presign.contentType) query['response-content-type'] = presign.contentType;
      if (presign.contentDisposition) query['response-content-disposition'] = presign.contentDisposition;
      return presignGetUrl({
        endpoint,
        pathStyle,
        bucket,
        key: `${prefix}sha256/${sha256}`,
        region,
        credentials,
        signedAt: new Date(signedAt * 1000),
        expiresInSeconds: Math.min(presign.expiresInSeconds + GRANULARITY_SECONDS, MAX_EXPIRES_SECONDS),
        query,
      });
    },
    close() {
      clearInterval(timer);
      client.destroy();
    },
  };
}

export interface PresignRequest {
  /** The S3 endpoint (for virtual-hosted style, the bucket is prepended to its host). */
  endpoint: URL;
  pathStyle: boolean;
  bucket: string;
  key: string;
  region: string;
  credentials: Credentials;
  signedAt: Date;
  expiresInSeconds: number;
  /** Extra signed query parameters (response-content-type, …). */
  query?: Record<string, string>;
}

/** A SigV4 query-string-signed GET URL (AWS "Authenticating Requests: Using Query Parameters"). */
export function presignGetUrl(request: PresignRequest): string {
  const { endpoint, bucket, region, credentials } = request;
  const host = request.pathStyle ? endpoint.host : `${bucket}.${endpoint.host}`;
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const keyPath = request.key.split('/').map(encode).join('/');
  const canonicalUri = request.pathStyle ? `${basePath}/${encode(bucket)}/${keyPath}` : `${basePath}/${keyPath}`;
  const amzDate = request.signedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const params: Array<[string, string]> = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(request.expiresInSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
    ...Object.entries(request.query ?? {}),
  ];
  if (credentials.sessionToken) params.push(['X-Amz-Security-Token', credentials.sessionToken]);
  const query = params
    .map(([name, value]) => [encode(name), encode(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalRequest = ['GET', canonicalUri, query, `host:${host}`, '', 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return `${endpoint.protocol}//${host}${canonicalUri}?${query}&X-Amz-Signature=${signature}`;
}
