// The baselines: the simplest servers that do the same job, so extrepo's figures can be read as a
// fraction of what this machine and Node can do at all. Runs as its own process:
//
//   node --import tsx bench/baselines.ts files   --port <p> --dir <data dir>
//   node --import tsx bench/baselines.ts metadata --port <p> --json <file with one extension's JSON>
//
// `files`: PUT/POST /upload pipes the body through sha256 into a temp file, fsyncs it, renames it to
// its hash (and fsyncs the directory); GET /files/<name> serves a file with single-range support;
// DELETE /files/<name> removes it. The body is treated as opaque bytes (no multipart, no zip check).
// `metadata`: a bare Fastify route, GET /api/v1/deployments/extensions/:id, returning the JSON from
// memory (serialized per request, no auth, no lookup).
// Both exit when their stdin closes, so they cannot outlive the benchmark that started them.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Fastify from 'fastify';

/** Passes bytes through unchanged while hashing them. */
class HashingPassThrough extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handleUpload(dir: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const tempPath = path.join(dir, `.upload-${randomBytes(8).toString('hex')}`);
  try {
    const hashing = new HashingPassThrough();
    // flush: fsync the file before its descriptor is closed (the pipeline ends after the close).
    await pipeline(req, hashing, createWriteStream(tempPath, { flush: true }));
    const sha256 = hashing.hash.digest('hex');
    await rename(tempPath, path.join(dir, sha256));
    const dirHandle = await open(dir, 'r');
    await dirHandle.sync();
    await dirHandle.close();
    sendJson(res, 200, { sha256, size: hashing.bytes });
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
}

/** Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range; null = whole file, 'invalid' = 416. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = '', last = ''] = match;
  let start: number;
  let end: number;
  if (first === '') {
    if (last === '') return 'invalid';
    start = Math.max(0, size - Number(last));
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

async function handleDownload(filePath: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let size: number;
  try {
    size = (await stat(filePath)).size;
  } catch {
    sendJson(res, 404, { error: 'not found' });
    return;
  }
  const range = parseRange(req.headers.range, size);
  if (range === 'invalid') {
    res.writeHead(416, { 'content-range': `bytes */${size}` });
    res.end();
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/zip',
    'content-length': end - start + 1,
    'accept-ranges': 'bytes',
  };
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
  await pipeline(createReadStream(filePath, { start, end }), res);
}

function startFilesServer(port: number, dir: string): http.Server {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const work = async () => {
      if (url === '/healthz') return sendJson(res, 200, { ok: true });
      if (url === '/upload' && (req.method === 'PUT' || req.method === 'POST')) return handleUpload(dir, req, res);
      const fileMatch = /^\/files\/([0-9a-f]{64})$/.exec(url);
      if (fileMatch?.[1]) {
        const filePath = path.join(dir, fileMatch[1]);
        if (req.method === 'GET') return handleDownload(filePath, req, res);
        if (req.method === 'DELETE') {
          await unlink(filePath).catch(() => undefined);
          return sendJson(res, 200, {});
        }
      }
      sendJson(res, 404, { error: 'not found' });
    };
    work().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (error as Error).message });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1');
  return server;
}

async function startMetadataServer(port: number, jsonFile: string): Promise<{ close(): Promise<void> }> {
  const extension = JSON.parse(await readFile(jsonFile, 'utf8')) as unknown;
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/api/v1/deployments/extensions/:id', async () => extension);
  await app.listen({ port, host: '127.0.0.1' });
  return app;
}

function argument(args: string[], name: string): string {
  const index = args.indexOf(name);
  const value = index >= 0 ? args[index + 1] : undefined;
  if (value === undefined) throw new Error(`missing ${name}`);
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mode = args[0];
  const port = Number(argument(args, '--port'));
  let close: () => Promise<void>;
  if (mode === 'files') {
    const server = startFilesServer(port, argument(args, '--dir'));
    close = () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
  } else if (mode === 'metadata') {
    const app = await startMetadataServer(port, argument(args, '--json'));
    close = () => app.close();
  } else {
    throw new Error(`unknown mode ${String(mode)} (expected "files" or "metadata")`);
  }
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(0), 2000);
    force.unref();
    close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
