// Opens a download_url the way Elastic does (http/https only, URL credentials as Basic auth,
// redirects refused) and safely (address policy, pinned address, timeouts, size limit).
//
// node:http/https rather than undici: a one-off connection per download (`agent: false`) whose
// socket is destroyed with the request, a `lookup` hook to pin the address, and an IncomingMessage
// body that our own stream wrapper can meter without a second layer of buffering.

import http from 'node:http';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { DownloadBody } from './body.js';
import { parseDownloadUrl, redactUrl } from './download-url.js';
import type { DownloadTarget } from './download-url.js';
import { DownloadError, formatSeconds } from './errors.js';
import { resolveDownloadHost } from './resolve.js';
import type { DownloadPolicy, OpenedDownload, ResolvedAddress } from './types.js';

/**
 * Resolves, checks, connects and reads the response headers of `url`. Resolves once a 2xx answer
 * has arrived; the body is then read from `body`. Rejects with a DownloadError, or with
 * `signal.reason` when `signal` aborts (it also aborts the body afterwards).
 */
export async function openDownload(url: string, policy: DownloadPolicy, signal?: AbortSignal): Promise<OpenedDownload> {
  signal?.throwIfAborted();
  const target = parseDownloadUrl(url);
  const where = `${target.hostname}:${target.port}`;

  // One budget for everything up to the response headers, DNS included: a resolver that hangs
  // holds the caller as much as a server that does.
  const opening = new AbortController();
  const timer = setTimeout(() => {
    opening.abort(new DownloadError('timeout', `download_url host ${where} did not respond within ${formatSeconds(policy.connectTimeoutMs)} s`));
  }, policy.connectTimeoutMs);
  const forwardAbort = () => opening.abort(signal?.reason);
  signal?.addEventListener('abort', forwardAbort, { once: true });

  try {
    const addresses = await untilAborted(resolveDownloadHost(target.hostname, policy), opening.signal);
    const { request, response } = await requestHeaders(target, addresses, opening.signal);
    return acceptResponse(target, request, response, policy, where, signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', forwardAbort);
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A `lookup` for the socket that answers with the addresses already checked, so a second DNS
 * answer (DNS rebinding) can never be what the socket connects to.
 */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    // Asynchronous like a real resolver; net.connect does not expect the callback inline.
    process.nextTick(() => {
      if (options.all) {
        callback(
          null,
          addresses.map(({ address, family }) => ({ address, family })),
        );
      } else {
        const first = addresses[0];
        if (first) callback(null, first.address, first.family);
        else callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '', 0);
      }
    });
  };
}

function requestOptions(target: DownloadTarget, addresses: readonly ResolvedAddress[]): RequestOptions & https.RequestOptions {
  const { url } = target;
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const headers: Record<string, string> = {
    // The URL's own host (with a non-default port): virtual hosting and signed URLs depend on it.
    host: url.host,
    'user-agent': 'extrepo',
    accept: '*/*',
    // The body is stored as received; a compressed transfer would store the compressed bytes.
    'accept-encoding': 'identity',
  };
  if (target.authorization !== null) headers.authorization = target.authorization;
  return {
    method: 'GET',
    host,
    port: target.port,
    path: `${url.pathname}${url.search}`,
    headers,
    // A fresh connection per download: nothing pooled outlives it, and destroying the request
    // closes exactly this download's socket.
    agent: false,
    lookup: pinnedLookup(addresses),
    // TLS: SNI and certificate verification against the URL's host name, not the address.
    // (IP literals send no SNI; the certificate is then checked against the IP.)
    ...(target.secure && isIP(host) === 0 ? { servername: host.replace(/\.$/, '') } : {}),
  };
}

function requestHeaders(
  target: DownloadTarget,
  addresses: readonly ResolvedAddress[],
  signal: AbortSignal,
): Promise<{ request: ClientRequest; response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const request = (target.secure ? https : http).request(requestOptions(target, addresses));
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      request.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    // Stays attached after the headers (then a no-op) so a late socket error is never unhandled;
    // the body stream reports it.
    request.on('error', (error) => fail(describeConnectionError(error, target)));
    request.once('response', (response) => {
      if (settled) {
        response.destroy();
        return;
      }
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve({ request, response });
    });
    request.end();
  });
}

function acceptResponse(
  target: DownloadTarget,
  request: ClientRequest,
  response: IncomingMessage,
  policy: DownloadPolicy,
  where: string,
  signal: AbortSignal | undefined,
): OpenedDownload {
  const status = response.statusCode ?? 0;
  // Every refusal below destroys the request, and with it the socket: the body of an error page or
  // an oversized file is of no use, and reading it would only cost time and bandwidth.
  if (status >= 300 && status < 400) {
    request.destroy();
    throw new DownloadError('redirect', redirectMessage(target, status, response.headers.location));
  }
  if (status < 200 || status >= 300) {
    request.destroy();
    throw new DownloadError('http_status', `download_url answered ${status} ${reasonPhrase(status, response)}`.trimEnd());
  }
  const contentLength = parseContentLength(response.headers['content-length']);
  if (contentLength !== null && contentLength > policy.maxBytes) {
    request.destroy();
    throw new DownloadError('too_large', `download_url is ${contentLength} bytes, more than the limit of ${policy.maxBytes} bytes`);
  }
  return {
    body: new DownloadBody(request, response, {
      maxBytes: policy.maxBytes,
      idleTimeoutMs: policy.idleTimeoutMs,
      where,
      signal,
    }),
    contentLength,
    contentType: response.headers['content-type'] ?? null,
  };
}

function redirectMessage(target: DownloadTarget, status: number, location: string | undefined): string {
  const head = `download_url answered ${status} ${reasonPhrase(status)}`.trimEnd();
  if (location === undefined) return `${head} without a Location; redirects are not followed`;
  let quoted: string;
  try {
    // Absolute and without credentials: the message is meant to be acted on ("use the final URL"),
    // and a Location may carry user info just like download_url.
    quoted = redactUrl(new URL(location, target.url));
  } catch {
    quoted = 'an unparseable Location';
  }
  return `${head} with a redirect to ${quoted}; redirects are not followed: use the final URL`;
}

// The standard phrase for known codes: the server's own reason text is arbitrary and ends up in
// an API answer. Only unknown codes fall back to it, cleaned of anything but printable ASCII.
function reasonPhrase(status: number, response?: IncomingMessage): string {
  const standard = http.STATUS_CODES[status];
  if (standard !== undefined) return standard;
  return (response?.statusMessage ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, 80);
}

function parseContentLength(header: string | undefined): number | null {
  if (header === undefined || !/^\d+$/.test(header)) return null;
  return Number(header);
}

function describeConnectionError(error: Error, target: DownloadTarget): DownloadError {
  const where = `${target.hostname}:${target.port}`;
  const code = errorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return new DownloadError('connect', `download_url: connection refused by ${where}`, { cause: error });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return new DownloadError('connect', `download_url: ${where} is unreachable (${code})`, { cause: error });
    case 'ETIMEDOUT':
      return new DownloadError('timeout', `download_url host ${where} did not accept the connection in time`, {
        cause: error,
      });
    default:
      // Node's socket and TLS messages name addresses and certificate problems, never the URL, so
      // they are safe to pass on and are what the user needs (e.g. a certificate mismatch).
      return new DownloadError('network', `download_url: error talking to ${where}: ${error.message}`, { cause: error });
  }
}

// With several addresses Node tries each and reports an AggregateError; it is a refusal only when
// every attempt was refused.
function errorCode(error: Error): string | undefined {
  if (error instanceof AggregateError && error.errors.length > 0) {
    const codes = new Set(error.errors.map((inner: unknown) => (inner as NodeJS.ErrnoException | null)?.code));
    return codes.size === 1 ? [...codes][0] : undefined;
  }
  return (error as NodeJS.ErrnoException).code;
}
