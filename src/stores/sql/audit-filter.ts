// The audit log's filters, for both SQL stores: each given field of the query narrows the records,
// and the page is newest first.
import type { AuditQuery } from '../metadata-store.js';
import type { SqlDialect } from './dialect.js';

export interface AuditStatements {
  /** Counts every record that matches the filters (one column, `n`). */
  count: string;
  /** The page of records (`SELECT *`), newest first. */
  page: string;
  countValues: unknown[];
  pageValues: unknown[];
}

export function auditStatements(query: AuditQuery, dialect: SqlDialect): AuditStatements {
  const clauses: string[] = [];
  const values: unknown[] = [];
  const add = (condition: (placeholder: string) => string, value: unknown) => {
    values.push(value);
    clauses.push(condition(dialect.placeholder(values.length)));
  };
  if (query.userId !== undefined) add((p) => `user_id = ${p}`, query.userId);
  if (query.action !== undefined) add((p) => `action = ${p}`, query.action);
  if (query.target !== undefined) add((p) => `target = ${p}`, query.target);
  if (query.outcome !== undefined) add((p) => `outcome = ${p}`, query.outcome);
  if (query.since !== undefined) add((p) => `at >= ${p}`, dialect.time(query.since));
  if (query.until !== undefined) add((p) => `at < ${p}`, dialect.time(query.until));
  const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
  const n = values.length;
  return {
    count: `SELECT count(*) AS n FROM audit ${where}`,
    page: `SELECT * FROM audit ${where} ORDER BY at DESC, id DESC LIMIT ${dialect.placeholder(n + 1)} OFFSET ${dialect.placeholder(n + 2)}`,
    countValues: values,
    pageValues: [...values, query.size, query.from],
  };
}
