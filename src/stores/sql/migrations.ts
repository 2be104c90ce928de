// What the two migration runners share: a migration is a version and its SQL (an append-only list
// per dialect, in sqlite/migrations.ts and postgres/migrations.ts), and a database whose schema is
// newer than this code knows is refused, never guessed at.

export interface Migration {
  version: number;
  sql: string;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
}

/** Throws SchemaTooNewError when `current` is past `latest`; `by` says how a newer extrepo got it there. */
export function refuseNewerSchema(where: string, current: number, latest: number, by: 'written' | 'migrated'): void {
  if (current <= latest) return;
  throw new SchemaTooNewError(
    `${where} has schema version ${current}, but this extrepo only knows up to version ` +
      `${latest}: it was ${by} by a newer extrepo. Run that version (or newer) instead.`,
  );
}
