// extrepo-test-backends: none
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import {
  ArchiveRejectedError,
  createArchiveValidator,
  parseJavaProperties,
  type ArchiveExpectations,
  type ArchiveLimits,
  type ArchiveReport,
} from '../src/archive/index.js';
import { classicDescriptor, cliZip, jarZip, pythonStreamedZip, rawZip, stableDescriptor, yazlZip } from './helpers/zip-fixtures.js';

const MiB = 1024 * 1024;
const LIMITS: ArchiveLimits = { maxEntries: 10_000, maxUncompressedBytes: 512 * MiB, maxRatio: 100, ratioMinBytes: MiB };
const BUNDLE: ArchiveExpectations = { extensionType: 'bundle', version: '8.11.1' };
const PLUGIN: ArchiveExpectations = { extensionType: 'plugin', version: '8.11.1' };

interface RunOptions {
  expect?: ArchiveExpectations;
  limits?: Partial<ArchiveLimits>;
  /** Fixed chunk size, or [min, max] for random sizes. Default: the whole buffer at once. */
  chunks?: number | [number, number];
}

function split(buf: Buffer, chunks: RunOptions['chunks']): Buffer[] {
  if (chunks === undefined) return [buf];
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length;) {
    const size = typeof chunks === 'number' ? chunks : chunks[0] + Math.floor(Math.random() * (chunks[1] - chunks[0] + 1));
    pieces.push(buf.subarray(i, i + size));
    i += size;
  }
  return pieces;
}

/** Streams `zip` through a validator into a sink; resolves with the report and the bytes out. */
async function validate(zip: Buffer, options: RunOptions = {}): Promise<{ report: ArchiveReport; output: Buffer }> {
  const validator = createArchiveValidator({
    limits: { ...LIMITS, ...options.limits },
    expect: options.expect ?? BUNDLE,
  });
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(split(zip, options.chunks)), validator, sink);
  assert.ok(validator.report, 'report is set after success');
  return { report: validator.report, output: Buffer.concat(out) };
}

/** Asserts the archive is rejected with `reason`, and that the message mentions each of `mentions`. */
async function assertRejected(zip: Buffer, reason: string, mentions: string[] = [], options: RunOptions = {}): Promise<ArchiveRejectedError> {
  let caught: unknown;
  try {
    await validate(zip, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ArchiveRejectedError, `expected ArchiveRejectedError, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  for (const text of mentions) assert.ok(caught.message.includes(text), `message should mention ${text}: ${caught.message}`);
  return caught;
}

/**
 * Writes only the first `bytes` bytes (never ending the stream) and asserts the validator fails
 * with `reason` from those alone: the violation is detected as soon as it is visible.
 */
async function assertRejectedEarly(zip: Buffer, bytes: number, reason: string, options: RunOptions = {}): Promise<void> {
  const validator = createArchiveValidator({ limits: { ...LIMITS, ...options.limits }, expect: options.expect ?? BUNDLE });
  validator.resume();
  const failed = new Promise<unknown>((resolve) => validator.once('error', resolve));
  for (const piece of split(zip.subarray(0, bytes), options.chunks)) validator.write(piece);
  const error = await Promise.race([failed, new Promise((resolve) => setTimeout(() => resolve('timeout'), 2000))]);
  assert.ok(error instanceof ArchiveRejectedError, `expected a rejection within ${bytes} bytes, got ${String(error)}`);
  assert.equal(error.reason, reason, error.message);
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Random bytes, which deflate cannot shrink: keeps compression ratios honest. */
function noise(n: number): Buffer {
  return randomBytes(n);
}

/** Text that compresses a few times, like source code. */
function text(n: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'plugin', 'search', 'index', 'shard', 'node', 'cluster'];
  let s = '';
  while (s.length < n) s += `${words[Math.floor(Math.random() * words.length)]}${Math.floor(Math.random() * 1000)} `;
  return Buffer.from(s.slice(0, n));
}

function flipByte(buf: Buffer, at: number): Buffer {
  const copy = Buffer.from(buf);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}

// -------------------------------------------------------------------------------------------------

describe('parseJavaProperties', () => {
  test('separators, comments, whitespace', () => {
    const props = parseJavaProperties(
      [
        '# comment',
        '! another comment',
        '',
        '   leading = spaces trimmed  ',
        'colon: value',
        'space value with spaces',
        'empty=',
        'tab\tvalue',
        'a=b=c',
        'dup=first',
        'dup=second',
      ].join('\n'),
    );
    assert.deepEqual(props, {
      leading: 'spaces trimmed  ',
      colon: 'value',
      space: 'value with spaces',
      empty: '',
      tab: 'value',
      a: 'b=c',
      dup: 'second',
    });
  });

  test('line continuations, line endings and escapes', () => {
    const props = parseJavaProperties(
      'multi=one, \\\r\n    two, \\\n\tthree\r' +
        'escaped\\ key=v\r\n' +
        'unicode=caf\\u00e9 \\u0041\n' +
        'specials=a\\tb\\nc\\\\d\\=e\n' +
        'evenBackslashes=x\\\\\n' +
        'next=y\n' +
        'continuedComment=1 \\\n# not a comment\n' +
        'last=end\\',
    );
    assert.deepEqual(props, {
      multi: 'one, two, three',
      'escaped key': 'v',
      unicode: 'café A',
      specials: 'a\tb\nc\\d=e',
      evenBackslashes: 'x\\',
      next: 'y',
      continuedComment: '1 # not a comment',
      last: 'end',
    });
  });

  test('comment lines are never continued; a key without value is empty', () => {
    assert.deepEqual(parseJavaProperties('# comment \\\nkey\n'), { key: '' });
  });

  test('malformed \\u escape throws', () => {
    assert.throws(() => parseJavaProperties('a=\\u12G4'), /Malformed/);
  });
});

describe('valid bundles', () => {
  test('yazl, deflate with data descriptors (streamed entries)', async () => {
    const zip = await yazlZip([
      { name: 'dir/', data: undefined },
      { name: 'dir/a.txt', data: text(200_000), stream: true },
      { name: 'b.bin', data: noise(50_000), stream: true },
      { name: 'empty.txt', data: '', stream: true },
    ]);
    const { report } = await validate(zip);
    assert.deepEqual(report, { entries: 4, uncompressedBytes: 250_000 });
  });

  test('yazl, stored with known sizes and stored with data descriptors', async () => {
    const zip = await yazlZip([
      { name: 'a.txt', data: text(10_000), compress: false },
      { name: 'b.txt', data: text(10_000), compress: false, stream: true },
      { name: 'c.txt', data: '', compress: false, stream: true },
      { name: 'd.txt', data: text(10_000) },
    ]);
    for (const chunks of [undefined, 1, 7, [1, 64]] as const) {
      const { report } = await validate(zip, { chunks: chunks as RunOptions['chunks'] });
      assert.deepEqual(report, { entries: 4, uncompressedBytes: 30_000 });
    }
  });

  test('zip -r (Info-ZIP, sizes in local headers) and zip -0 (stored)', async () => {
    const files = { 'lib/': '', 'lib/a.jar': noise(30_000), 'lib/b.txt': text(100_000), 'README.md': '# hi\n' };
    for (const args of [['-r', '-X'], ['-r', '-X', '-0'], ['-r']]) {
      const zip = cliZip(files, args);
      const { report } = await validate(zip, { chunks: [1, 4096] });
      assert.equal(report.entries, 4);
      assert.equal(report.uncompressedBytes, 130_005);
    }
  });

  test('empty archive (plain and zip64 end records)', async () => {
    assert.deepEqual((await validate(await yazlZip([]))).report, { entries: 0, uncompressedBytes: 0 });
    const zip64 = await yazlZip([], { forceZip64Format: true });
    assert.equal(zip64.readUInt32LE(0), 0x06064b50);
    assert.deepEqual((await validate(zip64, { chunks: 3 })).report, { entries: 0, uncompressedBytes: 0 });
  });

  test('archive comment', async () => {
    const zip = await yazlZip([{ name: 'a.txt', data: 'hello' }], { comment: 'made by a test '.repeat(100) });
    assert.equal((await validate(zip, { chunks: 5 })).report.entries, 1);
    const cli = cliZip({ 'a.txt': 'x' }, ['-r', '-X', '-z']);
    assert.equal((await validate(cli)).report.entries, 1);
  });

  test('an empty file written as deflate with no bytes at all is accepted', async () => {
    const zip = rawZip([
      { name: 'empty', data: '', method: 8, compressed: Buffer.alloc(0) },
      { name: 'x', data: 'x' },
    ]);
    assert.deepEqual((await validate(zip, { chunks: 1 })).report, { entries: 2, uncompressedBytes: 1 });
  });

  test('non-UTF-8 (CP437) names are accepted', async () => {
    const zip = rawZip([{ name: Buffer.from([0x63, 0x61, 0x66, 0x82, 0x2e, 0x74, 0x78, 0x74]), data: 'x' }]);
    assert.equal((await validate(zip)).report.entries, 1);
  });
});

describe('valid plugins', () => {
  test('classic descriptor (yazl, deflate with descriptor)', async () => {
    const zip = await yazlZip([
      { name: 'plugin-descriptor.properties', data: classicDescriptor(), stream: true },
      { name: 'test-plugin.jar', data: noise(20_000) },
      { name: 'plugin-security.policy', data: 'grant {};\n' },
    ]);
    const { report } = await validate(zip, { expect: PLUGIN, chunks: [1, 100] });
    assert.equal(report.entries, 3);
    assert.equal(report.descriptor?.file, 'plugin-descriptor.properties');
    assert.equal(report.descriptor?.properties['classname'], 'org.example.TestPlugin');
    assert.equal(report.descriptor?.properties['elasticsearch.version'], '8.11.1');
  });

  test('stable descriptor (zip CLI), no classname needed', async () => {
    const zip = cliZip({ 'stable-plugin-descriptor.properties': stableDescriptor(), 'lib/x.jar': noise(1000) });
    const { report } = await validate(zip, { expect: PLUGIN });
    assert.equal(report.descriptor?.file, 'stable-plugin-descriptor.properties');
    assert.equal(report.descriptor?.properties['name'], 'stable-test-plugin');
  });

  test('descriptor stored with a data descriptor, as Go writes it', async () => {
    const zip = rawZip([
      { name: 'plugin-descriptor.properties', data: classicDescriptor(), method: 0, descriptor: 'signed' },
      { name: 'x.jar', data: noise(100), method: 0, descriptor: 'signed' },
    ]);
    const { report } = await validate(zip, { expect: PLUGIN, chunks: 1 });
    assert.equal(report.descriptor?.properties['version'], '1.0.0');
  });
});

// jar and python3 are installed by .ci/run: a missing tool fails these tests rather than skipping them.
describe('other real-world writers', () => {
  const files = {
    'plugin-descriptor.properties': classicDescriptor(),
    'lib/plugin.jar': noise(200_000),
    'lib/notes.txt': text(300_000),
  };

  test('jar cf and jar cf0M', async () => {
    for (const stored of [false, true]) {
      const { report } = await validate(jarZip(files, stored), { expect: PLUGIN, chunks: [1, 5000] });
      assert.equal(report.descriptor?.properties['name'], 'test-plugin');
    }
  });

  test('Python zipfile to an unseekable stream (stored and deflate, zip64 forced or not)', async () => {
    for (const stored of [false, true]) {
      for (const zip64 of [false, true]) {
        const zip = pythonStreamedZip(files, { stored, zip64 });
        const { report } = await validate(zip, { expect: PLUGIN, chunks: [1, 5000] });
        assert.deepEqual([report.entries, report.uncompressedBytes], [3, 500_000 + classicDescriptor().length]);
      }
    }
  });
});

describe('stored entries with data descriptors (Go archive/zip style)', () => {
  test('found at every chunking, even with fake descriptor signatures in the data', async () => {
    const sig = Buffer.from([0x50, 0x4b, 0x07, 0x08]);
    // Data full of signatures followed by plausible-but-wrong CRCs and sizes. (Data starting with
    // a signature and 20 zero bytes would be a genuine empty entry plus descriptor: ambiguous.)
    const tricky = Buffer.concat([sig, Buffer.alloc(20, 1), text(100), sig, sig, Buffer.from('PK\x07'), sig, noise(50), sig]);
    const zip = rawZip([
      { name: 'a.bin', data: tricky, method: 0, descriptor: 'signed' },
      { name: 'empty', data: '', method: 0, descriptor: 'signed' },
      { name: 'b.bin', data: noise(70_000), method: 0, descriptor: 'signed' },
      { name: 'c.bin', data: sig, method: 0, descriptor: 'zip64' },
      { name: 'd.bin', data: '', method: 0, descriptor: 'zip64' },
      { name: 'e.txt', data: text(1000), method: 8, descriptor: 'unsigned' },
      { name: 'f.txt', data: text(1000), method: 8, descriptor: 'zip64-unsigned' },
    ]);
    const expected = tricky.length + 70_000 + 4 + 2000;
    for (const chunks of [undefined, 1, 2, 3, 5, 16, 23, 24, 25, [1, 40], [1, 10_000]] as const) {
      const { report } = await validate(zip, { chunks: chunks as RunOptions['chunks'] });
      assert.deepEqual(report, { entries: 7, uncompressedBytes: expected }, `chunks ${JSON.stringify(chunks)}`);
    }
  });

  test('no matching descriptor: unsupported', async () => {
    const zip = rawZip([{ name: 'a.bin', data: text(500), method: 0, descriptor: 'signed', dataDescriptor: { crc32: 1 } }]);
    await assertRejected(zip, 'unsupported', ['"a.bin"', 'data descriptor']);
  });
});

describe('zip64', () => {
  test('yazl forceZip64Format: zip64 extras, zip64 data descriptors, zip64 end records', async () => {
    const zip = await yazlZip(
      [
        { name: 'a.txt', data: text(5000), forceZip64Format: true },
        { name: 'b.txt', data: text(5000), forceZip64Format: true, stream: true },
        { name: 'c.txt', data: text(5000), forceZip64Format: true, stream: true, compress: false },
        { name: 'd.txt', data: '', forceZip64Format: true, stream: true, compress: false },
        { name: 'e.txt', data: text(10), stream: true },
      ],
      { forceZip64Format: true },
    );
    for (const chunks of [undefined, 1, [1, 50]] as const) {
      const { report } = await validate(zip, { chunks: chunks as RunOptions['chunks'] });
      assert.deepEqual(report, { entries: 5, uncompressedBytes: 15_010 });
    }
  });

  test('raw: zip64 extra in local headers (saturated 32-bit sizes) and zip64 EOCD', async () => {
    const zip = rawZip(
      [
        { name: 'a.txt', data: text(3000), zip64: true },
        { name: 'b.bin', data: noise(3000), method: 0, zip64: true },
      ],
      { zip64Eocd: true },
    );
    assert.equal((await validate(zip, { chunks: [1, 30] })).report.entries, 2);
  });

  test('more than 65535 entries', async () => {
    const entries = Array.from({ length: 70_000 }, (_, i) => ({ name: `f/${i}`, method: 0 }));
    const zip = rawZip(entries, { zip64Eocd: true });
    const { report } = await validate(zip, { limits: { maxEntries: 100_000 }, chunks: 64 * 1024 });
    assert.equal(report.entries, 70_000);
  });

  test('zip64 EOCD that disagrees with the central directory', async () => {
    const zip = rawZip([{ name: 'a.txt', data: 'x' }], { zip64Eocd: true, eocd: { entries: 2 } });
    await assertRejected(zip, 'corrupt', ['number of entries']);
  });
});

describe('pass-through', () => {
  test('output bytes equal input bytes, tiny and large random chunks', async () => {
    const zip = await yazlZip([
      { name: 'a.bin', data: noise(3 * MiB), compress: false },
      { name: 'b.txt', data: text(2 * MiB), stream: true },
      { name: 'c.bin', data: noise(MiB), compress: false, stream: true },
      { name: 'd.txt', data: text(100_000) },
    ]);
    const expected = sha256(zip);
    const big = await validate(zip, { chunks: [1, MiB] });
    assert.equal(sha256(big.output), expected);
    const medium = await validate(zip, { chunks: [1, 4096] });
    assert.equal(sha256(medium.output), expected);
    // 1-3 byte chunks on a smaller archive, to keep the run short.
    const tinyZip = await yazlZip([
      { name: 'a.txt', data: text(20_000), stream: true },
      { name: 'b.bin', data: noise(5000), compress: false, stream: true },
      { name: 'c.bin', data: noise(5000), compress: false },
    ]);
    const tiny = await validate(tinyZip, { chunks: [1, 3] });
    assert.equal(sha256(tiny.output), sha256(tinyZip));
  });
});

describe('not a zip / corrupt', () => {
  test('not a zip is rejected from the first bytes', async () => {
    await assertRejected(Buffer.from('this is not a zip file at all'), 'not_a_zip', ['not a zip']);
    await assertRejected(Buffer.alloc(0), 'not_a_zip', ['empty']);
    await assertRejected(Buffer.from('PK'), 'not_a_zip');
    const gzip = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]);
    await assertRejectedEarly(gzip, 1, 'not_a_zip');
    await assertRejectedEarly(Buffer.from('PK\x05\x05'), 4, 'not_a_zip', { chunks: 1 });
  });

  test('truncated archives', async () => {
    const zip = await yazlZip([
      { name: 'a.txt', data: text(10_000) },
      { name: 'b.txt', data: text(10_000), stream: true },
    ]);
    for (const cut of [10, 40, 500, zip.length - 30, zip.length - 1]) {
      const error = await assertRejected(zip.subarray(0, cut), 'corrupt', ['truncated']);
      assert.ok(error.message.includes('ends unexpectedly'));
    }
  });

  test('trailing garbage after the end record', async () => {
    const zip = await yazlZip([{ name: 'a.txt', data: 'hello' }]);
    await assertRejected(Buffer.concat([zip, Buffer.from('garbage')]), 'corrupt', ['after its end-of-central-directory']);
    await assertRejected(rawZip([{ name: 'a.txt', data: 'x' }], { comment: 'abc', eocd: { commentLength: 1 } }), 'corrupt');
  });

  test('CRC mismatch from a flipped byte: stored and deflated, inflated in one piece or streamed', async () => {
    const content = text(5000);
    for (const chunks of [undefined, 100] as const) {
      const options = { chunks };
      const stored = rawZip([{ name: 'stored.txt', data: content, method: 0 }]);
      await assertRejected(flipByte(stored, 30 + 'stored.txt'.length + 100), 'corrupt', ['"stored.txt"', 'CRC-32'], options);
      const storedDd = rawZip([{ name: 'stored-dd.txt', data: content, method: 0, descriptor: 'signed' }]);
      // The scan finds no descriptor matching the damaged data.
      await assertRejected(flipByte(storedDd, 30 + 'stored-dd.txt'.length + 100), 'unsupported', ['"stored-dd.txt"'], options);
      const deflated = rawZip([{ name: 'deflated.txt', data: content, method: 8 }]);
      const err = await assertRejected(flipByte(deflated, 30 + 'deflated.txt'.length + 200), 'corrupt', ['"deflated.txt"'], options);
      assert.equal(err.entry, 'deflated.txt');
      // Same with the CRC only known from the data descriptor.
      const dd = rawZip([{ name: 'dd.txt', data: content, method: 8, descriptor: 'signed' }]);
      await assertRejected(flipByte(dd, 30 + 'dd.txt'.length + 200), 'corrupt', ['"dd.txt"'], options);
      await assertRejected(rawZip([{ name: 'c.txt', data: content, local: { crc32: 1234 } }]), 'corrupt', ['"c.txt"', 'CRC-32'], options);
    }
  });

  test('declared sizes that do not match the data', async () => {
    await assertRejected(rawZip([{ name: 'a.txt', data: text(1000), local: { compressedSize: 3 } }]), 'corrupt', ['"a.txt"']);
    await assertRejected(rawZip([{ name: 'a.txt', data: text(1000), local: { uncompressedSize: 5000 } }]), 'corrupt', ['"a.txt"']);
    await assertRejected(rawZip([{ name: 'a.txt', data: text(1000), descriptor: 'signed', dataDescriptor: { uncompressedSize: 7 } }]), 'corrupt', [
      '"a.txt"',
      'data descriptor',
    ]);
    await assertRejected(rawZip([{ name: 'a.txt', data: text(1000), compressed: Buffer.from('not deflate at all') }]), 'corrupt', [
      'invalid deflate data',
    ]);
  });

  test('central directory disagreeing with local headers', async () => {
    const base = { data: text(1000) };
    const cases: Array<[Parameters<typeof rawZip>[0], Parameters<typeof rawZip>[1], string]> = [
      [[{ name: 'a.txt', ...base, central: { name: 'b.txt' } }], {}, 'names it'],
      [[{ name: 'a.txt', ...base, central: { crc32: 42 } }], {}, 'CRC-32'],
      [[{ name: 'a.txt', ...base, central: { uncompressedSize: 10 } }], {}, 'uncompressed size'],
      [[{ name: 'a.txt', ...base, central: { compressedSize: 10 } }], {}, 'compressed size'],
      [[{ name: 'a.txt', ...base, central: { method: 0 } }], {}, 'compression method'],
      [[{ name: 'a.txt', ...base, central: { offset: 7 } }], {}, 'no entry starts'],
      [
        [
          { name: 'a.txt', ...base },
          { name: 'hidden.txt', ...base, omitFromCentral: true },
        ],
        {},
        'missing from it',
      ],
      [[{ name: 'a.txt', ...base }], { extraCentral: [{ name: 'ghost.txt' }] }, 'twice'],
      [[{ name: 'a.txt', ...base }], { eocd: { entries: 2 } }, 'number of entries'],
      [[{ name: 'a.txt', ...base }], { eocd: { centralDirectoryOffset: 3 } }, 'central directory offset'],
      [[{ name: 'a.txt', ...base }], { eocd: { centralDirectorySize: 3 } }, 'central directory size'],
    ];
    for (const [entries, options, mention] of cases) {
      await assertRejected(rawZip(entries, options), 'corrupt', [mention]);
    }
  });
});

describe('entry safety rules', () => {
  test('zip slip names, rejected as soon as the local header arrives', async () => {
    const names = ['../../etc/passwd', 'a/../../b', '/etc/passwd', 'C:/Windows/x', 'c:x', 'a\\..\\b', 'a\0b', '..'];
    for (const name of names) {
      const zip = rawZip([{ name, data: text(5000) }]);
      const error = await assertRejected(zip, 'zip_slip', [JSON.stringify(name), 'zip slip']);
      assert.equal(error.entry, name);
      await assertRejectedEarly(zip, 30 + Buffer.byteLength(name), 'zip_slip', { chunks: 3 });
    }
    const error = await assertRejected(rawZip([{ name: '../../etc/passwd', data: 'x' }]), 'zip_slip');
    assert.equal(
      error.message,
      'Entry "../../etc/passwd" escapes the archive root (zip slip): entries must be relative paths without ".." segments. ' +
        'Re-create the archive from inside the plugin directory.',
    );
  });

  test('names with "." segments or ".." inside a name are fine', async () => {
    const zip = rawZip([
      { name: './a.txt', data: 'x' },
      { name: 'b..c/d...txt', data: 'y' },
    ]);
    assert.equal((await validate(zip)).report.entries, 2);
  });

  test('symlinks (yazl mode and raw external attributes)', async () => {
    const zip = await yazlZip([
      { name: 'a.txt', data: 'x' },
      { name: 'link', data: '/etc/passwd', mode: 0o120777 },
    ]);
    const error = await assertRejected(zip, 'symlink', ['"link"', 'symbolic link']);
    assert.equal(error.entry, 'link');
    const raw = rawZip([{ name: 'l', data: '../x', central: { externalAttributes: (0o120777 << 16) >>> 0 } }]);
    await assertRejected(raw, 'symlink', ['"l"']);
    // The same mode bits from a non-Unix host are not a symlink.
    const dos = rawZip([{ name: 'l', data: '../x', central: { versionMadeBy: 20, externalAttributes: (0o120777 << 16) >>> 0 } }]);
    assert.equal((await validate(dos)).report.entries, 1);
  });

  test('encrypted entries', async () => {
    const zip = rawZip([{ name: 'secret.txt', data: text(100), flags: 0x1 }]);
    await assertRejected(zip, 'encrypted', ['"secret.txt"', 'encrypted']);
    await assertRejectedEarly(zip, 30 + 10, 'encrypted');
  });

  test('unsupported compression method names the method', async () => {
    const zip = rawZip([{ name: 'a.bz2', data: 'BZh9...', method: 12 }]);
    await assertRejected(zip, 'unsupported', ['"a.bz2"', 'method 12']);
  });

  test('duplicate entry names, short and long', async () => {
    const zip = rawZip([
      { name: 'a.txt', data: 'one' },
      { name: 'a.txt', data: 'two' },
    ]);
    await assertRejected(zip, 'duplicate_entry', ['"a.txt"']);
    const long = `${'d/'.repeat(5000)}file.txt`;
    await assertRejected(
      rawZip([
        { name: long, data: 'one' },
        { name: long, data: 'two' },
      ]),
      'duplicate_entry',
    );
    // Long names that differ only at the end are different entries...
    const other = `${'d/'.repeat(5000)}file.txT`;
    assert.equal(
      (
        await validate(
          rawZip([
            { name: long, data: 'one' },
            { name: other, data: 'two' },
          ]),
        )
      ).report.entries,
      2,
    );
    // ...and the central directory must name them exactly.
    await assertRejected(rawZip([{ name: long, data: 'one', central: { name: other } }]), 'corrupt', ['names it']);
  });

  test('too many entries, counted as they arrive', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }));
    const zip = rawZip(entries);
    await assertRejected(zip, 'too_many_entries', ['"f10.txt"', 'more than 10'], { limits: { maxEntries: 10 } });
    assert.equal((await validate(zip, { limits: { maxEntries: 11 } })).report.entries, 11);
  });
});

describe('zip bombs', () => {
  const zeros = Buffer.alloc(20 * MiB); // deflates ~1000:1

  test('claims small sizes (data descriptor and central directory), inflates big: ratio', async () => {
    const lie = { compressedSize: 100, uncompressedSize: 100 };
    const zip = rawZip([{ name: 'bomb.txt', data: zeros, descriptor: 'signed', dataDescriptor: lie, central: lie }]);
    const error = await assertRejected(zip, 'compression_ratio', ['"bomb.txt"', 'zip bomb']);
    assert.equal(error.entry, 'bomb.txt');
    // Rejected while inflating the first compressed bytes, without the rest of the archive.
    const compressedLength = deflateRawSync(zeros).length;
    await assertRejectedEarly(zip, 30 + 8 + Math.ceil(compressedLength / 4), 'compression_ratio');
  });

  test('claims small sizes, inflates big: total limit', async () => {
    const zip = rawZip([
      { name: 'a.bin', data: noise(3 * MiB), descriptor: 'signed' },
      { name: 'b.bin', data: noise(3 * MiB), descriptor: 'signed', dataDescriptor: { uncompressedSize: 1 } },
    ]);
    await assertRejected(zip, 'too_large_uncompressed', ['"b.bin"'], { limits: { maxUncompressedBytes: 5 * MiB } });
  });

  test('local header claiming a small size while the data inflates more is corrupt', async () => {
    const zip = rawZip([{ name: 'bomb.txt', data: zeros, local: { uncompressedSize: 1000 } }]);
    await assertRejected(zip, 'corrupt', ['"bomb.txt"', 'more than the 1000 bytes']);
    await assertRejected(zip, 'corrupt', ['"bomb.txt"', 'more than the 1000 bytes'], { chunks: 4096 });
  });

  test('honest headers declaring a bomb are rejected from the header', async () => {
    const zip = rawZip([{ name: 'bomb.txt', data: zeros }]);
    await assertRejectedEarly(zip, 30 + 8, 'compression_ratio');
    await assertRejected(zip, 'too_large_uncompressed', ['"bomb.txt"'], { limits: { maxUncompressedBytes: 10 * MiB, maxRatio: 10_000 } });
  });

  test('highly compressible but small, or large with a modest ratio, is fine', async () => {
    const zip = await yazlZip([
      { name: 'small-zeros.bin', data: Buffer.alloc(MiB), stream: true }, // ratio ~1000 but <= ratioMinBytes
      { name: 'text.txt', data: text(4 * MiB), stream: true },
    ]);
    assert.equal((await validate(zip)).report.uncompressedBytes, 5 * MiB);
  });
});

describe('plugin content rules', () => {
  const jar = { name: 'test-plugin.jar', data: noise(500) };

  test('missing descriptor, including one nested in a directory', async () => {
    await assertRejected(await yazlZip([jar]), 'missing_descriptor', ['zip root'], { expect: PLUGIN });
    const nested = await yazlZip([{ name: 'my-plugin/plugin-descriptor.properties', data: classicDescriptor() }, jar]);
    const error = await assertRejected(nested, 'missing_descriptor', ['"my-plugin/plugin-descriptor.properties"', 'root'], { expect: PLUGIN });
    assert.equal(error.entry, 'my-plugin/plugin-descriptor.properties');
    await assertRejected(await yazlZip([]), 'missing_descriptor', [], { expect: PLUGIN });
  });

  test('duplicate descriptors', async () => {
    const both = await yazlZip([
      { name: 'plugin-descriptor.properties', data: classicDescriptor() },
      { name: 'stable-plugin-descriptor.properties', data: stableDescriptor() },
    ]);
    await assertRejected(both, 'duplicate_descriptor', ['"plugin-descriptor.properties"', '"stable-plugin-descriptor.properties"'], {
      expect: PLUGIN,
    });
    const twice = rawZip([
      { name: 'plugin-descriptor.properties', data: classicDescriptor() },
      { name: 'plugin-descriptor.properties', data: classicDescriptor() },
    ]);
    await assertRejected(twice, 'duplicate_descriptor', ['twice'], { expect: PLUGIN });
  });

  test('required keys, naming the key', async () => {
    for (const key of ['name', 'description', 'version', 'java.version', 'elasticsearch.version', 'classname']) {
      const zip = await yazlZip([{ name: 'plugin-descriptor.properties', data: classicDescriptor({ [key]: null }) }, jar]);
      const error = await assertRejected(zip, 'descriptor_key_missing', [`"${key}"`], { expect: PLUGIN });
      assert.equal(error.entry, 'plugin-descriptor.properties');
    }
    const emptyName = await yazlZip([{ name: 'plugin-descriptor.properties', data: classicDescriptor({ name: '' }) }]);
    await assertRejected(emptyName, 'descriptor_key_missing', ['"name"'], { expect: PLUGIN });
    const stable = await yazlZip([{ name: 'stable-plugin-descriptor.properties', data: stableDescriptor({ 'java.version': null }) }]);
    await assertRejected(stable, 'descriptor_key_missing', ['"java.version"'], { expect: PLUGIN });
  });

  test('unreadable descriptor', async () => {
    const zip = await yazlZip([{ name: 'plugin-descriptor.properties', data: `${classicDescriptor()}bad=\\uZZZZ\n` }]);
    await assertRejected(zip, 'invalid_descriptor', ['"plugin-descriptor.properties"'], { expect: PLUGIN });
    const huge = await yazlZip([{ name: 'plugin-descriptor.properties', data: `${classicDescriptor()}#${'x'.repeat(70_000)}\n` }]);
    await assertRejected(huge, 'invalid_descriptor', ['64 KiB'], { expect: PLUGIN });
  });

  test('version mismatch gives both versions and the fix', async () => {
    const zip = cliZip({ 'plugin-descriptor.properties': classicDescriptor({ 'elasticsearch.version': '8.12.0' }) });
    const error = await assertRejected(zip, 'version_mismatch', ['"8.12.0"', '"8.11.1"', "Set the extension's version"], {
      expect: PLUGIN,
    });
    assert.equal(error.entry, 'plugin-descriptor.properties');
  });

  test('legacy "elasticsearch/" layout', async () => {
    const zip = cliZip({ 'elasticsearch/plugin-descriptor.properties': classicDescriptor(), 'elasticsearch/x.jar': 'x' });
    const error = await assertRejected(
      zip,
      'legacy_layout',
      [
        'This plugin was built with an older plugin structure. Contact the plugin author to remove the intermediate "elasticsearch" directory within the plugin zip.',
      ],
      { expect: PLUGIN },
    );
    assert.ok(error.entry?.startsWith('elasticsearch'));
  });

  test('bundles do not need a descriptor and may use any layout', async () => {
    const zip = cliZip({ 'elasticsearch/synonyms.txt': 'a, b\n' });
    assert.equal((await validate(zip)).report.descriptor, undefined);
  });
});
