// extrepo-test-backends: none
// src/api-types.ts is generated from the served API document; this fails when spec/ changed and the
// types were not regenerated (npm run generate:api-types), so the types can never drift from spec/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
