// The SQL of browseExtensions for both stores: the filters, the keyset condition and the order,
// from one description so SQLite and PostgreSQL answer the same query the same way. Only the
// dialect differs: placeholders, bytewise collation, case-insensitive matching, times.
import type { BrowseQuery, BrowseSortField } from '../metadata-store.js';

export interface BrowseDialect {
  placeholder(position: number): string;
  sortExpression(field: BrowseSortField): string;
  /** A case-insensitive LIKE of `column` against the placeholder (ESCAPE '\'). */
  matches(column: string, placeholder: string): string;
  /** The cursor's key as a query parameter for `field`. */
  keyParameter(field: BrowseSortField, key: string | number): unknown;
}

export interface BrowseStatement {
  /** WHERE … (or '') for the filters only: the count of matches uses it. */
  filterClause: string;
  filterValues: unknown[];
  /** WHERE … ORDER BY … LIMIT … for the page. */
  pageClause: string;
  pageValues: unknown[];
}

function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

export function browseStatement(query: BrowseQuery, dialect: BrowseDialect): BrowseStatement {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const next = (value: unknown) => {
    values.push(value);
    return dialect.placeholder(values.length);
  };
  if (query.ownerId !== undefined) conditions.push(`owner_id = ${next(query.ownerId)}`);
  if (query.type !== undefined) conditions.push(`extension_type = ${next(query.type)}`);
  if (query.search !== undefined && query.search !== '') {
    const pattern = likePattern(query.search);
    conditions.push(`(${dialect.matches('name', next(pattern))} OR ${dialect.matches('description', next(pattern))})`);
  }
  const filterClause = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const filterValues = [...values];

  const key = dialect.sortExpression(query.sort);
  const direction = query.descending ? 'DESC' : 'ASC';
  if (query.after !== undefined) {
    const keyPlaceholder = next(dialect.keyParameter(query.sort, query.after.key));
    const idPlaceholder = next(query.after.id);
    conditions.push(`(${key}, id) ${query.descending ? '<' : '>'} (${keyPlaceholder}, ${idPlaceholder})`);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')} ` : '';
  const pageClause = `${where}ORDER BY ${key} ${direction}, id ${direction} LIMIT ${next(query.limit)}`;
  return { filterClause, filterValues, pageClause, pageValues: values };
}
