// Streaming validation of uploaded extension archives (Elasticsearch plugins and bundles).
// See zip-stream-parser.ts for how the one-pass parse works and which module holds which part.

export type { ArchiveExpectations, ArchiveLimits, ArchiveReport, ExtensionType } from './types.js';
export { ArchiveRejectedError, type ArchiveRejectionReason } from './errors.js';
export { createArchiveValidator, type ArchiveValidator, type ArchiveValidatorOptions } from './zip-stream-validator.js';
export { parseJavaProperties } from './java-properties.js';
