// Removes blobs that no extension references: leftovers of a crash between committing a file and
// storing its reference, or of a delete that could not remove the file. Each candidate is re-checked
// under the blob lock, so a blob that an upload is about to reference is never removed.
import type { BlobStore } from '../stores/blob-store.js';
import type { MetadataStore } from '../stores/metadata-store.js';

export async function collectUnreferencedBlobs(store: MetadataStore, blobs: BlobStore): Promise<number> {
  const referenced = await store.listReferencedBlobs();
  let removed = 0;
  for await (const sha256 of blobs.list()) {
    if (referenced.has(sha256)) continue;
    await store.withBlobLock(sha256, async () => {
      if ((await store.countBlobReferences(sha256)) > 0) return;
      await blobs.delete(sha256);
      removed++;
    });
  }
  return removed;
}
