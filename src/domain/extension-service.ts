// The extensions domain: create, read, update, upload and delete, over the metadata and blob stores.
// It knows nothing of HTTP; every failure is an ApiError carrying Elastic's code.
import type { Readable } from 'node:stream';
import { ArchiveRejectedError, type ArchiveLimits } from '../archive/index.js';
import { DownloadError, openDownload, type DownloadPolicy } from '../download/index.js';
import { ApiError, apiError, ERRORS } from '../errors.js';
import type { BlobStore } from '../stores/blob-store.js';
import {
  ExtensionInUseError,
  FileConflictError,
  FileVersionNotFoundError,
  IdCollisionError,
  NotFoundError,
  VersionConflictError,
  type BrowsePage,
  type BrowseQuery,
  type ChangeResult,
  type ExtensionRecord,
  type FileSource,
  type FileVersionPage,
  type FileVersionRecord,
  type MetadataStore,
  type NewFile,
  type PluginProperties,
} from '../stores/metadata-store.js';
import { newExtensionId } from './extension-ids.js';
import { FileTooLargeError, ingestArchive, type IngestedArchive } from './ingest-archive.js';
import { mayChangeExtension, mayChangeExtensions, maySee, seesAllExtensions, type Principal } from './principal.js';
import { checkExtensionRequest, type ExtensionMetadata, type ExtensionRequestBody } from './request-rules.js';

export interface ExtensionEvents {
  archiveRejected(reason: string): void;
  downloadFinished(outcome: string): void;
  bytesStored(bytes: number): void;
}

export interface ExtensionServiceOptions {
  store: MetadataStore;
  blobs: BlobStore;
  maxFileBytes: number;
  archiveLimits: ArchiveLimits;
  downloadPolicy: DownloadPolicy;
  events: ExtensionEvents;
  /** File versions kept per extension (EXTREPO_KEEP_FILE_VERSIONS); 0 keeps all. */
  keepFileVersions?: number;
  now?: () => Date;
  newId?: () => string;
}

const ID_ATTEMPTS = 5;
const FILE_ATTACH_ATTEMPTS = 5;

/**
 * A replacement conditional on the bytes the caller last saw (`?if_sha256=`, `If-Match`): the
 * current file's sha256 must be one of these, or, with 'any', a file must exist.
 */
export type FileCondition = readonly string[] | 'any';

export interface UploadOptions {
  form: 'raw' | 'multipart';
  ifFileSha256?: FileCondition;
}

export class ExtensionService {
  private readonly store: MetadataStore;
  private readonly blobs: BlobStore;
  private readonly now: () => Date;

  constructor(private readonly options: ExtensionServiceOptions) {
    this.store = options.store;
    this.blobs = options.blobs;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The extensions the caller may see, a page at a time (creation order): `after` is the last one of
   * the previous page. Callers page so that a list of any length is served with flat memory.
   */
  async listPage(principal: Principal, after: ExtensionRecord | null, limit: number): Promise<ExtensionRecord[]> {
    return this.store.listExtensions({
      ...(seesAllExtensions(principal) ? {} : { ownerId: principal.userId }),
      ...(after === null ? {} : { after: { createdAt: after.createdAt, id: after.id } }),
      limit,
    });
  }

  /** A filtered, sorted page of the extensions the caller may see (the console's table). */
  async browse(principal: Principal, query: Omit<BrowseQuery, 'ownerId'>): Promise<BrowsePage> {
    return this.store.browseExtensions({ ...query, ...(seesAllExtensions(principal) ? {} : { ownerId: principal.userId }) });
  }

  /** The extension, if it exists and the caller may see it; otherwise extensions.not_found. */
  async get(id: string, principal: Principal): Promise<ExtensionRecord> {
    const record = await this.store.getExtension(id);
    if (record === null || !maySee(principal, record.ownerId)) {
      throw notFound(id);
    }
    return record;
  }

  async create(body: ExtensionRequestBody, principal: Principal, signal?: AbortSignal): Promise<ExtensionRecord> {
    this.requireChangeRight(principal);
    const metadata = checkExtensionRequest(body, 'create');
    const ingested = metadata.downloadUrl === null ? null : await this.fetch(metadata, signal);
    const source: FileSource = { kind: 'download_url', downloadUrl: metadata.downloadUrl ?? '' };
    for (let attempt = 1; ; attempt++) {
      const id = (this.options.newId ?? newExtensionId)();
      try {
        return await this.storeWithFile(ingested, principal, source, async (file) => ({
          record: await this.store.insertExtension({ ...metadata, id, file, ownerId: principal.userId, now: this.now() }),
          orphanedBlobs: [],
        }));
      } catch (error) {
        if (!(error instanceof IdCollisionError)) throw error;
        if (attempt >= ID_ATTEMPTS) {
          throw apiError('idAlreadyExists', 'The generated extension id already exists; please try again.');
        }
      }
    }
  }

  async update(
    id: string,
    body: ExtensionRequestBody,
    expectedVersion: number | undefined,
    principal: Principal,
    signal?: AbortSignal,
    ifFileSha256?: FileCondition,
  ): Promise<ExtensionRecord> {
    const current = await this.getForChange(id, principal);
    // The type is fixed at creation: Elastic ignores a change of extension_type (docs/client-compatibility.md, "Updating an extension"), so
    // the version is judged by the stored type.
    const metadata: ExtensionMetadata = checkExtensionRequest({ ...body, extension_type: current.extensionType }, 'update');
    checkExpectedVersion(current, expectedVersion);
    // Checked before the download (fail fast) and again atomically with the write.
    checkFileCondition(current, ifFileSha256);
    const ingested = metadata.downloadUrl === null ? null : await this.fetch(metadata, signal);
    const changes = {
      name: metadata.name,
      version: metadata.version,
      description: metadata.description,
      downloadUrl: metadata.downloadUrl,
      ...(ifFileSha256 === undefined ? {} : { ifFileSha256 }),
      now: this.now(),
    };
    const source: FileSource = { kind: 'download_url', downloadUrl: metadata.downloadUrl ?? '' };
    return this.storeWithFile(ingested, principal, source, async (file) =>
      this.mapStoreErrors(id, () =>
        this.store.updateExtension(id, file === null ? changes : { ...changes, file, ...this.retention() }, expectedVersion),
      ),
    );
  }

  async upload(id: string, source: Readable, principal: Principal, signal?: AbortSignal, options?: UploadOptions): Promise<ExtensionRecord> {
    const current = await this.getForChange(id, principal);
    const condition = options?.ifFileSha256;
    // Checked before a byte is stored (fail fast) and again atomically with the commit.
    checkFileCondition(current, condition);
    const expect = { extensionType: current.extensionType, version: current.version };
    const ingested = await this.ingest(source, expect, signal);
    const fileSource: FileSource = { kind: 'upload', form: options?.form ?? 'raw' };
    return this.storeWithFile(ingested, principal, fileSource, async (file) => {
      // Metadata may change while a large file streams in: attach the file to the latest metadata,
      // re-reading on a concurrent change instead of overwriting it with what we read before.
      let latest = current;
      for (let attempt = 1; ; attempt++) {
        if (latest.extensionType === 'plugin' && latest.version !== expect.version) {
          throw apiError(
            'versionConflict',
            `The extension's version changed to ${latest.version} during the upload, which was checked against ${expect.version}; upload the file again.`,
          );
        }
        try {
          const changes = {
            name: latest.name,
            version: latest.version,
            description: latest.description,
            downloadUrl: latest.downloadUrl,
            file: file as NewFile,
            ...this.retention(),
            ...(condition === undefined ? {} : { ifFileSha256: condition }),
            now: this.now(),
          };
          return await this.store.updateExtension(id, changes, latest.resourceVersion);
        } catch (error) {
          // Only a concurrent metadata change is retried; a file that changed meanwhile is the
          // caller's conflict (FileConflictError) and is answered as such.
          if (!(error instanceof VersionConflictError) || attempt >= FILE_ATTACH_ATTEMPTS) {
            throw this.storeError(id, error);
          }
          const reread = await this.store.getExtension(id);
          if (reread === null) throw notFound(id);
          latest = reread;
        }
      }
    });
  }

  async delete(id: string, expectedVersion: number | undefined, principal: Principal): Promise<ExtensionRecord> {
    const current = await this.getForChange(id, principal);
    checkExpectedVersion(current, expectedVersion);
    let result: ChangeResult;
    try {
      result = await this.mapStoreErrors(id, () => this.store.deleteExtension(id, expectedVersion));
    } catch (error) {
      if (error instanceof ExtensionInUseError) throw extensionInUse(id, error, principal);
      throw error;
    }
    await this.releaseBlobs(result.orphanedBlobs);
    return result.record;
  }

  /** A page of the extension's file versions, newest first (same visibility as the extension). */
  async listVersions(
    id: string,
    principal: Principal,
    page: { from: number; size: number },
  ): Promise<FileVersionPage & { extension: ExtensionRecord }> {
    const extension = await this.get(id, principal);
    return { extension, ...(await this.store.listFileVersions(id, page)) };
  }

  async getVersion(id: string, version: number, principal: Principal): Promise<{ extension: ExtensionRecord; version: FileVersionRecord }> {
    const extension = await this.get(id, principal);
    const found = await this.store.getFileVersion(id, version);
    if (found === null) throw versionNotFound(id, version);
    return { extension, version: found };
  }

  /** Makes a kept file version current again; no bytes are copied (blobs are content-addressed). */
  async restoreVersion(id: string, version: number, expectedVersion: number | undefined, principal: Principal): Promise<ExtensionRecord> {
    const current = await this.getForChange(id, principal);
    checkExpectedVersion(current, expectedVersion);
    const result = await this.mapStoreErrors(id, () => this.store.restoreFileVersion(id, version, this.now(), expectedVersion), version);
    await this.releaseBlobs(result.orphanedBlobs);
    return result.record;
  }

  private retention(): { keepFileVersions?: number } {
    return this.options.keepFileVersions === undefined ? {} : { keepFileVersions: this.options.keepFileVersions };
  }

  private async releaseBlobs(hashes: readonly string[]): Promise<void> {
    for (const sha256 of hashes) await this.releaseBlob(sha256);
  }

  /** Removes a blob if nothing references it any more (checked under the blob lock). */
  async releaseBlob(sha256: string): Promise<void> {
    await this.store.withBlobLock(sha256, async () => {
      if ((await this.store.countBlobReferences(sha256)) === 0) await this.blobs.delete(sha256);
    });
  }

  private async getForChange(id: string, principal: Principal): Promise<ExtensionRecord> {
    const record = await this.get(id, principal);
    // A caller who may see the extension but not change it gets the spec's 401; one who may not
    // see it already got extensions.not_found, so its existence is never revealed.
    // Platform admins change any extension, deployment managers only their own.
    if (!mayChangeExtension(principal, record.ownerId)) {
      throw apiError('unauthorised', `You may read extension [${id}] but not change it.`);
    }
    return record;
  }

  private requireChangeRight(principal: Principal): void {
    if (!mayChangeExtensions(principal)) {
      throw apiError('forbidden', 'Your role does not allow creating extensions.');
    }
  }

  /**
   * Commits an ingested file and stores the record that references it, both under the blob lock, so
   * the blob cannot be collected in between. Releases whatever blob the change orphaned, and the new
   * blob itself if storing the record failed.
   */
  private async storeWithFile(
    ingested: IngestedArchive | null,
    principal: Principal,
    source: FileSource,
    write: (file: NewFile | null) => Promise<ChangeResult>,
  ): Promise<ExtensionRecord> {
    let result: ChangeResult;
    if (ingested === null) {
      result = await write(null);
    } else {
      const { sha256, size, upload } = ingested;
      const file: NewFile = {
        sha256,
        size,
        uploadedAt: this.now(),
        createdBy: principal.userId,
        source,
        plugin: pluginPropertiesOf(ingested),
      };
      try {
        result = await this.store.withBlobLock(sha256, async () => {
          // A candidate for garbage collection before it exists: should this process die between the
          // commit and the reference, the next regular collection checks it (domain/garbage-collector.ts).
          await this.store.gcState.recordGcCandidates([sha256], this.now());
          await upload.commit(sha256);
          return write(file);
        });
      } catch (error) {
        // The cleanup may fail for the same reason (a store outage); the caller must see the first
        // error, and garbage collection removes whatever the cleanup could not.
        await upload.abort().catch(() => undefined);
        await this.releaseBlob(sha256).catch(() => undefined);
        throw error;
      }
      this.options.events.bytesStored(size);
    }
    await this.releaseBlobs(result.orphanedBlobs);
    return result.record;
  }

  private async fetch(metadata: ExtensionMetadata, signal?: AbortSignal): Promise<IngestedArchive> {
    const url = metadata.downloadUrl!;
    const expect = { extensionType: metadata.extensionType, version: metadata.version };
    let download;
    try {
      download = await openDownload(url, this.options.downloadPolicy, signal);
    } catch (error) {
      throw this.downloadFailure(error);
    }
    try {
      const ingested = await this.ingest(download.body, expect, signal);
      this.options.events.downloadFinished('ok');
      return ingested;
    } catch (error) {
      throw this.downloadFailure(error);
    }
  }

  private downloadFailure(error: unknown): unknown {
    if (error instanceof DownloadError) {
      this.options.events.downloadFinished(error.reason);
      return downloadFailed(error.message, error);
    }
    if (error instanceof ApiError) {
      this.options.events.downloadFinished(error.code === ERRORS.payloadTooLarge.code ? 'too_large' : 'invalid_archive');
      // Everything that goes wrong with a download_url is Elastic's "could not download" error.
      return downloadFailed(error.message, error);
    }
    this.options.events.downloadFinished('error');
    return error;
  }

  private async ingest(source: Readable, expect: { extensionType: 'plugin' | 'bundle'; version: string }, signal?: AbortSignal) {
    try {
      return await ingestArchive(source, this.blobs, {
        maxFileBytes: this.options.maxFileBytes,
        archiveLimits: this.options.archiveLimits,
        expect,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (error instanceof ArchiveRejectedError) {
        this.options.events.archiveRejected(error.reason);
        throw apiError('requestExecutionFailed', `The file is not a valid ${expect.extensionType}: ${error.message}`, {
          cause: error,
        });
      }
      if (error instanceof FileTooLargeError) {
        throw apiError('payloadTooLarge', error.message, { cause: error });
      }
      throw error;
    }
  }

  private async mapStoreErrors<T>(id: string, action: () => Promise<T>, fileVersion?: number): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw this.storeError(id, error, fileVersion);
    }
  }

  private storeError(id: string, error: unknown, fileVersion?: number): unknown {
    if (error instanceof FileVersionNotFoundError && fileVersion !== undefined) return versionNotFound(id, fileVersion);
    if (error instanceof NotFoundError) return notFound(id);
    if (error instanceof VersionConflictError) return versionConflict(id, error.expected, error.actual);
    if (error instanceof FileConflictError) return fileConflict(id, error.actual);
    return error;
  }
}

/** The descriptor fields a plugin's file version records (bundles have none). */
function pluginPropertiesOf(ingested: IngestedArchive): PluginProperties | null {
  const properties = ingested.report.descriptor?.properties;
  if (properties === undefined) return null;
  return {
    name: properties.name ?? '',
    version: properties.version ?? '',
    classname: properties.classname ?? null,
    elasticsearchVersion: properties['elasticsearch.version'] ?? '',
  };
}

function checkFileCondition(record: ExtensionRecord, condition: FileCondition | undefined): void {
  if (condition === undefined) return;
  const actual = record.file?.sha256 ?? null;
  const holds = condition === 'any' ? actual !== null : actual !== null && condition.includes(actual);
  if (!holds) throw fileConflict(record.id, actual);
}

function fileConflict(id: string, actual: string | null): ApiError {
  return apiError(
    'versionConflict',
    actual === null
      ? `Extension [${id}] has no file, so the replacement conditional on its sha256 (if_sha256 or If-Match) was refused.`
      : `Extension [${id}]'s file is now sha256 ${actual}, not the one your if_sha256 or If-Match names: someone replaced it since you read it. Read the extension again and decide.`,
  );
}

function versionNotFound(id: string, version: number): ApiError {
  return apiError('notFound', `Extension [${id}] has no file version ${version}: see GET /api/v1/deployments/extensions/${id}/versions.`);
}

function checkExpectedVersion(record: ExtensionRecord, expectedVersion: number | undefined): void {
  if (expectedVersion !== undefined && expectedVersion !== record.resourceVersion) {
    throw versionConflict(record.id, expectedVersion, record.resourceVersion);
  }
}

/**
 * Elastic's message (its deployment-extensions docs, "Delete an extension"; docs/deployments.md). Names of deployments the caller may not see are not
 * revealed, only counted.
 */
function extensionInUse(id: string, error: ExtensionInUseError, principal: Principal): ApiError {
  const visible = error.deployments.filter((d) => maySee(principal, d.ownerId)).map((d) => d.name);
  const hidden = error.deployments.length - visible.length;
  const names = hidden === 0 ? visible : [...visible, `${hidden} more you may not see`];
  return apiError('extensionInUse', `Cannot delete extension [${id}]. It is used by deployments [${names.join(', ')}].`);
}

function notFound(id: string): ApiError {
  return apiError('notFound', `Extension [${id}] not found.`);
}

function versionConflict(id: string, expected: number, actual: number): ApiError {
  return apiError(
    'versionConflict',
    `Extension [${id}] is at version ${actual}, not ${expected}: it changed since you read it. Read it again and retry.`,
  );
}

function downloadFailed(reason: string, cause?: unknown): ApiError {
  return apiError('requestExecutionFailed', `Could not download the extension from download_url: ${reason}`, {
    fields: ['download_url'],
    cause,
  });
}
