// extrepo-test-backends: none
// The CLI's outline screen (src/cli/archive/outline-check.ts): it passes sound archives after
// reading their central directory and descriptor only, and raises a doubt, never a pass, for what
// the server's rules refuse on names, types, methods, limits and descriptors. On a doubt, push runs
// the server's full validator, so a doubt about a sound archive costs time, not a refusal; a pass
// for a forged one is caught by the validator that the bytes go through on their way out.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ArchiveExpectations } from '../src/archive/index.js';
import { outlineLooksAcceptable } from '../src/cli/archive/outline-check.js';
import { pluginZip, zipOf } from './helpers/archives.js';
import { rawZip, yazlZip } from './helpers/zip-fixtures.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'extrepo-outline-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const BUNDLE: ArchiveExpectations = { extensionType: 'bundle', version: '*' };
const PLUGIN: ArchiveExpectations = { extensionType: 'plugin', version: '8.11.1' };

let files = 0;
async function judged(zip: Buffer, expect: ArchiveExpectations): Promise<boolean> {
  const file = path.join(tmp, `${files++}.zip`);
  await writeFile(file, zip);
  return outlineLooksAcceptable(file, expect);
}

test('sound bundles and plugins pass', async () => {
  assert.equal(await judged(await zipOf({ 'dictionaries/synonyms.txt': 'a, b\n', 'geoip/x.mmdb': Buffer.alloc(4096, 1) }), BUNDLE), true);
  assert.equal(await judged(await pluginZip('8.11.1'), PLUGIN), true);
});

test('what the server refuses raises a doubt', async () => {
  const doubts: Array<[string, Buffer, ArchiveExpectations]> = [
    ['not a zip', Buffer.from('just text\n'), BUNDLE],
    ['a name that escapes the root', rawZip([{ name: '../outside.txt', data: 'x' }]), BUNDLE],
    ['an absolute name', rawZip([{ name: '/etc/passwd', data: 'x' }]), BUNDLE],
    ['a backslash', rawZip([{ name: 'a\\b.txt', data: 'x' }]), BUNDLE],
    ['a symbolic link', await yazlZip([{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]), BUNDLE],
    ['an encrypted entry', rawZip([{ name: 'secret.txt', data: 'x', method: 0, flags: 1 }]), BUNDLE],
    ['an unsupported method', rawZip([{ name: 'x.bin', data: 'x', method: 12 }]), BUNDLE],
    [
      'a declared zip bomb',
      rawZip([{ name: 'bomb.bin', data: 'x', method: 0, central: { uncompressedSize: 900 * 1024 * 1024, compressedSize: 1024 } }]),
      BUNDLE,
    ],
    ['a plugin without descriptor', await zipOf({ 'x.jar': 'x' }), PLUGIN],
    ['a descriptor without java.version', await pluginZip('8.11.1', { 'java.version': null }), PLUGIN],
    ['a descriptor for another version', await pluginZip('8.12.0'), PLUGIN],
    ['a nested descriptor only', await zipOf({ 'plugin/plugin-descriptor.properties': 'name=x\n', 'plugin/x.jar': 'x' }), PLUGIN],
  ];
  for (const [why, zip, expect] of doubts) assert.equal(await judged(zip, expect), false, why);
});

test('more entries than the server allows raise a doubt', async () => {
  const many: Record<string, string> = {};
  for (let i = 0; i <= 10_000; i++) many[`f/${i}.txt`] = '';
  assert.equal(await judged(await zipOf(many, { compress: false }), BUNDLE), false);
});
