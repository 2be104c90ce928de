// The one typed client of extrepo's HTTP API that every page uses: it adds the credential, turns
// BasicFailedReply answers into ApiFailure (code, message, the fields it names, Retry-After), and
// uploads files with progress. Like ecctl, the console only speaks the public API.
import type {
  ApiKeyResponse,
  AuditQuery,
  AuditRecords,
  BrowseQuery,
  CreateExtensionRequest,
  ExtensionFileVersions,
  ExtensionView,
  ExtensionViewPage,
  Role,
  SignedInInfo,
  TokenResponse,
  UserView,
} from './types';

const noop = (): void => undefined;
const BASE = '/api/v1';

export type Credential = { kind: 'token'; token: string; expiresAt: string } | { kind: 'apiKey'; key: string };

export function authorizationOf(credential: Credential): string {
  return credential.kind === 'token' ? `Bearer ${credential.token}` : `ApiKey ${credential.key}`;
}

/** A refusal from the server, as its BasicFailedReply said it. */
export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: string[] = [],
    /** Seconds, from Retry-After (429). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

interface FailedReply {
  errors?: Array<{ code?: string; message?: string; fields?: string[] }>;
}

async function failureOf(response: Response): Promise<ApiFailure> {
  let body: FailedReply = {};
  try {
    body = (await response.json()) as FailedReply;
  } catch {
    // Not JSON (a proxy in between, say): the status line is all there is.
  }
  const first = body.errors?.[0];
  const retry = response.headers.get('retry-after');
  return new ApiFailure(
    response.status,
    first?.code ?? `http.${response.status}`,
    first?.message ?? `The server answered ${response.status} ${response.statusText}.`,
    first?.fields ?? [],
    retry !== null && /^\d+$/.test(retry) ? Number(retry) : null,
  );
}

export interface UploadProgress {
  loaded: number;
  total: number;
  /** Bytes per second since the upload started. */
  rate: number;
  /** Seconds left at that rate, or null before it is known. */
  secondsLeft: number | null;
}

export interface Upload {
  done: Promise<ExtensionView>;
  cancel(): void;
}

export class UploadCancelled extends Error {
  override name = 'UploadCancelled';
}

/** The path of one page of the extensions list. */
export function browsePath(query: BrowseQuery): string {
  const params = new URLSearchParams({ sort: `${query.sort}:${query.order}`, size: String(query.size) });
  if (query.search) params.set('search', query.search);
  if (query.type) params.set('type', query.type);
  if (query.cursor) params.set('cursor', query.cursor);
  if (query.includeDeployments) params.set('include_deployments', 'true');
  return `/deployments/extensions?${params.toString()}`;
}

/** A GET started ahead of its caller: the credential it went with, its answer, and that answer once it is in. */
interface EarlyGet {
  credential: Credential | null;
  answer: Promise<unknown>;
  arrived?: { value: unknown };
}

export class ApiClient {
  /** GETs started ahead of their caller (see prefetch), with the credential they were sent with. */
  private readonly early = new Map<string, EarlyGet>();

  constructor(private readonly credential: () => Credential | null) {}

  /**
   * Starts a GET now; the next call of the same path with the same credential takes its answer,
   * once. The console asks for the first page's data beside the session check instead of after it:
   * a cold load otherwise waits for the check, then for the page to mount, then for the data.
   */
  prefetch(path: string): Promise<void> {
    const known = this.early.get(path);
    if (known !== undefined) return known.answer.then(noop, noop);
    const answer = this.call('GET', path);
    const entry: EarlyGet = { credential: this.credential(), answer };
    this.early.set(path, entry);
    // Settles when the answer has arrived, and never rejects: the caller of the GET sees the failure.
    return answer.then((value) => {
      entry.arrived = { value };
    }, noop);
  }

  /**
   * The answer of a prefetched GET that has already arrived, taken once, for a page's first render;
   * undefined if it has not arrived (or failed, or was sent with another credential).
   */
  takeArrived<T>(path: string): T | undefined {
    const early = this.early.get(path);
    if (early?.arrived === undefined || early.credential !== this.credential()) return undefined;
    this.early.delete(path);
    return early.arrived.value as T;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const credential = this.credential();
    return { accept: 'application/json', ...(credential ? { authorization: authorizationOf(credential) } : {}), ...extra };
  }

  private async call<T>(method: string, path: string, body?: unknown, credentialOverride?: Credential): Promise<T> {
    const early = method === 'GET' && credentialOverride === undefined ? this.early.get(path) : undefined;
    if (early !== undefined) {
      this.early.delete(path);
      // Signed in as someone else since, or the early request failed: ask again.
      if (early.credential === this.credential()) return (early.answer as Promise<T>).catch(() => this.call<T>(method, path));
    }
    const headers = this.headers(body === undefined ? {} : { 'content-type': 'application/json' });
    if (credentialOverride) headers.authorization = authorizationOf(credentialOverride);
    const response = await fetch(`${BASE}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await failureOf(response);
    return (await response.json()) as T;
  }

  // Sessions
  login(username: string, password: string): Promise<TokenResponse> {
    return this.call('POST', '/users/auth/_login', { username, password });
  }
  refresh(): Promise<TokenResponse> {
    return this.call('POST', '/users/auth/_refresh');
  }
  logout(): Promise<unknown> {
    return this.call('POST', '/users/auth/_logout');
  }
  whoAmI(credential?: Credential): Promise<SignedInInfo> {
    return this.call('GET', '/users/auth', undefined, credential);
  }

  // Extensions
  browseExtensions(query: BrowseQuery): Promise<ExtensionViewPage> {
    return this.call('GET', browsePath(query));
  }
  getExtension(id: string): Promise<ExtensionView> {
    return this.call('GET', `/deployments/extensions/${encodeURIComponent(id)}?include_deployments=true`);
  }
  createExtension(request: CreateExtensionRequest): Promise<ExtensionView> {
    return this.call('POST', '/deployments/extensions', request);
  }
  updateExtension(id: string, request: CreateExtensionRequest): Promise<ExtensionView> {
    return this.call('POST', `/deployments/extensions/${encodeURIComponent(id)}`, request);
  }
  deleteExtension(id: string): Promise<unknown> {
    return this.call('DELETE', `/deployments/extensions/${encodeURIComponent(id)}`);
  }

  // File versions (spec/extrepo-file-versions.swagger.json): the newest first.
  listFileVersions(id: string): Promise<ExtensionFileVersions> {
    return this.call('GET', `/deployments/extensions/${encodeURIComponent(id)}/versions?size=1000`);
  }
  restoreFileVersion(id: string, fileVersion: number): Promise<ExtensionView> {
    return this.call('POST', `/deployments/extensions/${encodeURIComponent(id)}/versions/${fileVersion}/_restore`);
  }

  /**
   * PUT the file as a raw body (Elastic's recommended form). XMLHttpRequest, because fetch reports
   * no upload progress.
   */
  uploadFile(id: string, file: File, onProgress: (progress: UploadProgress) => void): Upload {
    const xhr = new XMLHttpRequest();
    const started = performance.now();
    const done = new Promise<ExtensionView>((resolve, reject) => {
      xhr.open('PUT', `${BASE}/deployments/extensions/${encodeURIComponent(id)}`);
      for (const [name, value] of Object.entries(this.headers({ 'content-type': 'application/zip' }))) {
        xhr.setRequestHeader(name, value);
      }
      xhr.upload.onprogress = (event) => {
        const seconds = (performance.now() - started) / 1000;
        const total = event.lengthComputable ? event.total : file.size;
        const rate = seconds > 0 ? event.loaded / seconds : 0;
        onProgress({ loaded: event.loaded, total, rate, secondsLeft: rate > 0 ? (total - event.loaded) / rate : null });
      };
      xhr.onload = () => {
        const response = new Response(xhr.responseText, {
          status: xhr.status,
          statusText: xhr.statusText,
          headers: { 'retry-after': xhr.getResponseHeader('retry-after') ?? '' },
        });
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve(JSON.parse(xhr.responseText) as ExtensionView);
        } else {
          void failureOf(response).then(reject);
        }
      };
      xhr.onerror = () => reject(new ApiFailure(0, 'network', 'The upload was interrupted: the server could not be reached.'));
      xhr.onabort = () => reject(new UploadCancelled('The upload was cancelled; the extension keeps its previous file.'));
      xhr.send(file);
    });
    return { done, cancel: () => xhr.abort() };
  }

  // Users
  listUsers(): Promise<{ users: UserView[] }> {
    return this.call('GET', '/users?include_disabled=true');
  }
  createUser(userName: string, roles: Role[], password: string, fullName?: string, email?: string): Promise<UserView> {
    return this.call('POST', '/users', {
      user_name: userName,
      ...(fullName ? { full_name: fullName } : {}),
      ...(email ? { email } : {}),
      security: { roles, password },
    });
  }
  patchUser(userName: string, patch: Record<string, unknown>): Promise<UserView> {
    return this.call('PATCH', `/users/${encodeURIComponent(userName)}`, patch);
  }
  deleteUser(userName: string, reassignTo?: string): Promise<unknown> {
    const query = reassignTo ? `?reassign_extensions_to=${encodeURIComponent(reassignTo)}` : '';
    return this.call('DELETE', `/users/${encodeURIComponent(userName)}${query}`);
  }

  // API keys
  listOwnKeys(): Promise<{ keys: ApiKeyResponse[] }> {
    return this.call('GET', '/users/auth/keys');
  }
  listAllKeys(): Promise<{ keys: ApiKeyResponse[] }> {
    return this.call('GET', '/users/auth/keys/_all');
  }
  createKey(description: string, expiration?: string): Promise<ApiKeyResponse> {
    return this.call('POST', '/users/auth/keys', { description, ...(expiration ? { expiration } : {}) });
  }
  revokeKey(key: ApiKeyResponse, ownUserName: string): Promise<unknown> {
    const id = encodeURIComponent(key.id);
    if (key.user_id === undefined || key.user_id === ownUserName) return this.call('DELETE', `/users/auth/keys/${id}`);
    return this.call('DELETE', `/users/${encodeURIComponent(key.user_id)}/auth/keys/${id}`);
  }

  // Audit
  listAudit(query: AuditQuery): Promise<AuditRecords> {
    const params = new URLSearchParams({ from: String(query.from), size: String(query.size) });
    for (const name of ['user', 'action', 'outcome', 'since', 'until'] as const) {
      const value = query[name];
      if (value) params.set(name, value);
    }
    return this.call('GET', `/audit?${params.toString()}`);
  }
}
