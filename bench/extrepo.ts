// Starting extrepo as a child process and talking to its API, the way a client would.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { freePort, startServer, type ServerProcess } from './process.js';
import { YOUNG_GENERATION_FLAG } from '../src/heap-tuning.js';
import { multipartBody, rawBody, request, requestJson } from './client.js';

export interface FileMetadata {
  last_modified_date?: string;
  size: number;
  url: string;
  sha256?: string;
}

export interface Extension {
  id: string;
  name: string;
  version: string;
  extension_type: string;
  url?: string;
  description?: string;
  file_metadata?: FileMetadata;
}

export interface ExtrepoOptions {
  dataDir: string;
  /** Entry file (default src/main.ts). */
  entry?: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Extra environment (the database / object store settings of the postgres-s3 backend). */
  env?: Record<string, string>;
  echo?: boolean;
}

export class Extrepo {
  readonly api: string;
  private readonly auth: http.OutgoingHttpHeaders;

  constructor(
    readonly server: ServerProcess,
    readonly apiKey: string,
  ) {
    this.api = `${server.baseUrl}/api/v1/deployments/extensions`;
    this.auth = { authorization: `ApiKey ${apiKey}` };
  }

  get authHeader(): string {
    return `ApiKey ${this.apiKey}`;
  }

  create(name: string, description = 'extrepo benchmark'): Promise<Extension> {
    const body = JSON.stringify({ name, version: '*', extension_type: 'bundle', description });
    return requestJson<Extension>(this.api, {
      method: 'POST',
      headers: { ...this.auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      body,
      expect: [201],
    });
  }

  uploadFile(id: string, filePath: string, size: number): Promise<Extension> {
    return requestJson<Extension>(`${this.api}/${encodeURIComponent(id)}`, {
      method: 'PUT',
      headers: { ...this.auth, 'content-type': 'application/zip', 'content-length': size },
      body: rawBody(filePath),
      agent: false,
    });
  }

  uploadMultipart(id: string, filePath: string): Promise<Extension> {
    const multipart = multipartBody(filePath);
    return requestJson<Extension>(`${this.api}/${encodeURIComponent(id)}`, {
      method: 'PUT',
      headers: { ...this.auth, ...multipart.headers },
      body: multipart.body,
      agent: false,
    });
  }

  uploadBuffer(id: string, zip: Buffer): Promise<Extension> {
    return requestJson<Extension>(`${this.api}/${encodeURIComponent(id)}`, {
      method: 'PUT',
      headers: { ...this.auth, 'content-type': 'application/zip', 'content-length': zip.length },
      body: zip,
    });
  }

  get(id: string): Promise<Extension> {
    return requestJson<Extension>(`${this.api}/${encodeURIComponent(id)}`, { method: 'GET', headers: this.auth });
  }

  async list(): Promise<{ count: number; bytes: number }> {
    const body = await this.fetchList();
    const parsed = JSON.parse(body.toString('utf8')) as { extensions?: unknown[] };
    return { count: parsed.extensions?.length ?? 0, bytes: body.length };
  }

  /** The list response, read to its last byte but not parsed (what a latency sample should time). */
  async fetchList(): Promise<Buffer> {
    const response = await request(this.api, { method: 'GET', headers: this.auth });
    if (response.status !== 200) throw new Error(`listing answered ${response.status}`);
    return response.body;
  }

  async delete(id: string): Promise<void> {
    await request(`${this.api}/${encodeURIComponent(id)}`, { method: 'DELETE', headers: this.auth });
  }
}

/**
 * Environment for the child: ours minus any EXTREPO_* and AWS_* settings (so only the stores the bench
 * chose are used, with the bench's credentials), plus the bench's.
 */
function childEnv(options: ExtrepoOptions, settings: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (name.startsWith('EXTREPO_') || name.startsWith('AWS_')) continue;
    env[name] = value;
  }
  return { ...env, ...settings, ...options.env };
}

function isCompiled(entry: string | undefined): boolean {
  return entry !== undefined && entry.endsWith('.js');
}

export async function startExtrepo(options: ExtrepoOptions): Promise<Extrepo> {
  const port = await freePort();
  const apiKey = randomBytes(24).toString('base64url');
  const settings = {
    EXTREPO_PORT: String(port),
    EXTREPO_HOST: '127.0.0.1',
    EXTREPO_DATA_DIR: options.dataDir,
    EXTREPO_ADMIN_API_KEY: apiKey,
    EXTREPO_LOG_LEVEL: 'warn',
    EXTREPO_MAX_FILE_BYTES: String(64 * 1024 ** 3),
  };
  const server = await startServer({
    name: 'extrepo',
    // The young generation's floor that `npm start`, the Dockerfile and the systemd unit set (src/heap-tuning.ts).
    // A compiled entry (--server-entry dist/main.js, after npm run build) runs without the TypeScript
    // loader, as in production: tsx alone adds about 45 MiB of RSS.
    args: [
      YOUNG_GENERATION_FLAG,
      ...(options.nodeArgs ?? []),
      ...(isCompiled(options.entry) ? [] : ['--import', 'tsx']),
      options.entry ?? 'src/main.ts',
    ],
    env: childEnv(options, settings),
    replaceEnv: true,
    port,
    timeoutMs: 120_000,
    echo: options.echo ?? false,
  });
  return new Extrepo(server, apiKey);
}
