// The two rules every change of an extension or a deployment checks first, in both SQL stores.
import { NotFoundError, VersionConflictError } from '../metadata-store.js';

/**
 * The row a change applies to must exist and, when the caller names the resource version it read,
 * still be at that version.
 */
export function checkChangeable<Row>(
  what: 'extension' | 'deployment',
  id: string,
  row: Row | undefined,
  resourceVersionOf: (row: Row) => number,
  expectedVersion: number | undefined,
): Row {
  if (row === undefined) throw new NotFoundError(`${what} ${id} does not exist`);
  const actual = resourceVersionOf(row);
  if (expectedVersion !== undefined && actual !== expectedVersion) throw new VersionConflictError(expectedVersion, actual);
  return row;
}

/** The blobs a change may have orphaned: those its dropped file versions held, and the file it replaced. */
export function orphanCandidates(dropped: readonly string[], replaced: string | null): string[] {
  return replaced === null ? [...dropped] : [...dropped, replaced];
}
