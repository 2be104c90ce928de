// The benchmark's HTTP client: plain node:http, identical for extrepo and the baselines, so the
// client's own cost is the same on both sides of every ratio.
import { createReadStream } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';

const MiB = 1024 * 1024;

/** Keep-alive agent for small JSON calls. Large transfers use a fresh connection each (like curl). */
export const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly response: HttpResponse,
  ) {
    super(`${method} ${url} answered ${response.status}: ${response.body.toString('utf8').slice(0, 500)}`);
  }
}

export interface RequestOptions {
  method: string;
  headers?: http.OutgoingHttpHeaders;
  /** A buffer/string to send, or a function that streams the body into the request and ends it. */
  body?: Buffer | string | ((req: http.ClientRequest) => Promise<void>);
  agent?: http.Agent | false;
  /** Statuses that count as success; anything else throws HttpStatusError. */
  expect?: readonly number[];
  timeoutMs?: number;
}

/** Sends one request and buffers the whole response. */
export async function request(url: string, options: RequestOptions): Promise<HttpResponse> {
  const req = http.request(url, {
    method: options.method,
    headers: options.headers,
    agent: options.agent ?? keepAliveAgent,
    timeout: options.timeoutMs ?? 300_000,
  });
  req.on('timeout', () => req.destroy(new Error(`${options.method} ${url} timed out`)));
  const responded = new Promise<HttpResponse>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
  });
  const body = options.body;
  let sent: Promise<unknown>;
  if (typeof body === 'function') {
    sent = body(req).catch((error: unknown) => error);
  } else {
    req.end(body);
    sent = Promise.resolve();
  }
  let response: HttpResponse;
  try {
    response = await responded;
  } catch (error) {
    // A failed body stream explains more than the socket error it caused.
    const sendError = await sent;
    throw sendError instanceof Error ? sendError : error;
  }
  // If the server answered early (e.g. 4xx before reading everything), the body stream may have
  // failed with EPIPE; the answer is what matters then.
  await sent;
  const expected = options.expect ?? [200];
  if (!expected.includes(response.status)) throw new HttpStatusError(options.method, url, response);
  return response;
}

export async function requestJson<T>(url: string, options: RequestOptions): Promise<T> {
  const response = await request(url, options);
  return JSON.parse(response.body.toString('utf8')) as T;
}

/** Streams a file as the raw request body, like `curl -T file`. */
export function rawBody(filePath: string): (req: http.ClientRequest) => Promise<void> {
  return (req) => pipeline(createReadStream(filePath, { highWaterMark: MiB }), req);
}

/**
 * Streams a file as multipart/form-data with one part `file` named `Extension`, chunked and with no
 * Content-Length — the way the Go SDK uploads. Returns the headers to send alongside.
 */
export function multipartBody(filePath: string): {
  headers: http.OutgoingHttpHeaders;
  body: (req: http.ClientRequest) => Promise<void>;
} {
  const boundary = `----extrepo-bench-${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
  const preamble =
    `--${boundary}\r\n` + 'Content-Disposition: form-data; name="file"; filename="Extension"\r\n' + 'Content-Type: application/octet-stream\r\n\r\n';
  const closing = `\r\n--${boundary}--\r\n`;
  return {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
    body: async (req) => {
      req.write(preamble);
      await pipeline(createReadStream(filePath, { highWaterMark: MiB }), req, { end: false });
      await new Promise<void>((resolve) => req.end(closing, () => resolve()));
    },
  };
}

export interface DownloadResult {
  status: number;
  bytes: number;
  seconds: number;
}

/** Downloads a URL, counting and discarding the bytes. */
export function download(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.get(url, { headers, agent: false, timeout: 300_000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('error', reject);
      res.on('end', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        resolve({ status: res.statusCode ?? 0, bytes, seconds });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** Seconds elapsed while `work` ran. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { value, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Runs `task` for every item with at most `limit` in flight, in order of the items. */
export async function forEachLimited<T>(items: Iterable<T>, limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let index = 0;
  let failed: unknown = null;
  const worker = async () => {
    for (;;) {
      if (failed !== null) return;
      const next = iterator.next();
      if (next.done) return;
      const current = index++;
      try {
        await task(next.value, current);
      } catch (error) {
        failed ??= error;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failed !== null) throw failed;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  bytes: number;
  /** Per-request latency, ms. */
  latencies: number[];
  /** Count per status code. */
  statuses: Record<number, number>;
}

/**
 * Keeps `connections` keep-alive requests in flight for `seconds`, each with the headers `headersFor`
 * returns, discarding the bodies. (autocannon parses large bodies too slowly to measure 1 MiB
 * responses; this plain loop is ~10× faster and the same for both sides.)
 */
export async function loadLoop(url: string, headersFor: () => http.OutgoingHttpHeaders, connections: number, seconds: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const result: LoadResult = { requests: 0, seconds: 0, bytes: 0, latencies: [], statuses: {} };
  const started = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const sent = process.hrtime.bigint();
      const req = http.get(url, { agent, headers: headersFor(), timeout: 30_000 }, (res) => {
        res.on('data', (chunk: Buffer) => {
          result.bytes += chunk.length;
        });
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          result.statuses[status] = (result.statuses[status] ?? 0) + 1;
          result.latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
          result.requests += 1;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
      req.on('error', reject);
    });
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (Date.now() < deadline) await one();
      }),
    );
  } finally {
    agent.destroy();
  }
  result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return result;
}
