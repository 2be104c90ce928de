// extrepo-test-backends: none
// src/api-types.ts is generated from the served API document; this fails when spec/ changed and the
// types were not regenerated (npm run generate:api-types), so the types can never drift from spec/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { API_TYPES_PATH, generateApiTypes } from '../scripts/generate-api-types.js';
import { swaggerDocument } from '../src/http/spec.js';

test('src/api-types.ts is exactly what the API document in spec/ generates', async () => {
  const generated = await generateApiTypes();
  assert.equal(readFileSync(API_TYPES_PATH, 'utf8'), generated, 'run npm run generate:api-types and commit the result');
});

test('every definition of the API document has a type', () => {
  const source = readFileSync(API_TYPES_PATH, 'utf8');
  for (const name of Object.keys(swaggerDocument.definitions as object)) {
    assert.match(source, new RegExp(`^export (interface|type) ${name}\\b`, 'm'), `no type for definition ${name}`);
  }
});

test("the console declares none of the API document's definitions itself: it imports them from src/api-types.ts", () => {
  const consoleSources = readdirSync(new URL('../console/src', import.meta.url), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.tsx?$/.test(file))
    .map((file) => [file, readFileSync(new URL(`../console/src/${file}`, import.meta.url), 'utf8')] as const);
  const definitions = Object.keys(swaggerDocument.definitions as object);
  for (const [file, source] of consoleSources) {
    for (const match of source.matchAll(/^export (?:interface|type) (\w+)/gm)) {
      assert.ok(!definitions.includes(match[1]!), `console/src/${file} declares ${match[1]}, a definition of spec/: import it from src/api-types.ts`);
    }
  }
  const types = consoleSources.find(([file]) => file === path.join('api', 'types.ts'))?.[1] ?? '';
  assert.match(types, /from '\.\.\/\.\.\/\.\.\/src\/api-types'/);
});
