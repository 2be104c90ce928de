// A real HTTP origin in front of a test server that forwards everything and, on request, lies: the
// man in the middle (or the compromised mirror) the CLI's verification exists for. Set the server's
// EXTREPO_PUBLIC_URL to its URL so the signed file links go through it too.
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OriginMode =
  | { kind: 'pass' }
  /** File downloads arrive with one byte changed (same length). */
  | { kind: 'flip-byte' }
  /** File downloads are replaced by `body`, and the extension's file_metadata is rewritten to match it. */
  | { kind: 'serve-instead'; body: Buffer }
  /** File downloads send their headers and the first half of the body, then hang. */
  | { kind: 'stall-file' }
  /** Uploads are read to the end and never answered. */
  | { kind: 'hold-upload' }
  /** File downloads pass unchanged but chunked, without a Content-Length (as some proxies send them). */
  | { kind: 'chunked-file' }
  /** File links arrive with their signature altered, so the server refuses them. */
  | { kind: 'break-signature' };

const FILE_PREFIX = '/extension-files/';
const EXTENSION_PATH = /^\/api\/v1\/deployments\/extensions\/[^/?]+(\?.*)?$/;

export class TamperingOrigin {
  mode: OriginMode = { kind: 'pass' };
  target = '';

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<TamperingOrigin> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const origin = new TamperingOrigin(server, `http://127.0.0.1:${port}`);
    server.on('request', (request, response) => origin.handle(request, response));
    return origin;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '/';
    const isFile = url.startsWith(FILE_PREFIX);
    if (this.mode.kind === 'hold-upload' && request.method === 'PUT') {
      request.resume(); // read it all, answer never
      return;
    }
    const forwarded = new URL(url, this.target);
    if (isFile && this.mode.kind === 'break-signature') forwarded.searchParams.set('signature', 'forged');
    const upstream = http.request(forwarded, {
      method: request.method,
      headers: { ...request.headers, host: new URL(this.target).host },
    });
    upstream.on('error', () => response.destroy());
    // As a real proxy does: a client that goes away (pull's plain reader hanging up on a chunked answer,
    // a Ctrl-C) ends the upstream request too, or the server would wait for it to read the rest.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
    upstream.on('response', (answer) => {
      const mode = this.mode;
      if (isFile && answer.statusCode === 200 && mode.kind === 'chunked-file') {
        const headers = { ...answer.headers };
        delete headers['content-length'];
        response.writeHead(200, headers);
        answer.pipe(response);
      } else if (isFile && answer.statusCode === 200 && (mode.kind === 'flip-byte' || mode.kind === 'serve-instead' || mode.kind === 'stall-file')) {
        this.tamperFile(answer, response, mode);
      } else if (mode.kind === 'serve-instead' && request.method === 'GET' && EXTENSION_PATH.test(url)) {
        this.rewriteMetadata(answer, response, mode.body);
      } else {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      }
    });
  }

  private tamperFile(answer: IncomingMessage, response: ServerResponse, mode: OriginMode): void {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      let body: Buffer = Buffer.concat(chunks);
      const headers = { ...answer.headers };
      delete headers.etag;
      if (mode.kind === 'flip-byte') {
        body = Buffer.from(body);
        const at = Math.floor(body.length / 2);
        body[at] = body[at]! ^ 0xff;
      } else if (mode.kind === 'serve-instead') {
        body = mode.body;
      }
      headers['content-length'] = String(body.length);
      response.writeHead(200, headers);
      if (mode.kind === 'stall-file') response.write(body.subarray(0, Math.floor(body.length / 2)));
      else response.end(body);
    });
  }

  private rewriteMetadata(answer: IncomingMessage, response: ServerResponse, body: Buffer): void {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      const extension = JSON.parse(Buffer.concat(chunks).toString()) as { file_metadata?: Record<string, unknown> };
      if (extension.file_metadata) {
        extension.file_metadata.size = body.length;
        extension.file_metadata.sha256 = createHash('sha256').update(body).digest('hex');
      }
      const text = JSON.stringify(extension);
      response.writeHead(answer.statusCode ?? 200, { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) });
      response.end(text);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
