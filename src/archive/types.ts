// Public option and result types of the archive validator (re-exported from index.ts).

export type ExtensionType = 'plugin' | 'bundle';

export interface ArchiveLimits {
  /** Most entries (files and directories) an archive may hold. Default policy: 10_000. */
  maxEntries: number;
  /** Most bytes all entries may inflate to, in total. */
  maxUncompressedBytes: number;
  /** Highest inflated:compressed ratio an entry may have (default policy 100). */
  maxRatio: number;
  /** The ratio rule only applies to entries that inflate to more than this many bytes (1 MiB). */
  ratioMinBytes: number;
}

export interface ArchiveExpectations {
  extensionType: ExtensionType;
  /** The extension's version; for plugins it must equal the descriptor's `elasticsearch.version`. */
  version: string;
}

export interface ArchiveReport {
  entries: number;
  uncompressedBytes: number;
  /** The plugin descriptor (plugins only). */
  descriptor?: { file: string; properties: Record<string, string> };
}
