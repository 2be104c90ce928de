// SQLite as the rules in stores/sql/ see it: `?` placeholders, times as integer epoch milliseconds,
// booleans as 0/1 (the tables are STRICT), lists as a JSON array read by json_each. The store holds
// an exclusive lock on the file and runs each transaction on one tick, so nothing needs a row lock.
import Database from 'better-sqlite3';
import type { BrowseSortField } from '../metadata-store.js';
import type { SqlDialect } from '../sql/dialect.js';

/** Epoch ms of a Date, refusing invalid dates (NaN would otherwise fail deep inside SQLite). */
export function ms(date: Date): number {
  const value = date.getTime();
  if (!Number.isFinite(value)) throw new TypeError('invalid Date');
  return value;
}

// SQLite compares text bytewise (BINARY) and LIKE ignores the case of ASCII letters.
const SORT_KEYS: Record<BrowseSortField, string> = {
  name: 'name',
  extension_type: 'extension_type',
  version: 'version',
  size: 'coalesce(file_size, -1)',
  sha256: "coalesce(file_sha256, '')",
  last_modified: 'coalesce(file_uploaded_at, 0)',
};

export const SQLITE_DIALECT: SqlDialect = {
  placeholder: () => '?',
  sortExpression: (field) => SORT_KEYS[field],
  matches: (column, placeholder) => `${column} LIKE ${placeholder} ESCAPE '\\'`,
  keyParameter: (_field, key) => key,
  time: ms,
  readTime: (value) => new Date(value as number),
  bool: (value) => (value ? 1 : 0),
  readBool: (value) => value === 1,
  inList: (column, placeholder) => `${column} IN (SELECT value FROM json_each(${placeholder}))`,
  list: (values) => JSON.stringify(values),
  forUpdate: '',
  usersLock: null,
  isUniqueViolation: (error) => error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY',
};
