// The blob store: file bytes, content-addressed by sha256. Local disk implements it for the embedded
// default; S3-compatible object storage implements the same contract for scale-out
// (test/contract/blob-store.contract.ts). A blob becomes visible only through commit(), after the
// caller has verified every byte; nothing partial is ever readable under its hash.
import type { Readable, Writable } from 'node:stream';

export interface BlobUpload {
  /** Receives the bytes in order. Finishing it does not make anything visible. */
  readonly writable: Writable;
  /**
   * Makes the written bytes durable and visible under `sha256` (the caller computed and verified it).
   * Committing bytes that already exist under that hash is a no-op that still succeeds.
   */
  commit(sha256: string): Promise<void>;
  /** Discards everything written; safe to call more than once, and after a failed commit. */
  abort(): Promise<void>;
}

export interface ByteRange {
  /** inclusive */
  start: number;
  /** inclusive */
  end: number;
}

export interface BlobInfo {
  size: number;
}

/** A blob kept in a local file, opened for reading (see BlobStore.openFile). */
export interface LocalBlobFile {
  /** A file descriptor open for reading; positional reads only (it is never seeked). */
  readonly fd: number;
  /** Closes the descriptor; safe to call more than once. */
  close(): void;
}

export interface ListBlobsOptions {
  /** Only hashes greater than this one. */
  startAfter?: string;
  /** Hashes per request to the store, where it pages (default and maximum 1,000). */
  pageSize?: number;
}

export interface BlobStore {
  beginUpload(): Promise<BlobUpload>;
  stat(sha256: string): Promise<BlobInfo | null>;
  /** Streams the blob, or one byte range of it. Rejects if the blob does not exist. */
  open(sha256: string, range?: ByteRange): Promise<Readable>;
  /**
   * Only stores that keep blobs in local files: opens the blob's file itself, so that downloads can be
   * written to the connection from a few reused buffers instead of a stream that allocates a new
   * buffer per chunk (http/file-body.ts). Rejects with BlobNotFoundError if the blob does not exist.
   */
  openFile?(sha256: string): Promise<LocalBlobFile>;
  /** Removes the blob; removing a missing blob succeeds. */
  delete(sha256: string): Promise<void>;
  /**
   * Committed blob hashes in ascending order (for garbage collection), from the first, or from the
   * first after `startAfter` (the resumable sweep's cursor). Read lazily: a caller that stops early
   * has only paid for what it read (on S3, one ListObjectsV2 per `pageSize` blobs, at most 1,000).
   */
  list(options?: ListBlobsOptions): AsyncIterable<string>;
  /** Removes leftovers of uploads that never committed (crashes), older than `olderThanMs`. Returns how many. */
  sweepIncomplete(olderThanMs: number): Promise<number>;
  /** Total bytes stored, for metrics; null if the store cannot tell cheaply. */
  totalBytes(): Promise<number | null>;
  /** Cheap check for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
}
