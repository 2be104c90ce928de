// The archive limits of a server started with no settings. They sit apart from config.ts (which
// reads and checks the environment) so the CLI can apply the server's defaults to an archive
// without loading the server's configuration and its dependencies on every push.
import type { ArchiveLimits } from './types.js';

const GiB = 1024 ** 3;

/**
 * The zip-bomb rule (entry-rules.ts): an entry that inflates to more than ARCHIVE_RATIO_MIN_BYTES
 * may be at most ARCHIVE_MAX_RATIO times its compressed size. Fixed, not settings: no plugin or
 * bundle comes near it.
 */
export const ARCHIVE_MAX_RATIO = 100;
export const ARCHIVE_RATIO_MIN_BYTES = 1024 * 1024;

/** EXTREPO_MAX_FILE_BYTES when unset. */
export const DEFAULT_MAX_FILE_BYTES = 8 * GiB;
/** EXTREPO_MAX_ZIP_ENTRIES when unset. */
export const DEFAULT_MAX_ZIP_ENTRIES = 10_000;
/** EXTREPO_MAX_UNCOMPRESSED_BYTES, when unset, is this many times EXTREPO_MAX_FILE_BYTES. */
export const UNCOMPRESSED_BYTES_PER_FILE_BYTE = 4;

/** What the validator enforces on a server whose archive settings are all unset. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: DEFAULT_MAX_ZIP_ENTRIES,
  maxUncompressedBytes: UNCOMPRESSED_BYTES_PER_FILE_BYTE * DEFAULT_MAX_FILE_BYTES,
  maxRatio: ARCHIVE_MAX_RATIO,
  ratioMinBytes: ARCHIVE_RATIO_MIN_BYTES,
};
