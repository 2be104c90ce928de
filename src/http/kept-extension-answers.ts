// The serialized answer of GET /deployments/extensions/{id}, kept per record. The embedded store
// hands out the same record object until the extension changes, so an answer kept under it is
// exact while its signed link stays the same (one expiry step, a minute) and the caller is shown the
// same download_url (masked or not). Records from stores that build a new object per read simply
// miss. Shared by the route and by the hot read (hot-extension-read.ts).
import type { ExtensionRecord } from '../stores/metadata-store.js';

interface Answer {
  fileUrl: string | null;
  masked: boolean;
  body: string;
}

export class KeptExtensionAnswers {
  private readonly answers = new WeakMap<ExtensionRecord, Answer>();

  /** The kept body for this record, link and masking, if there is one. */
  get(record: ExtensionRecord, fileUrl: string | null, masked: boolean): string | undefined {
    const answer = this.answers.get(record);
    return answer !== undefined && answer.fileUrl === fileUrl && answer.masked === masked ? answer.body : undefined;
  }

  keep(record: ExtensionRecord, fileUrl: string | null, masked: boolean, body: string): void {
    this.answers.set(record, { fileUrl, masked, body });
  }
}
