// The scale-out blob store: S3 or an S3-compatible object store, shared by every instance.
//
//   <prefix>sha256/<hash>     committed blobs
//   <prefix>incoming/<uuid>   uploads in progress (a multipart upload, then a temp object)
//
// Bytes stream into a temp object while the caller hashes them; commit() then copies it server-side
// under its hash (the hash is only known at the end) and deletes the temp. Copying an object onto a
// key is atomic in S3, so nothing partial is ever readable under a hash.
import { randomUUID } from 'node:crypto';
import { PassThrough, Writable, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobNotFoundError, type BlobInfo, type BlobStore, type BlobUpload, type ByteRange, type ListBlobsOptions } from '../blob-store.js';
import { MAX_SINGLE_COPY_BYTES, copyObject } from './s3-copy.js';
import { exactRange } from './s3-range.js';
import { classifyS3Error } from '../store-unavailable.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** For S3-compatible servers, e.g. http://minio:9000; default: AWS for the region. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (http://host/bucket/key), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Key prefix, e.g. "extrepo/" to share a bucket. */
  prefix?: string;
  /** Size of each uploaded part (default 8 MiB, minimum 5 MiB); memory per upload is about (queueSize + 1) parts. */
  partSizeBytes?: number;
  /** Parts uploaded at once per upload (default 4). */
  queueSize?: number;
  /** Default: the SDK's credential chain (environment, profile, instance role, …). */
  credentials?: S3ClientConfig['credentials'];
  /** Blobs above this size are copied part by part at commit (default and maximum 5 GiB). */
  multipartCopyThresholdBytes?: number;
  /** Part size of such copies (default 512 MiB). */
  copyPartSizeBytes?: number;
  /** A client to use instead of building one (its configuration then wins); not destroyed by close(). */
  client?: S3Client;
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const MiB = 1024 ** 2;
const STREAM_BUFFER_BYTES = MiB;

function checkSha256(sha256: string): void {
  if (typeof sha256 !== 'string' || !SHA256_PATTERN.test(sha256)) {
    throw new TypeError(`invalid sha256 "${String(sha256).slice(0, 80)}"`);
  }
}

/** A missing object (GET answers NoSuchKey, HEAD a bare 404). */
function isMissing(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound';
}

function isNotImplemented(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return failure?.name === 'NotImplemented' || failure?.$metadata?.httpStatusCode === 501 || failure?.$metadata?.httpStatusCode === 405;
}

function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

export async function openS3BlobStore(options: S3BlobStoreOptions): Promise<BlobStore> {
  const partSize = options.partSizeBytes ?? 8 * MiB;
  if (partSize < 5 * MiB) throw new RangeError('partSizeBytes must be at least 5 MiB (an S3 limit)');
  const client =
    options.client ??
    new S3Client({
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // Otherwise the SDK sends streamed bodies with aws-chunked framing and trailing checksums,
      // which several S3-compatible servers store verbatim as part of the object.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  classifyOutages(client);
  return new S3BlobStore(client, options.client === undefined, {
    bucket: options.bucket,
    prefix: normalizePrefix(options.prefix),
    partSize,
    queueSize: options.queueSize ?? 4,
    multipartCopyThreshold: Math.min(options.multipartCopyThresholdBytes ?? MAX_SINGLE_COPY_BYTES, MAX_SINGLE_COPY_BYTES),
    copyPartSize: options.copyPartSizeBytes ?? 512 * MiB,
  });
}

const CLASSIFY_MIDDLEWARE = 'extrepoClassifyOutages';

/**
 * Every command this store sends (its own, lib-storage's uploads, the copies of s3-copy.ts) fails
 * with StoreUnavailableError when S3 is unreachable or answers 5xx: a middleware at the outermost
 * step sees the final error, after the SDK's own retries.
 */
function classifyOutages(client: S3Client): void {
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(CLASSIFY_MIDDLEWARE))) return;
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        throw classifyS3Error(error);
      }
    },
    { step: 'initialize', name: CLASSIFY_MIDDLEWARE },
  );
}

interface Settings {
  bucket: string;
  prefix: string;
  partSize: number;
  queueSize: number;
  multipartCopyThreshold: number;
  copyPartSize: number;
}

class S3BlobStore implements BlobStore {
  constructor(
    readonly client: S3Client,
    private readonly ownsClient: boolean,
    readonly settings: Settings,
  ) {}

  blobKey(sha256: string): string {
    return `${this.settings.prefix}sha256/${sha256}`;
  }

  private get incomingPrefix(): string {
    return `${this.settings.prefix}incoming/`;
  }

  async beginUpload(): Promise<BlobUpload> {
    return new S3Upload(this, `${this.incomingPrefix}${randomUUID()}`);
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    checkSha256(sha256);
    return this.head(this.blobKey(sha256));
  }

  async head(key: string): Promise<BlobInfo | null> {
    try {
      const result = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }));
      return { size: result.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    checkSha256(sha256);
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && 0 <= range.start && range.start <= range.end)) {
      throw new RangeError(`invalid byte range ${range.start}-${range.end}`);
    }
    try {
      const result = await this.client.send(
        new GetObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.blobKey(sha256),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      // In Node the body is an http.IncomingMessage: a Readable.
      const body = result.Body as Readable;
      return range ? exactRange(body, range, { contentRange: result.ContentRange, contentLength: result.ContentLength }) : body;
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFoundError(`blob ${sha256} does not exist`);
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    checkSha256(sha256);
    await this.deleteKey(this.blobKey(sha256));
  }

  /** Deleting a missing key succeeds in S3; some compatible servers answer NoSuchKey instead. */
  async deleteKey(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  /** Every object under a prefix (after `startAfter`, a whole key), page by page, each page asked for only when needed. */
  private async *objects(
    prefix: string,
    from: { startAfter?: string; maxKeys?: number } = {},
  ): AsyncIterable<{ key: string; lastModified: Date | undefined }> {
    let token: string | undefined;
    do {
      const result = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.settings.bucket,
          Prefix: prefix,
          ContinuationToken: token,
          // S3 ignores StartAfter once a continuation token is given.
          StartAfter: token === undefined ? from.startAfter : undefined,
          MaxKeys: from.maxKeys,
        }),
      );
      for (const object of result.Contents ?? []) {
        if (object.Key !== undefined) yield { key: object.Key, lastModified: object.LastModified };
      }
      token = result.IsTruncated ? result.NextContinuationToken : undefined;
    } while (token);
  }

  async *list(options: ListBlobsOptions = {}): AsyncIterable<string> {
    const prefix = `${this.settings.prefix}sha256/`;
    if (options.startAfter !== undefined) checkSha256(options.startAfter);
    const page = {
      startAfter: options.startAfter === undefined ? undefined : `${prefix}${options.startAfter}`,
      maxKeys: options.pageSize === undefined ? undefined : Math.max(1, Math.min(1000, options.pageSize)),
    };
    for await (const { key } of this.objects(prefix, page)) {
      const sha256 = key.slice(prefix.length);
      if (SHA256_PATTERN.test(sha256)) yield sha256;
    }
  }

  /**
   * Deletes temp objects and aborts multipart uploads under incoming/ older than `olderThanMs`.
   * The bucket is shared: with several instances, pass an age longer than any upload can take,
   * or this removes uploads other instances are still writing.
   */
  async sweepIncomplete(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    // S3 times have one-second resolution: 0 must mean "everything", not "older than this second".
    const isStale = (time: Date | undefined) => olderThanMs <= 0 || time === undefined || time.getTime() < cutoff;
    let removed = 0;
    for await (const { key, lastModified } of this.objects(this.incomingPrefix)) {
      if (!isStale(lastModified)) continue;
      await this.deleteKey(key);
      removed += 1;
    }
    try {
      removed += await this.abortStaleMultipartUploads(isStale);
    } catch (error) {
      // Some S3-compatible servers do not list multipart uploads; a bucket lifecycle rule
      // (AbortIncompleteMultipartUpload) then has to clean them up.
      if (!isNotImplemented(error)) throw error;
    }
    return removed;
  }

  private async abortStaleMultipartUploads(isStale: (time: Date | undefined) => boolean): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.settings.bucket,
          Prefix: this.incomingPrefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId || !isStale(upload.Initiated)) continue;
        try {
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.settings.bucket, Key: upload.Key, UploadId: upload.UploadId }));
          aborted += 1;
        } catch (error) {
          if ((error as { name?: string }).name !== 'NoSuchUpload') throw error; // finished meanwhile
        }
      }
      const more = page.IsTruncated === true;
      keyMarker = more ? page.NextKeyMarker : undefined;
      uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return aborted;
  }

  /** Counting would mean listing the whole bucket: not cheap, so unknown. */
  async totalBytes(): Promise<number | null> {
    return null;
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.settings.bucket }));
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/**
 * One upload: `writable` feeds a lib-storage Upload (multipart above one part) into a temp object.
 * The writable finishes only once S3 has the whole temp object, and fails if S3 does.
 */
class S3Upload implements BlobUpload {
  readonly writable: Writable;
  private readonly done: Promise<unknown>;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly store: S3BlobStore,
    private readonly tempKey: string,
  ) {
    const { bucket, partSize, queueSize } = store.settings;
    // lib-storage reads this stream, cuts it into parts and sends up to queueSize at once; when
    // they are all in flight it stops reading, and backpressure reaches the writer.
    const body = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    const upload = new Upload({ client: store.client, params: { Bucket: bucket, Key: tempKey, Body: body }, partSize, queueSize });
    this.done = upload.done();
    this.done.catch(() => undefined); // observed by final(), commit() and abort()

    this.writable = new Writable({
      highWaterMark: STREAM_BUFFER_BYTES,
      write(chunk: Buffer, _encoding, callback) {
        if (body.write(chunk)) {
          callback();
          return;
        }
        const onDrain = () => {
          body.off('close', onClose);
          callback();
        };
        const onClose = () => {
          body.off('drain', onDrain);
          callback(new Error('upload to object storage stopped'));
        };
        body.once('drain', onDrain);
        body.once('close', onClose);
      },
      final: (callback) => {
        body.end();
        this.done.then(() => callback(), callback);
      },
      destroy(error, callback) {
        // Ending the body with an error makes lib-storage fail, and abort its multipart upload.
        if (!body.destroyed) body.destroy(error ?? new Error('upload aborted'));
        callback(error);
      },
    });
    // A failed part upload fails the writer at once, rather than when it next blocks.
    this.done.catch((error: Error) => {
      if (!this.writable.destroyed) this.writable.destroy(error);
    });
  }

  async commit(sha256: string): Promise<void> {
    checkSha256(sha256);
    if (this.state === 'committed') return;
    if (this.state === 'aborted') throw new Error('upload was aborted');
    if (!this.writable.writableEnded) throw new Error('commit() before the writable was ended');
    await this.done;
    const temp = await this.store.head(this.tempKey);
    if (!temp) throw new Error(`upload ${this.tempKey} is gone (swept as stale?)`);
    const { client, settings } = this.store;
    const targetKey = this.store.blobKey(sha256);
    // Identical bytes already stored: nothing to copy.
    if (!(await this.store.head(targetKey))) {
      await copyObject({
        client,
        bucket: settings.bucket,
        sourceKey: this.tempKey,
        targetKey,
        size: temp.size,
        multipartThresholdBytes: settings.multipartCopyThreshold,
        partSizeBytes: settings.copyPartSize,
        concurrency: settings.queueSize,
      });
    }
    this.state = 'committed';
    // The blob is visible now, so the commit has succeeded whatever happens to the temp object; one
    // left behind is removed by the next sweepIncomplete (which reports errors such as permissions).
    await this.store.deleteKey(this.tempKey).catch(() => undefined);
  }

  async abort(): Promise<void> {
    if (this.state === 'committed') return;
    this.state = 'aborted';
    if (!this.writable.destroyed) this.writable.destroy();
    // Wait for lib-storage to stop (it aborts its own multipart upload). Only a completed upload
    // left a temp object to remove; one whose completion was lost in transit is left to the sweep.
    const completed = await this.done.then(
      () => true,
      () => false,
    );
    if (completed) await this.store.deleteKey(this.tempKey);
  }
}
