// extrepo-test-backends: none
// The V8 heap setting main() applies at start-up (src/heap-tuning.ts), and the operator's say over it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAP_GROWING_PERCENT, tuneHeap, YOUNG_GENERATION_FLAG, youngGenerationPinned } from '../src/heap-tuning.js';

test('the heap growing factor is fixed when the operator did not choose one', () => {
  assert.equal(tuneHeap([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(tuneHeap(['--max-old-space-size=512', '--import', 'tsx']), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
});

test("the operator's own setting on the node command line wins, with dashes or underscores", () => {
  assert.equal(tuneHeap(['--heap-growing-percent=50', '--import', 'tsx']), null);
  assert.equal(tuneHeap(['--import', 'tsx', '--heap_growing_percent=20']), null);
});

test('the young generation floor is recognised on the node command line, with dashes or underscores', () => {
  assert.equal(youngGenerationPinned([YOUNG_GENERATION_FLAG, '--import', 'tsx']), true);
  assert.equal(youngGenerationPinned(['--min_semi_space_size=8']), true);
  assert.equal(youngGenerationPinned(['--max-semi-space-size=16', '--import', 'tsx']), false);
  assert.equal(youngGenerationPinned([]), false);
});

test('npm start, the Dockerfile and the systemd unit start node with the young generation floor', async () => {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.start ?? '', new RegExp(`node ${YOUNG_GENERATION_FLAG} dist/main\\.js`));
  assert.match(await readFile('Dockerfile', 'utf8'), new RegExp(`CMD \\["node", "${YOUNG_GENERATION_FLAG}", "dist/main\\.js"\\]`));
  assert.match(
    await readFile('deploy/extrepo.service', 'utf8'),
    new RegExp(`ExecStart=/usr/bin/node ${YOUNG_GENERATION_FLAG} /opt/extrepo/dist/main\\.js`),
  );
});
