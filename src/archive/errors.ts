// The one error the validator rejects an archive with. `reason` is a short, stable machine reason
// (used as a metrics label); `message` is for the person who uploaded the archive and says how to
// fix it.

export type ArchiveRejectionReason =
  | 'not_a_zip'
  | 'corrupt'
  | 'zip_slip'
  | 'symlink'
  | 'encrypted'
  | 'duplicate_entry'
  | 'too_many_entries'
  | 'too_large_uncompressed'
  | 'compression_ratio'
  | 'missing_descriptor'
  | 'duplicate_descriptor'
  | 'invalid_descriptor'
  | 'descriptor_key_missing'
  | 'legacy_layout'
  | 'version_mismatch'
  | 'unsupported';

export class ArchiveRejectedError extends Error {
  readonly reason: ArchiveRejectionReason;
  /** The entry name the rejection is about, when there is one. */
  readonly entry?: string;

  constructor(reason: ArchiveRejectionReason, message: string, entry?: string) {
    super(message);
    this.name = 'ArchiveRejectedError';
    this.reason = reason;
    if (entry !== undefined) this.entry = entry;
  }
}

/** Quotes an entry name for a message; JSON escaping keeps control characters readable. */
export function quote(name: string): string {
  return JSON.stringify(name);
}
