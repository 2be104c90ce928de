// extrepo-test-backends: none
// The statements written once for both SQL stores (src/stores/sql/). SQLite's `?` binds values in
// the order its placeholders appear, PostgreSQL's `$n` by number: the same values array only means
// the same thing to both if every statement numbers its placeholders in the order they appear and
// uses each once. The store contract suites check the answers; this checks that rule for every
// statement, including the audit filters' combinations that no contract test happens to use.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { POSTGRES_DIALECT } from '../src/stores/postgres/postgres-dialect.js';
import { SQLITE_DIALECT } from '../src/stores/sqlite/sqlite-dialect.js';
import { auditStatements } from '../src/stores/sql/audit-filter.js';
import { authStatements } from '../src/stores/sql/auth-statements.js';
import type { AuditQuery } from '../src/stores/metadata-store.js';

/** The $n of a PostgreSQL statement, in the order they appear. */
function numbers(text: string): number[] {
  return [...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1]));
}

function assertInOrder(name: string, text: string): void {
  const found = numbers(text);
  assert.deepEqual(
    found,
    found.map((_, index) => index + 1),
    `${name} numbers its placeholders out of order: ${text}`,
  );
}

const FILTERS = {
  userId: 'alice',
  action: 'delete-extension',
  target: 'ext-1',
  outcome: 'failure',
  since: new Date(1_700_000_000_000),
  until: new Date(1_700_000_001_000),
} as const;

/** Every subset of the six filters, with a page. */
function everyAuditQuery(): AuditQuery[] {
  const keys = Object.keys(FILTERS) as Array<keyof typeof FILTERS>;
  return Array.from({ length: 2 ** keys.length }, (_, mask) => {
    const query: AuditQuery = { from: 20, size: 10 };
    keys.forEach((key, bit) => {
      if (mask & (1 << bit)) Object.assign(query, { [key]: FILTERS[key] });
    });
    return query;
  });
}

describe('statements shared by the SQL stores', () => {
  test('every auth statement numbers its placeholders in the order they appear, once each', () => {
    for (const [name, text] of Object.entries(authStatements(POSTGRES_DIALECT))) assertInOrder(name, text);
  });

  test('an auth statement has as many `?` in SQLite as `$n` in PostgreSQL', () => {
    const sqlite = authStatements(SQLITE_DIALECT);
    for (const [name, text] of Object.entries(authStatements(POSTGRES_DIALECT))) {
      const questionMarks = (sqlite[name as keyof typeof sqlite].match(/\?/g) ?? []).length;
      assert.equal(questionMarks, numbers(text).length, name);
    }
  });

  test('each of the 64 combinations of audit filters binds one value per placeholder, in order, on both dialects', () => {
    for (const query of everyAuditQuery()) {
      const postgres = auditStatements(query, POSTGRES_DIALECT);
      assertInOrder('audit count', postgres.count);
      assertInOrder('audit page', postgres.page);
      assert.equal(numbers(postgres.count).length, postgres.countValues.length);
      assert.equal(numbers(postgres.page).length, postgres.pageValues.length);
      const sqlite = auditStatements(query, SQLITE_DIALECT);
      assert.equal((sqlite.page.match(/\?/g) ?? []).length, sqlite.pageValues.length);
      // The page's last two values are the limit and the offset, after the filters'.
      assert.deepEqual(sqlite.pageValues.slice(-2), [10, 20]);
    }
  });

  test("audit times are bound in each dialect's type: epoch ms for SQLite, a Date for PostgreSQL", () => {
    const query = { since: FILTERS.since, until: FILTERS.until, from: 0, size: 1 };
    assert.deepEqual(auditStatements(query, SQLITE_DIALECT).countValues, [1_700_000_000_000, 1_700_000_001_000]);
    assert.deepEqual(auditStatements(query, POSTGRES_DIALECT).countValues, [FILTERS.since, FILTERS.until]);
    assert.throws(() => auditStatements({ since: new Date(Number.NaN), from: 0, size: 1 }, SQLITE_DIALECT), TypeError);
  });
});
