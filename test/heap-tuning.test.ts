// extrepo-test-backends: none
// The V8 heap setting main() applies at start-up (src/heap-tuning.ts), and the operator's say over it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAP_GROWING_PERCENT, tuneHeap } from '../src/heap-tuning.js';

test('the heap growing factor is fixed when the operator did not choose one', () => {
  assert.equal(tuneHeap([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(tuneHeap(['--max-old-space-size=512', '--import', 'tsx']), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
});

test("the operator's own setting on the node command line wins, with dashes or underscores", () => {
  assert.equal(tuneHeap(['--heap-growing-percent=50', '--import', 'tsx']), null);
  assert.equal(tuneHeap(['--import', 'tsx', '--heap_growing_percent=20']), null);
});
