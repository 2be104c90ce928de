// A real extrepo server for a test, listening on a loopback port; every API response is checked
// against Elastic's spec. The backend comes from EXTREPO_TEST_BACKEND:
//   sqlite-fs (default)  real SQLite and a real blob directory in a temporary data dir
//   postgres-s3          a fresh PostgreSQL database and a fresh S3 bucket for each server, on the
//                        servers named by EXTREPO_TEST_DATABASE_URL / EXTREPO_TEST_S3_ENDPOINT (which
//                        scripts/run-tests.mjs starts once for the whole run), or else on a PostgreSQL
//                        cluster and an s3rver this process starts on first use and stops before it exits.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { buildApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { BlobStore } from '../../src/stores/blob-store.js';
import type { MetadataStore } from '../../src/stores/metadata-store.js';
import { openStores, storeOptionsFromConfig } from '../../src/stores/open-stores.js';
import { bucketView } from './bucket.js';
import { adminQuery, createDatabase } from './postgres.js';
import { S3RVER_CREDENTIALS } from './s3.js';
import { assertMatchesSpec } from './spec-validator.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export type TestBackend = 'sqlite-fs' | 'postgres-s3';

export function testBackend(): TestBackend {
  const value = process.env.EXTREPO_TEST_BACKEND || 'sqlite-fs';
  if (value !== 'sqlite-fs' && value !== 'postgres-s3') {
    throw new Error(`EXTREPO_TEST_BACKEND must be sqlite-fs or postgres-s3, got "${value}"`);
  }
  return value;
}

export interface TestServer {
  url: string;
  config: Config;
  store: MetadataStore;
  blobs: BlobStore;
  dataDir: string;
  app: App;
  backend: TestBackend;
  /** Calls the API as the admin (unless headers override it) and checks the response against the spec. */
  api(method: string, apiPath: string, options?: ApiOptions): Promise<ApiResponse>;
  /**
   * Everything the blob store holds, committed or not, sorted: "sha256/…" paths for committed blobs
   * (the hash is the last segment), others (e.g. "incoming/…") for uploads in progress or left behind.
   */
  storedFiles(): Promise<string[]>;
  /** Closes the app and the stores, then opens both again on the same data (a restart; `url` changes). */
  restart(): Promise<void>;
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

/** The settings of a fresh database and bucket (postgres-s3), as extrepo's environment variables. */
export interface SharedStorage {
  env: Record<string, string>;
  /** Drops the database (the bucket goes with the S3 server). */
  release(): Promise<void>;
}

let ownServers: Promise<{ databaseUrl: string; s3Endpoint: string }> | null = null;

/**
 * This process's own PostgreSQL and s3rver, in a child process (services.ts) started on first use:
 * it does not keep this process alive, and removes everything once this process is gone.
 */
function ownStorageServers(): Promise<{ databaseUrl: string; s3Endpoint: string }> {
  ownServers ??= new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./services.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let output = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`test storage servers exited with ${code} before starting`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const newline = output.indexOf('\n');
      if (newline < 0) return;
      child.stdout.destroy();
      child.unref();
      (child.stdin as unknown as { unref(): void }).unref();
      resolve(JSON.parse(output.slice(0, newline)) as { databaseUrl: string; s3Endpoint: string });
    });
  });
  return ownServers;
}

/** A fresh database + bucket for a postgres-s3 server (or for extrepo processes a test spawns). */
export async function freshSharedStorage(): Promise<SharedStorage> {
  const externalDb = process.env.EXTREPO_TEST_DATABASE_URL;
  const externalS3 = process.env.EXTREPO_TEST_S3_ENDPOINT;
  let serverUrl: string;
  let endpoint: string;
  if (externalDb && externalS3) {
    serverUrl = externalDb;
    endpoint = externalS3;
  } else {
    const own = await ownStorageServers();
    serverUrl = externalDb || own.databaseUrl;
    endpoint = externalS3 || own.s3Endpoint;
  }
  const suffix = randomBytes(6).toString('hex');
  const database = `extrepo_t_${suffix}`;
  const databaseUrl = await createDatabase(serverUrl, database);
  const bucket = `extrepo-t-${suffix}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  let released = false;
  return {
    env: {
      EXTREPO_DATABASE_URL: databaseUrl,
      EXTREPO_DATABASE_POOL_SIZE: '4',
      EXTREPO_S3_BUCKET: bucket,
      EXTREPO_S3_ENDPOINT: endpoint,
      EXTREPO_S3_REGION: 'us-east-1',
      EXTREPO_S3_FORCE_PATH_STYLE: 'true',
      EXTREPO_S3_PREFIX: 'extrepo/',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
    async release() {
      if (released) return;
      released = true;
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    },
  };
}

export async function startServer(
  env: Record<string, string> = {},
  appOptions: Pick<AppOptions, 'newExtensionId' | 'beforeRoutes'> = {},
): Promise<TestServer> {
  const backend = testBackend();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'extrepo-test-'));
  const shared = backend === 'postgres-s3' ? await freshSharedStorage() : null;
  let config: Config;
  let stores: Awaited<ReturnType<typeof openStores>>;
  try {
    config = loadConfig({
      EXTREPO_DATA_DIR: dataDir,
      EXTREPO_PORT: '0',
      EXTREPO_ADMIN_API_KEY: ADMIN_KEY,
      EXTREPO_LOG_LEVEL: 'silent',
      ...shared?.env,
      ...env,
    });
    // The SDK's credential chain reads the process environment.
    if (shared) {
      process.env.AWS_ACCESS_KEY_ID ??= shared.env.AWS_ACCESS_KEY_ID;
      process.env.AWS_SECRET_ACCESS_KEY ??= shared.env.AWS_SECRET_ACCESS_KEY;
    }
    stores = await openStores(await storeOptionsFromConfig(config));
  } catch (error) {
    await shared?.release();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let { metadata: store, blobs } = stores;
  let app = await buildApp({ config, store, blobs, logger: false, ...appOptions });
  let address = await app.fastify.listen({ host: '127.0.0.1', port: 0 });
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

  const storedFiles = async (): Promise<string[]> => {
    const found: string[] = [];
    if (config.s3 === null) {
      const root = path.join(dataDir, 'blobs');
      const walk = async (dir: string) => {
        for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) await walk(full);
          else found.push(path.relative(root, full));
        }
      };
      await walk(root);
    } else {
      const { bucket, prefix, endpoint, region } = config.s3;
      const view = bucketView({
        EXTREPO_S3_BUCKET: bucket,
        EXTREPO_S3_PREFIX: prefix,
        EXTREPO_S3_REGION: region,
        ...(endpoint ? { EXTREPO_S3_ENDPOINT: endpoint } : {}),
      });
      try {
        found.push(...(await view.keys()));
      } finally {
        view.close();
      }
    }
    return found.sort();
  };

  const server: TestServer = {
    url: address,
    storedFiles,
    config,
    store,
    blobs,
    dataDir,
    app,
    backend,
    api,
    async restart() {
      await app.fastify.close();
      await store.close();
      await blobs.close();
      ({ metadata: store, blobs } = await openStores(await storeOptionsFromConfig(config)));
      app = await buildApp({ config, store, blobs, logger: false, ...appOptions });
      address = await app.fastify.listen({ host: '127.0.0.1', port: 0 });
      app.setListeningAddress(address);
      Object.assign(server, { url: address, store, blobs, app });
    },
    async close() {
      await app.fastify.close();
      await store.close();
      await blobs.close();
      await shared?.release();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
