// The metadata store: everything but file bytes. SQLite implements it for the embedded default;
// PostgreSQL implements the same contract for scale-out (test/contract/metadata-store.contract.ts).
// Every method is atomic on its own; rules that must hold across instances (unique ids, optimistic
// versions, blob reference counts) are enforced by the database, not by the caller.
import type { DeploymentStore } from './deployment-store.js';
import type { GcStateStore } from './gc-state-store.js';

export type ExtensionType = 'plugin' | 'bundle';

/** The file attached to an extension: a content-addressed blob plus when it was attached. */
export interface ExtensionFile {
  readonly sha256: string;
  readonly size: number;
  readonly uploadedAt: Date;
}

/** How a file version came in (extrepo's history, issue 13). */
export interface FileSource {
  readonly kind: 'upload' | 'download_url';
  /** Uploads: a raw body or a multipart form. */
  readonly form?: 'raw' | 'multipart';
  /** Copies: the URL the bytes came from. */
  readonly downloadUrl?: string;
}

/** The plugin descriptor fields a version records (AWS OpenSearch's AvailablePluginProperties). */
export interface PluginProperties {
  readonly name: string;
  readonly version: string;
  /** Absent for stable plugins. */
  readonly classname: string | null;
  readonly elasticsearchVersion: string;
}

/**
 * A file being attached, with where it came from: every attachment becomes a new file version.
 * The provenance fields are optional for callers that only move bytes around (tests, tools).
 */
export interface NewFile extends ExtensionFile {
  readonly createdBy?: string | null;
  readonly source?: FileSource;
  readonly plugin?: PluginProperties | null;
}

/** One file an extension had: versions are numbered 1, 2, 3… per extension and never renumbered. */
export interface FileVersionRecord {
  readonly extensionId: string;
  readonly version: number;
  readonly sha256: string;
  readonly size: number;
  readonly createdAt: Date;
  readonly createdBy: string | null;
  readonly source: FileSource;
  readonly plugin: PluginProperties | null;
  /** The version the extension's file is now (the newest, unless an older one was restored). */
  readonly current: boolean;
}

/** Records are values: a store may hand the same object to many callers (the embedded store caches them). */
export interface ExtensionRecord {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly extensionType: ExtensionType;
  readonly description: string | null;
  readonly downloadUrl: string | null;
  readonly file: ExtensionFile | null;
  readonly ownerId: string | null;
  /** Grows by one with every change; exposed as x-cloud-resource-version. */
  readonly resourceVersion: number;
  readonly createdAt: Date;
  readonly modifiedAt: Date;
}

export interface NewExtension {
  id: string;
  name: string;
  version: string;
  extensionType: ExtensionType;
  description: string | null;
  downloadUrl: string | null;
  /** A file becomes the extension's file version 1. */
  file: NewFile | null;
  ownerId: string | null;
  now: Date;
}

export interface ExtensionChanges {
  name: string;
  version: string;
  description: string | null;
  downloadUrl: string | null;
  /** undefined keeps the stored file; a value replaces it and becomes the newest file version. */
  file?: NewFile;
  /**
   * With a file: keep at most this many file versions (the newest; never the current one), pruning
   * older ones in the same transaction. undefined or 0 keeps them all (EXTREPO_KEEP_FILE_VERSIONS).
   */
  keepFileVersions?: number;
  /**
   * Applies the change only if the current file's sha256 is one of these ('any': if there is a
   * file at all), else FileConflictError: `?if_sha256=` / `If-Match`, checked atomically with the write.
   */
  ifFileSha256?: readonly string[] | 'any';
  now: Date;
}

/**
 * Outcome of a change that may have released blobs: `orphanedBlobs` have no reference left (neither
 * an extension's file nor a kept file version), sorted.
 */
export interface ChangeResult {
  record: ExtensionRecord;
  orphanedBlobs: string[];
}

/** A page of an extension's file versions, newest first; `total` counts them all. */
export interface FileVersionPage {
  total: number;
  versions: FileVersionRecord[];
}

export class IdCollisionError extends Error {
  override name = 'IdCollisionError';
}

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class VersionConflictError extends Error {
  override name = 'VersionConflictError';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`expected version ${expected}, found ${actual}`);
  }
}

/** Current deployment plans reference the extension; nothing was deleted. */
export class ExtensionInUseError extends Error {
  override name = 'ExtensionInUseError';
  constructor(readonly deployments: Array<{ id: string; name: string; ownerId: string | null }>) {
    super(`the extension is used by ${deployments.length} deployment(s)`);
  }
}

/** The extension exists, but not this file version (never had it, or it was pruned). */
export class FileVersionNotFoundError extends NotFoundError {
  override name = 'FileVersionNotFoundError';
}

/** The current file is not the one a conditional replacement expected; nothing was changed. */
export class FileConflictError extends Error {
  override name = 'FileConflictError';
  constructor(
    readonly expected: readonly string[] | 'any',
    readonly actual: string | null,
  ) {
    super(`expected the file ${expected === 'any' ? 'to exist' : expected.join(' or ')}, found ${actual ?? 'none'}`);
  }
}

export interface ListOptions {
  /** Only extensions of this owner; undefined lists all. */
  ownerId?: string;
  /** Keyset paging: only the extensions that come after this one (by creation time, then id). */
  after?: { createdAt: Date; id: string };
  /** At most this many; undefined means all. */
  limit?: number;
}

/** What the console's table sorts by; ties are broken by id, in the same direction. */
export type BrowseSortField = 'name' | 'extension_type' | 'version' | 'size' | 'sha256' | 'last_modified';

/**
 * A page of the extensions table (extrepo's browse parameters of the list endpoint). Sort keys are
 * compared bytewise on both stores; an extension without a file sorts as size -1, sha256 '' and
 * last_modified 0 (the epoch).
 */
export interface BrowseQuery {
  ownerId?: string;
  /** Case-insensitive substring of the name or the description. */
  search?: string;
  type?: ExtensionType;
  sort: BrowseSortField;
  descending: boolean;
  /** Keyset paging: only extensions after this sort key and id, in the query's order. */
  after?: { key: string | number; id: string };
  limit: number;
}

export interface BrowsePage {
  records: ExtensionRecord[];
  /** How many extensions match the query's filters (all pages together). */
  total: number;
}

/** The sort key of a record for `field`, as BrowseQuery.after takes it. */
export function browseSortKey(record: ExtensionRecord, field: BrowseSortField): string | number {
  switch (field) {
    case 'name':
      return record.name;
    case 'extension_type':
      return record.extensionType;
    case 'version':
      return record.version;
    case 'size':
      return record.file?.size ?? -1;
    case 'sha256':
      return record.file?.sha256 ?? '';
    case 'last_modified':
      return record.file?.uploadedAt.getTime() ?? 0;
  }
}

export interface ExtensionStore {
  /** Inserts a new extension at resource version 1. Throws IdCollisionError if the id exists. */
  insertExtension(extension: NewExtension): Promise<ExtensionRecord>;
  getExtension(id: string): Promise<ExtensionRecord | null>;
  /**
   * The record getExtension would give, when the store already holds it in memory and knows it is
   * current (the embedded store sees every change); undefined otherwise. Never reads the database.
   */
  peekExtension?(id: string): ExtensionRecord | undefined;
  /** Ordered by creation time, then id; pages with `after` and `limit`. */
  listExtensions(options?: ListOptions): Promise<ExtensionRecord[]>;
  /** One page of a filtered, sorted view, with the number of matches. */
  browseExtensions(query: BrowseQuery): Promise<BrowsePage>;
  /**
   * Replaces the metadata (and the file when `changes.file` is set) and bumps the resource version.
   * With `expectedVersion`, the change applies only if the stored version equals it, else
   * VersionConflictError. Throws NotFoundError if the id does not exist.
   */
  updateExtension(id: string, changes: ExtensionChanges, expectedVersion?: number): Promise<ChangeResult>;
  /**
   * Same rules as update; the returned record is the one deleted. ExtensionInUseError when a
   * deployment's current plan references it (checked in the same transaction as the delete).
   */
  deleteExtension(id: string, expectedVersion?: number): Promise<ChangeResult>;
  /**
   * Makes a kept file version the extension's file again (no bytes move: blobs are content-
   * addressed) and bumps the resource version. NotFoundError for an unknown extension,
   * FileVersionNotFoundError for an unknown version; `expectedVersion` as for update.
   */
  restoreFileVersion(id: string, version: number, now: Date, expectedVersion?: number): Promise<ChangeResult>;
  /** The extension's file versions, newest first, skipping `from` and returning at most `size`. */
  listFileVersions(id: string, page: { from: number; size: number }): Promise<FileVersionPage>;
  getFileVersion(id: string, version: number): Promise<FileVersionRecord | null>;
  /** References to this blob: extensions whose file it is, plus kept file versions of it. */
  countBlobReferences(sha256: string): Promise<number>;
  /**
   * The changes above record the blobs they leave unreferenced as garbage-collection candidates
   * (src/stores/gc-state-store.ts) in their own transaction, so a crash before the blob is removed
   * leaves it to the next regular collection, not to the rare full sweep.
   *
   * Those of `sha256s` that nothing references, in one round trip: garbage collection checks the
   * blobs it lists a batch at a time, so its memory stays flat whatever the number of blobs.
   */
  unreferencedAmong(sha256s: readonly string[]): Promise<string[]>;
  /** Total size of the distinct blobs that extensions and kept file versions reference (each counted once), for metrics. */
  referencedBlobBytes(): Promise<number>;
  /**
   * Runs `fn` while holding an exclusive lock on one blob hash, across every instance that shares
   * this store. Whoever adds a reference to a blob (commit the bytes, then store the reference) and
   * whoever removes a blob (check it has no reference, then delete it) do so under this lock, so a
   * blob is never deleted while an upload of the same bytes is about to reference it.
   */
  withBlobLock<T>(sha256: string, fn: () => Promise<T>): Promise<T>;
}

/** API keys: only the hash of a key's secret is ever stored. */
export interface ApiKeyRecord {
  id: string;
  /** hex sha256 of the secret */
  secretHash: string;
  userId: string;
  description: string;
  createdAt: Date;
  expiresAt: Date | null;
  /** Roles the key is limited to (always within its user's); null carries all of the user's roles. */
  roles: string[] | null;
}

export interface ApiKeyStore {
  /** Throws IdCollisionError if the id exists. */
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKey(id: string): Promise<ApiKeyRecord | null>;
  countApiKeys(): Promise<number>;
  /** The keys of one user, or of everyone; ordered by creation time, then id. */
  listApiKeys(userId?: string): Promise<ApiKeyRecord[]>;
  /** Deletes those of `ids` that exist (and belong to `userId` when given); returns the ids deleted. */
  deleteApiKeys(ids: readonly string[], userId?: string): Promise<string[]>;
  /** Deletes every key of a user; returns how many. */
  deleteApiKeysOfUser(userId: string): Promise<number>;
}

/** A user of the platform. Roles are ECE role ids; the password is stored only as a scrypt hash. */
export interface UserRecord {
  userName: string;
  fullName: string | null;
  email: string | null;
  roles: string[];
  enabled: boolean;
  builtin: boolean;
  passwordHash: string | null;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
  updatedBy: string | null;
  lastLoginAt: Date | null;
}

/** A change of a user: each field given replaces the stored one. */
export interface UserChanges {
  fullName?: string | null;
  email?: string | null;
  roles?: string[];
  enabled?: boolean;
  passwordHash?: string;
  updatedAt: Date;
  updatedBy: string | null;
}

/** The role whose last enabled holder the store protects. */
export const PLATFORM_ADMIN_ROLE = 'ece_platform_admin';

/** The change would leave no enabled user with PLATFORM_ADMIN_ROLE; nothing was changed. */
export class LastAdminError extends Error {
  override name = 'LastAdminError';
}

/** The user still owns extensions and no reassignment was asked for; nothing was changed. */
/** The user still owns extensions or deployments (or both): `count` extensions, `deployments` deployments. */
export class UserOwnsExtensionsError extends Error {
  override name = 'UserOwnsExtensionsError';
  constructor(
    readonly count: number,
    readonly deployments = 0,
  ) {
    super(`the user owns ${count} extension(s) and ${deployments} deployment(s)`);
  }
}

export interface DeleteUserOptions {
  /** Hand the user's extensions and deployments to this user instead of refusing the deletion. */
  reassignExtensionsTo?: string;
}

export interface UserStore {
  /** Throws IdCollisionError if the user name exists. */
  insertUser(user: UserRecord): Promise<void>;
  getUser(userName: string): Promise<UserRecord | null>;
  /** Ordered by user name. */
  listUsers(): Promise<UserRecord[]>;
  /**
   * Applies the changes atomically. NotFoundError if the user does not exist; LastAdminError if the
   * change would leave no enabled platform admin (checked under a lock shared by every instance).
   */
  updateUser(userName: string, changes: UserChanges): Promise<UserRecord>;
  /**
   * Deletes the user with its API keys and sessions, atomically. NotFoundError, LastAdminError, and
   * UserOwnsExtensionsError when it owns extensions or deployments and `reassignExtensionsTo` is not
   * given (with it, both are handed over in the same transaction). Returns how many extensions were
   * reassigned.
   */
  deleteUser(userName: string, options?: DeleteUserOptions): Promise<{ reassigned: number }>;
  /** Stamps a successful login (no resource-version change). */
  recordLogin(userName: string, at: Date): Promise<void>;
}

/** A signed-in session behind a bearer token; revoking it stops the token at once. */
export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface SessionStore {
  insertSession(session: SessionRecord): Promise<void>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** Revokes a live session; false if it was already revoked or does not exist. */
  revokeSession(id: string, at: Date): Promise<boolean>;
  /** Revokes every live session of a user; returns how many. */
  revokeSessionsOfUser(userId: string, at: Date): Promise<number>;
  /** Deletes sessions that expired before `before`; returns how many. */
  deleteExpiredSessions(before: Date): Promise<number>;
}

export type AuditOutcome = 'success' | 'failure';

/** One audit record: never holds a secret, never changes once written. */
export interface AuditEntry {
  at: Date;
  /** Who acted (or, for a failed login, the user name that was tried); null if unknown. */
  userId: string | null;
  keyId: string | null;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  /** HTTP status of the answer. */
  status: number;
  /** The error code, on failure. */
  errorCode: string | null;
  clientAddress: string | null;
  requestId: string | null;
}

export interface AuditRecord extends AuditEntry {
  id: number;
}

export interface AuditQuery {
  userId?: string;
  action?: string;
  target?: string;
  outcome?: AuditOutcome;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  /** Records to skip (newest first). */
  from: number;
  size: number;
}

export interface AuditStore {
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first; `total` counts every record that matches the filters. */
  listAudit(query: AuditQuery): Promise<{ total: number; records: AuditRecord[] }>;
}

/** Small key/value settings that must survive restarts (e.g. the generated link secret). */
export interface SettingsStore {
  getSetting(key: string): Promise<string | null>;
  /** Sets the value only if the key has none; returns the value now stored (first writer wins). */
  initSetting(key: string, value: string): Promise<string>;
}

export interface MetadataStore extends ExtensionStore, ApiKeyStore, UserStore, SessionStore, AuditStore, SettingsStore {
  /** What garbage collection keeps here: its candidates and the full sweep's cursor (gc-state-store.ts). */
  readonly gcState: GcStateStore;
  /** Deployments and the extensions their plans reference (src/stores/deployment-store.ts). */
  readonly deployments: DeploymentStore;
  /**
   * Only on a store that sees every change made to it (the single-process embedded store): calls
   * `listener` after any change that may withdraw credentials (keys deleted, users changed or
   * deleted, sessions revoked), so that a cache of authenticated callers can stay exact. Returns the
   * function that stops watching. Shared stores leave it out, and callers then cache nothing.
   */
  watchAuthChanges?(listener: () => void): () => void;
  /**
   * Only on the embedded SQLite store: writes a consistent copy of the whole database to `file`
   * while the store stays in use (SQLite's online backup API), for src/backup/embedded-backup.ts.
   */
  backupTo?(file: string): Promise<void>;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  /** Releases connections; calling it again does nothing. */
  close(): Promise<void>;
}
