// What differs between the two SQL stores, and nothing else: the rules written once in this folder
// (stores/sql/) build their statements and read their rows through one of these. SQLite keeps times
// as integer epoch milliseconds and booleans as 0/1 (STRICT tables); PostgreSQL has timestamptz and
// boolean. The dialects themselves live beside their drivers (sqlite/sqlite-dialect.ts,
// postgres/postgres-dialect.ts).
import type { BrowseDialect } from './browse-sql.js';
import { IdCollisionError } from '../metadata-store.js';

// SQLite's `?` binds in the order the placeholders appear: every statement written for both
// dialects numbers its placeholders in that order and uses each once.
export interface SqlDialect extends BrowseDialect {
  /** A Date as a query parameter. */
  time(date: Date): unknown;
  /** A time column as the driver returns it in a keyed row (`SELECT *`). */
  readTime(value: unknown): Date;
  /** A boolean as a query parameter. */
  bool(value: boolean): unknown;
  readBool(value: unknown): boolean;
  /** `column` is one of the texts of a list parameter (see `list`). */
  inList(column: string, placeholder: string): string;
  /** A list of texts as one query parameter, for `inList`. */
  list(values: readonly string[]): unknown;
  /** Appended to a SELECT that reads a row the transaction then changes ('' where the whole database is locked). */
  forUpdate: string;
  /**
   * The statement that serializes every change that could remove the last enabled platform admin,
   * across every process on the database; null where a write transaction already excludes all others.
   */
  usersLock: string | null;
  /** The error is a primary key (or unique) violation of an insert. */
  isUniqueViolation(error: unknown): boolean;
}

/** `count` placeholders, numbered from `first`: `?, ?, ?` or `$1, $2, $3`. */
export function placeholders(dialect: SqlDialect, count: number, first = 1): string {
  return Array.from({ length: count }, (_, index) => dialect.placeholder(first + index)).join(', ');
}

export function nullableTime(dialect: SqlDialect, date: Date | null): unknown {
  return date === null ? null : dialect.time(date);
}

export function readNullableTime(dialect: SqlDialect, value: unknown): Date | null {
  return value === null ? null : dialect.readTime(value);
}

/** Rethrows an insert's error, as IdCollisionError ("<what> already exists") when the key was taken. */
export function rethrowCollision(dialect: SqlDialect, error: unknown, what: string): never {
  if (dialect.isUniqueViolation(error)) throw new IdCollisionError(`${what} already exists`);
  throw error;
}
