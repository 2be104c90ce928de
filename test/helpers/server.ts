// A real extrepo server for a test: real SQLite and a real blob directory in a temporary data dir,
// listening on a loopback port; every API response is checked against Elastic's spec.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { BlobStore } from '../../src/stores/blob-store.js';
import { openFsBlobStore } from '../../src/stores/fs/fs-blob-store.js';
import type { MetadataStore } from '../../src/stores/metadata-store.js';
import { openSqliteMetadataStore } from '../../src/stores/sqlite/sqlite-metadata-store.js';
import { assertMatchesSpec } from './spec-validator.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestServer {
  url: string;
  config: Config;
  store: MetadataStore;
  blobs: BlobStore;
  dataDir: string;
  app: App;
  /** Calls the API as the admin (unless headers override it) and checks the response against the spec. */
  api(method: string, apiPath: string, options?: ApiOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiOptions {
  json?: unknown;
  body?: BodyInit | Buffer | null;
  headers?: Record<string, string>;
  /** Skip the spec check (for responses that are deliberately not JSON). */
  raw?: boolean;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-test-'));
  const config = loadConfig({
    EXTREPO_DATA_DIR: dataDir,
    EXTREPO_PORT: '0',
    EXTREPO_ADMIN_API_KEY: ADMIN_KEY,
    EXTREPO_LOG_LEVEL: 'silent',
    ...env,
  });
  const store = await openSqliteMetadataStore(path.join(dataDir, 'extrepo.sqlite3'));
  const blobs = await openFsBlobStore(path.join(dataDir, 'blobs'));
  const app = await buildApp({ config, store, blobs, logger: false });
  const address = await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  app.setListeningAddress(address);

  const api: TestServer['api'] = async (method, apiPath, options = {}) => {
    const headers: Record<string, string> = { authorization: `ApiKey ${ADMIN_KEY}`, ...options.headers };
    let body = options.body as BodyInit | null | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(address + apiPath, { method, headers, body: body ?? null, duplex: 'half' } as RequestInit);
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (!options.raw) {
      await assertMatchesSpec({ method, path: apiPath.split('?')[0]!, status: response.status, headers: response.headers, body: parsed });
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };

  return {
    url: address,
    config,
    store,
    blobs,
    dataDir,
    app,
    api,
    async close() {
      await app.fastify.close();
      await store.close();
      await blobs.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
