// The running server's local control socket, <data dir>/control.sock: how `npm run backup` asks the
// server that holds the embedded database (opened exclusively, so no other process can read it)
// to back itself up. It is a Unix socket with mode 0600 in the data dir: only the server's own
// user (or root), who can read the data dir anyway, can use it; no credentials are involved.
//
//   POST /backup  {"dir": "/absolute/path"}  → 200 the backup's manifest | 4xx/5xx {"error": "…"}
import { chmod, unlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { BackupManifest } from './backup-layout.js';
import { BackupRefusedError, backupEmbedded, type BackupSource } from './embedded-backup.js';

export const CONTROL_SOCKET = 'control.sock';
/** Unix socket paths longer than this do not fit in sockaddr_un on Linux. */
const MAX_SOCKET_PATH = 107;

export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, CONTROL_SOCKET);
}

export interface ControlSocket {
  close(): Promise<void>;
}

export interface ControlSocketOptions {
  dataDir: string;
  source: BackupSource;
  onBackup?: (outcome: { dir: string; manifest?: BackupManifest; error?: unknown }) => void;
}

/** Listens on the data dir's control socket; null if its path is too long for a Unix socket. */
export async function startControlSocket(options: ControlSocketOptions): Promise<ControlSocket | null> {
  const socketPath = controlSocketPath(options.dataDir);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) return null;
  let running = false;
  const server = http.createServer((request, response) => {
    const answer = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    };
    if (request.method !== 'POST' || request.url !== '/backup') return answer(404, { error: 'unknown operation' });
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      let dir: unknown;
      try {
        dir = (JSON.parse(text) as { dir?: unknown }).dir;
      } catch {
        dir = undefined;
      }
      if (typeof dir !== 'string' || !path.isAbsolute(dir)) return answer(400, { error: 'give the backup directory as an absolute path' });
      if (running) return answer(409, { error: 'a backup is already running; wait for it to finish' });
      running = true;
      backupEmbedded(options.source, dir).then(
        (manifest) => {
          running = false;
          options.onBackup?.({ dir, manifest });
          answer(200, manifest);
        },
        (error: unknown) => {
          running = false;
          options.onBackup?.({ dir, error });
          answer(error instanceof BackupRefusedError ? 409 : 500, { error: (error as Error).message });
        },
      );
    });
  });
  // Only a crashed server leaves the socket file behind: this process holds the database
  // exclusively, so no other live server can be listening on it.
  await unlink(socketPath).catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return {
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(socketPath).catch(() => undefined);
    },
  };
}

export class ControlSocketUnavailable extends Error {
  override name = 'ControlSocketUnavailable';
}

/** Asks the server on `dataDir` for a backup; ControlSocketUnavailable when no server listens there. */
export function requestBackup(dataDir: string, dir: string): Promise<BackupManifest> {
  return new Promise((resolve, reject) => {
    const request = http.request({
      socketPath: controlSocketPath(dataDir),
      method: 'POST',
      path: '/backup',
      headers: { 'content-type': 'application/json' },
    });
    request.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') reject(new ControlSocketUnavailable(error.message));
      else reject(error);
    });
    request.once('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let body: { error?: string } & Partial<BackupManifest>;
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          reject(new Error(`the server answered ${response.statusCode} without a readable body`));
          return;
        }
        if (response.statusCode === 200) resolve(body as BackupManifest);
        else if (response.statusCode === 409 || response.statusCode === 400) reject(new BackupRefusedError(body.error ?? 'refused'));
        else reject(new Error(body.error ?? `the server answered ${response.statusCode}`));
      });
    });
    request.end(JSON.stringify({ dir }));
  });
}
