// The one path every extension file takes into the repository, whether uploaded or copied from a
// download_url: bytes are counted against the size limit, hashed and validated as a zip in the same
// pass as they stream into the blob store. Nothing becomes visible here: the caller commits the
// returned upload under the blob lock once it has stored the reference.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createArchiveValidator, type ArchiveExpectations, type ArchiveLimits, type ArchiveReport } from '../archive/index.js';
import type { BlobStore, BlobUpload } from '../stores/blob-store.js';

export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
  constructor(readonly limit: number) {
    super(`The file is larger than the limit of ${limit} bytes (EXTREPO_MAX_FILE_BYTES).`);
  }
}

export interface IngestOptions {
  maxFileBytes: number;
  archiveLimits: ArchiveLimits;
  expect: ArchiveExpectations;
  signal?: AbortSignal;
}

export interface IngestedArchive {
  sha256: string;
  size: number;
  report: ArchiveReport;
  /** Written but not yet visible: commit(sha256) or abort(). */
  upload: BlobUpload;
}

/** Counts and hashes the bytes it is shown, failing as soon as the size limit is crossed. */
class Meter {
  bytes = 0;
  readonly hash: Hash = createHash('sha256');

  constructor(private readonly maxBytes: number) {}

  readonly observe = (chunk: Buffer): void => {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) throw new FileTooLargeError(this.maxBytes);
    this.hash.update(chunk);
  };
}

export async function ingestArchive(source: Readable, blobs: BlobStore, options: IngestOptions): Promise<IngestedArchive> {
  // The source may fail (a download_url over the size limit) while the upload is being opened,
  // before the pipeline listens: without a listener that error would be an uncaught exception.
  let earlyError: unknown = null;
  const onEarlyError = (error: unknown) => {
    earlyError ??= error;
  };
  source.on('error', onEarlyError);
  let upload: BlobUpload;
  try {
    upload = await blobs.beginUpload();
  } catch (error) {
    source.destroy();
    source.off('error', onEarlyError);
    throw error;
  }
  // Counting, hashing and validating share one stream stage: each stage costs every chunk a hop.
  const meter = new Meter(options.maxFileBytes);
  const validator = createArchiveValidator({ limits: options.archiveLimits, expect: options.expect, observe: meter.observe });
  try {
    if (earlyError !== null || source.errored) throw earlyError ?? source.errored;
    await pipeline(source, validator, upload.writable, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    await upload.abort();
    throw error;
  } finally {
    source.off('error', onEarlyError);
  }
  const report = validator.report;
  if (report === null) {
    await upload.abort();
    throw new Error('archive validator finished without a report');
  }
  return { sha256: meter.hash.digest('hex'), size: meter.bytes, report, upload };
}
