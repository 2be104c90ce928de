// The metadata store: everything but file bytes. SQLite implements it for the embedded default;
// PostgreSQL implements the same contract for scale-out (test/contract/metadata-store.contract.ts).
// Every method is atomic on its own; rules that must hold across instances (unique ids, optimistic
// versions, blob reference counts) are enforced by the database, not by the caller.

export type ExtensionType = 'plugin' | 'bundle';

/** The file attached to an extension: a content-addressed blob plus when it was attached. */
export interface ExtensionFile {
  sha256: string;
  size: number;
  uploadedAt: Date;
}

export interface ExtensionRecord {
  id: string;
  name: string;
  version: string;
  extensionType: ExtensionType;
  description: string | null;
  downloadUrl: string | null;
  file: ExtensionFile | null;
  ownerId: string | null;
  /** Grows by one with every change; exposed as x-cloud-resource-version. */
  resourceVersion: number;
  createdAt: Date;
  modifiedAt: Date;
}

export interface NewExtension {
  id: string;
  name: string;
  version: string;
  extensionType: ExtensionType;
  description: string | null;
  downloadUrl: string | null;
  file: ExtensionFile | null;
  ownerId: string | null;
  now: Date;
}

export interface ExtensionChanges {
  name: string;
  version: string;
  description: string | null;
  downloadUrl: string | null;
  /** undefined keeps the stored file; a value replaces it. */
  file?: ExtensionFile;
  now: Date;
}

/** Outcome of a change that may have released a blob: `orphanedBlob` has no reference left. */
export interface ChangeResult {
  record: ExtensionRecord;
  orphanedBlob: string | null;
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

export interface ListOptions {
  /** Only extensions of this owner; undefined lists all. */
  ownerId?: string;
}

export interface ExtensionStore {
  /** Inserts a new extension at resource version 1. Throws IdCollisionError if the id exists. */
  insertExtension(extension: NewExtension): Promise<ExtensionRecord>;
  getExtension(id: string): Promise<ExtensionRecord | null>;
  /** Ordered by creation time, then id. */
  listExtensions(options?: ListOptions): Promise<ExtensionRecord[]>;
  /**
   * Replaces the metadata (and the file when `changes.file` is set) and bumps the resource version.
   * With `expectedVersion`, the change applies only if the stored version equals it, else
   * VersionConflictError. Throws NotFoundError if the id does not exist.
   */
  updateExtension(id: string, changes: ExtensionChanges, expectedVersion?: number): Promise<ChangeResult>;
  /** Same rules as update; the returned record is the one deleted. */
  deleteExtension(id: string, expectedVersion?: number): Promise<ChangeResult>;
  /** Number of extensions whose file is this blob. */
  countBlobReferences(sha256: string): Promise<number>;
  /** Every blob hash that some extension references (for garbage collection). */
  listReferencedBlobs(): Promise<Set<string>>;
  /**
   * Runs `fn` while holding an exclusive lock on one blob hash, across every instance that shares
   * this store. Whoever adds a reference to a blob (commit the bytes, then store the reference) and
   * whoever removes a blob (check it has no reference, then delete it) do so under this lock, so a
   * blob is never deleted while an upload of the same bytes is about to reference it.
   */
  withBlobLock<T>(sha256: string, fn: () => Promise<T>): Promise<T>;
}

/** API keys of the first-cut authentication: only the hash of a key is ever stored. */
export interface ApiKeyRecord {
  id: string;
  /** hex sha256 of the secret */
  secretHash: string;
  userId: string;
  description: string;
  createdAt: Date;
  expiresAt: Date | null;
}

export interface ApiKeyStore {
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKey(id: string): Promise<ApiKeyRecord | null>;
  countApiKeys(): Promise<number>;
}

/** Small key/value settings that must survive restarts (e.g. the generated link secret). */
export interface SettingsStore {
  getSetting(key: string): Promise<string | null>;
  /** Sets the value only if the key has none; returns the value now stored (first writer wins). */
  initSetting(key: string, value: string): Promise<string>;
}

export interface MetadataStore extends ExtensionStore, ApiKeyStore, SettingsStore {
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
