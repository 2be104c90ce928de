// extrepo-test-backends: none
// Error codes are API: clients match on them. In the manner of fastify's test/internals/errors.test.js,
// this checks the one table (src/errors.ts) against the README's "Error codes" table both ways, against
// every code the served API document declares, and against the code that answers them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ERRORS } from '../src/errors.js';
import { swaggerDocument } from '../src/http/spec.js';

/** Codes Elastic's spec declares that extrepo never answers, and why. */
const DECLARED_NEVER_ANSWERED: Record<string, string> = {
  'extensions.no_user_id': 'every authenticated caller of extrepo is a user (ECE answers it for sessions without one)',
  'user.roles.forbidden': 'extrepo has no roles a platform admin may not grant',
  'user.cannot_modify': 'extrepo has no read-only users',
  'user.cannot_modify_external': 'extrepo has only its native realm (no LDAP, SAML or AD users)',
  'authc.no_authentication_cluster': 'extrepo authenticates itself; ECE delegates to an authentication cluster',
  'authc.authentication_cluster_error': 'as above: there is no authentication cluster to fail',
};

const table: Array<{ name: string; code: string; status: number }> = Object.entries(ERRORS).map(([name, definition]) => ({
  name,
  code: definition.code,
  status: definition.status,
}));

function readmeCodes(): Map<string, number> {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.split(/^### Error codes$/m)[1];
  assert.ok(section, 'README.md has a "### Error codes" section');
  const rows = new Map<string, number>();
  for (const line of section.split(/^#{1,3} /m)[0]!.split('\n')) {
    const match = /^\| `([a-z_]+(?:\.[a-z_]+)+)` \| (\d{3}) \|/.exec(line);
    if (match) rows.set(match[1]!, Number(match[2]));
  }
  return rows;
}

function specDeclaredCodes(): Map<string, Set<number>> {
  const declared = new Map<string, Set<number>>();
  for (const item of Object.values(swaggerDocument.paths as Record<string, Record<string, any>>)) {
    for (const operation of Object.values(item)) {
      for (const [status, response] of Object.entries((operation?.responses ?? {}) as Record<string, any>)) {
        for (const code of (response?.headers?.['x-cloud-error-codes']?.enum ?? []) as string[]) {
          if (!declared.has(code)) declared.set(code, new Set());
          declared.get(code)!.add(Number(status));
        }
      }
    }
  }
  return declared;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

test('every code is declared once, in the shape clients match on', () => {
  const codes = table.map((entry) => entry.code);
  assert.deepEqual(
    codes.filter((code, i) => codes.indexOf(code) !== i),
    [],
    'a code string is reused',
  );
  for (const { name, code, status } of table) {
    assert.match(code, /^[a-z_]+(\.[a-z_]+)+$/, `${name}: ${code}`);
    assert.ok(status >= 400 && status <= 599, `${name}: status ${status}`);
  }
});

test("the README's error table lists exactly the table's codes, with the same statuses", () => {
  const readme = readmeCodes();
  for (const { code, status } of table) {
    assert.equal(readme.get(code), status, `README.md: ${code} should be listed with status ${status}`);
  }
  const known = new Set(table.map((entry) => entry.code));
  assert.deepEqual(
    [...readme.keys()].filter((code) => !known.has(code)),
    [],
    'README.md lists codes that src/errors.ts does not have',
  );
});

test('every code the API document declares is in the table (with a status it is declared with) or explained', () => {
  const byCode = new Map(table.map((entry) => [entry.code, entry.status]));
  for (const [code, statuses] of specDeclaredCodes()) {
    if (code in DECLARED_NEVER_ANSWERED) {
      assert.ok(!byCode.has(code), `${code} is said never to be answered but is in the table`);
      continue;
    }
    const status = byCode.get(code);
    assert.ok(status !== undefined, `the API document declares ${code}, which src/errors.ts does not have`);
    assert.ok(statuses.has(status), `${code}: the table says ${status}, the API document ${[...statuses].join(', ')}`);
  }
});

test('every entry of the table is answered somewhere, and no code string is written outside it', () => {
  const code = sources('src')
    .filter((file) => path.resolve(file) !== path.resolve('src/errors.ts'))
    .map((file) => [file, readFileSync(file, 'utf8')] as const);
  for (const { name } of table) {
    const used = code.some(([, text]) => text.includes(`'${name}'`) || new RegExp(`ERRORS\\.${name}\\b`).test(text));
    assert.ok(used, `ERRORS.${name} is never used: answer it or remove it`);
  }
  for (const { code: string } of table) {
    const inline = code.filter(([, text]) => text.includes(`'${string}'`)).map(([file]) => file);
    assert.deepEqual(inline, [], `${string} is spelled out instead of taken from src/errors.ts`);
  }
});
