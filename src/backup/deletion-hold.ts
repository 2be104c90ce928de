// Keeps blobs from being deleted while an online backup runs (embedded-backup.ts): the backup copies
// the database first and then every blob that copy references, so a blob deleted in between (its
// extension deleted or given a new file) would be missing from the backup. Deletions asked for
// meanwhile are remembered and carried out when the last hold is released, each re-checked under
// the blob lock, since the same bytes may have been uploaded again in the meantime.
import type { Readable } from 'node:stream';
import type { BlobInfo, BlobStore, BlobUpload, ByteRange, ListBlobsOptions, LocalBlobFile } from '../stores/blob-store.js';
import type { MetadataStore } from '../stores/metadata-store.js';

export class BlobDeletionHold implements BlobStore {
  #holders = 0;
  readonly #deferred = new Set<string>();

  /** Present exactly when the inner store has it (downloads take the faster path then). */
  readonly openFile?: (sha256: string) => Promise<LocalBlobFile>;

  constructor(
    private readonly store: MetadataStore,
    private readonly inner: BlobStore,
  ) {
    const openFile = inner.openFile?.bind(inner);
    if (openFile) this.openFile = openFile;
  }

  /** Holds deletions until the returned function is called (holds may overlap). */
  acquire(): () => Promise<void> {
    this.#holders += 1;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.#holders -= 1;
      if (this.#holders === 0) await this.#deleteDeferred();
    };
  }

  async #deleteDeferred(): Promise<void> {
    for (const sha256 of [...this.#deferred]) {
      this.#deferred.delete(sha256);
      await this.store.withBlobLock(sha256, async () => {
        if ((await this.store.countBlobReferences(sha256)) === 0) await this.inner.delete(sha256);
      });
    }
  }

  async delete(sha256: string): Promise<void> {
    if (this.#holders > 0) {
      this.#deferred.add(sha256);
      return;
    }
    await this.inner.delete(sha256);
  }

  beginUpload(): Promise<BlobUpload> {
    return this.inner.beginUpload();
  }

  stat(sha256: string): Promise<BlobInfo | null> {
    return this.inner.stat(sha256);
  }

  open(sha256: string, range?: ByteRange): Promise<Readable> {
    return this.inner.open(sha256, range);
  }

  list(options?: ListBlobsOptions): AsyncIterable<string> {
    return this.inner.list(options);
  }

  sweepIncomplete(olderThanMs: number): Promise<number> {
    return this.inner.sweepIncomplete(olderThanMs);
  }

  totalBytes(): Promise<number | null> {
    return this.inner.totalBytes();
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
