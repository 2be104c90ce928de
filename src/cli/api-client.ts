// The CLI's one HTTP client for extrepo's API (the server's code is never imported: the CLI is a
// client like ecctl). Plain node:http(s) rather than fetch, for streamed request bodies with a
// Content-Length, backpressure both ways and an AbortSignal on every call.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { ApiFailure, CliError, InterruptedError } from './cli-errors.js';

export const API_BASE = '/api/v1';

interface SendOptions {
  method: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** Send the credentials (not for signed file links, which carry their own). */
  authenticate?: boolean;
}

export class ApiClient {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true }),
  };

  constructor(
    readonly baseUrl: string,
    private readonly authorization: string | null,
    readonly userAgent = 'extrepo-cli',
  ) {}

  /** An API call with an optional JSON body; resolves to the parsed JSON answer. */
  async json<T = unknown>(method: string, apiPath: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      headers['content-type'] = 'application/json';
    }
    const response = await this.send(this.apiUrl(apiPath), {
      method,
      headers,
      ...(payload ? { body: payload } : {}),
      ...(signal ? { signal } : {}),
    });
    return (await readJson(response)) as T;
  }

  /** PUTs a file as a raw body (Elastic's recommended `curl -T` form) of exactly `length` bytes. */
  async upload<T = unknown>(apiPath: string, body: Readable, length: number, signal?: AbortSignal): Promise<T> {
    const response = await this.send(this.apiUrl(apiPath), {
      method: 'PUT',
      headers: { 'content-type': 'application/zip', 'content-length': String(length), accept: 'application/json' },
      body,
      ...(signal ? { signal } : {}),
    });
    return (await readJson(response)) as T;
  }

  /** GETs a signed file link; resolves once a 200 arrives, with the body still to be read. */
  async openDownload(url: string, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.send(new URL(url), { method: 'GET', authenticate: false, ...(signal ? { signal } : {}) });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private apiUrl(apiPath: string): URL {
    // baseUrl may carry a path prefix (behind a proxy), which new URL(path, base) would drop.
    return new URL(this.baseUrl + API_BASE + apiPath);
  }

  private send(url: URL, options: SendOptions): Promise<IncomingMessage> {
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...options.headers };
    if (options.authenticate !== false && this.authorization) headers.authorization = this.authorization;
    if (Buffer.isBuffer(options.body)) headers['content-length'] = String(options.body.length);
    else if (options.body === undefined && options.method !== 'GET') headers['content-length'] = '0';

    return new Promise<IncomingMessage>((resolve, reject) => {
      if (options.signal?.aborted) return reject(new InterruptedError());
      let settled = false;
      let requestError: Error | null = null;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        action();
      };
      const request = (isHttps ? https : http).request(url, {
        method: options.method,
        headers,
        agent: isHttps ? this.agents.https : this.agents.http,
      });
      const onAbort = () => {
        request.destroy();
        if (body && !body.destroyed) body.destroy();
        settle(() => reject(new InterruptedError()));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });

      request.once('response', (response) => {
        // An error answer can arrive while the body is still being sent (a file over the server's
        // limit, an archive it rejects half-way): stop sending and report the answer.
        if (body && !body.readableEnded) body.unpipe(request);
        if (response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300) {
          settle(() => resolve(response));
          return;
        }
        readFailure(response).then(
          (failure) => settle(() => reject(failure)),
          (error: unknown) => settle(() => reject(error)),
        );
      });
      request.on('error', (error) => {
        requestError = error;
        // The server may already have answered (and then closed the connection mid-body): give
        // that answer a moment to be read, since it says why far better than EPIPE does.
        setTimeout(() => settle(() => reject(networkError(url, requestError ?? error))), 200);
      });

      const body = Buffer.isBuffer(options.body) ? null : (options.body ?? null);
      if (Buffer.isBuffer(options.body)) {
        request.end(options.body);
      } else if (body) {
        body.once('error', (error) => {
          request.destroy();
          settle(() => reject(error));
        });
        body.pipe(request);
      } else {
        request.end();
      }
    });
  }
}

function networkError(url: URL, error: Error): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  const origin = url.origin;
  if (code === 'ECONNREFUSED') return new CliError(`cannot reach ${origin}: connection refused (is the server running? check --url or EXTREPO_URL)`);
  if (code === 'ENOTFOUND') return new CliError(`cannot reach ${origin}: unknown host`);
  if (code === 'EPIPE' || code === 'ECONNRESET') return new CliError(`the connection to ${origin} was closed during the transfer (${code})`);
  return new CliError(`request to ${origin} failed: ${error.message}`);
}

async function readText(response: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new CliError(`the server's answer is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(response: IncomingMessage): Promise<unknown> {
  const text = await readText(response, 256 * 1024 * 1024);
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`the server answered ${response.statusCode} with something that is not JSON`);
  }
}

/** A BasicFailedReply becomes an ApiFailure with the first error's code and message. */
async function readFailure(response: IncomingMessage): Promise<ApiFailure> {
  const status = response.statusCode ?? 0;
  const text = await readText(response).catch(() => '');
  try {
    const reply = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string; fields?: string[] }> };
    const first = reply.errors?.[0];
    if (first?.code && first.message !== undefined) {
      return new ApiFailure(status, first.code, first.message, Array.isArray(first.fields) ? first.fields : []);
    }
  } catch {
    // not a BasicFailedReply: fall through
  }
  return new ApiFailure(status, `http.${status}`, text.trim().slice(0, 500) || `the server answered HTTP ${status}`);
}
