// PostgreSQL as the rules in stores/sql/ see it: `$n` placeholders, timestamptz (pg reads it as a
// Date), boolean, text[] lists. Several instances share the database, so a change locks the rows
// it reads (FOR UPDATE) and user changes take one advisory lock in turn.
import type { BrowseSortField } from '../metadata-store.js';
import type { SqlDialect } from '../sql/dialect.js';
import { LOCK_NAMESPACE } from './lock-keys.js';

// Text is compared bytewise (COLLATE "C", as SQLite does and as the name indexes of migration 9
// are built), whatever the database's locale; ILIKE ignores case.
const SORT_KEYS: Record<BrowseSortField, string> = {
  name: 'name COLLATE "C"',
  extension_type: 'extension_type COLLATE "C"',
  version: 'version COLLATE "C"',
  size: 'coalesce(file_size, -1)',
  sha256: `coalesce(file_sha256, '') COLLATE "C"`,
  last_modified: `coalesce(file_uploaded_at, 'epoch'::timestamptz)`,
};

export const POSTGRES_DIALECT: SqlDialect = {
  placeholder: (position) => `$${position}`,
  sortExpression: (field) => SORT_KEYS[field],
  matches: (column, placeholder) => `${column} ILIKE ${placeholder} ESCAPE '\\'`,
  // Times are epoch milliseconds in the cursor; a Date is sent to PostgreSQL exactly.
  keyParameter: (field, key) => (field === 'last_modified' ? new Date(Number(key)) : key),
  time: (date) => date,
  readTime: (value) => value as Date,
  bool: (value) => value,
  readBool: (value) => value === true,
  inList: (column, placeholder) => `${column} = ANY(${placeholder}::text[])`,
  list: (values) => values,
  forUpdate: ' FOR UPDATE',
  usersLock: `SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE.users}, 0)`,
  isUniqueViolation: (error) => (error as { code?: string } | null)?.code === '23505',
};
