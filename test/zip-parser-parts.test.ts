// extrepo-test-backends: none
// The zip parser's parts on their own: the byte cursor under every way of cutting the input into
// chunks, and the central-directory cross-checks against hand-made records. The whole parser is
// tested through archives in archive-validation.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteCursor } from '../src/archive/byte-cursor.js';
import { CentralDirectoryCheck, nameKey, type LocalEntry } from '../src/archive/central-directory.js';
import { ArchiveRejectedError } from '../src/archive/errors.js';
import type { CentralFileHeader, EndOfCentralDirectory } from '../src/archive/zip-format.js';

/** Reads records of the given lengths, then the rest as data, feeding `chunks` one by one. */
function readRecords(chunks: Buffer[], lengths: number[]): { records: Buffer[]; data: Buffer; positions: number[] } {
  const cursor = new ByteCursor();
  const records: Buffer[] = [];
  const positions: number[] = [];
  const data: Buffer[] = [];
  let next = 0;
  for (const chunk of chunks) {
    cursor.begin(chunk);
    while (cursor.hasInput()) {
      if (next < lengths.length) {
        const at = cursor.position();
        const record = cursor.need(lengths[next]!);
        if (!record) break;
        records.push(Buffer.from(record));
        positions.push(at);
        next++;
      } else {
        const piece = cursor.data(Infinity);
        data.push(Buffer.from(piece));
        cursor.advance(piece.length);
      }
    }
    cursor.finishChunk();
  }
  return { records, data: Buffer.concat(data), positions };
}

function splitAt(input: Buffer, cuts: number[]): Buffer[] {
  const points = [0, ...cuts, input.length];
  return points.slice(1).map((end, i) => input.subarray(points[i]!, end));
}

describe('byte cursor', () => {
  const input = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
  const lengths = [4, 30, 1, 9];
  const expected = readRecords([input], lengths);

  test('records and data are the same however the input is cut into two or three chunks', () => {
    assert.deepEqual(expected.positions, [0, 4, 34, 35]);
    for (let a = 0; a <= input.length; a++) {
      for (let b = a; b <= input.length; b += 7) {
        const got = readRecords(splitAt(input, [a, b]), lengths);
        assert.deepEqual(got, expected, `cut at ${a} and ${b}`);
      }
    }
  });

  test('one byte at a time gives the same records, positions and data', () => {
    const bytes = Array.from(input, (byte) => Buffer.from([byte]));
    assert.deepEqual(readRecords(bytes, lengths), expected);
  });

  test('unread() hands back bytes of a record that straddled two chunks', () => {
    const cursor = new ByteCursor();
    cursor.begin(input.subarray(0, 3));
    assert.equal(cursor.need(4), null);
    cursor.finishChunk();
    cursor.begin(input.subarray(3));
    assert.deepEqual([...cursor.need(4)!], [0, 1, 2, 3]);
    cursor.unread(4);
    assert.equal(cursor.position(), 0);
    assert.deepEqual([...cursor.peek(6)], [0, 1, 2, 3, 4, 5]);
    assert.deepEqual([...cursor.need(6)!], [0, 1, 2, 3, 4, 5]);
    assert.equal(cursor.position(), 6);
  });

  test('pushed-back bytes are parsed before the rest of the chunk', () => {
    const cursor = new ByteCursor();
    cursor.begin(Buffer.from([7, 8]));
    cursor.pushBack(Buffer.from([5, 6]));
    assert.deepEqual([...cursor.need(4)!], [5, 6, 7, 8]);
  });

  test('entry data is never read while record bytes are carried', () => {
    const cursor = new ByteCursor();
    cursor.begin(Buffer.from([1]));
    cursor.need(2);
    assert.throws(() => cursor.data(10), /carried bytes/);
  });
});

function local(name: string, offset: number, crc32 = 0x1234, size = 10): LocalEntry {
  return {
    name,
    key: nameKey(name),
    offset,
    method: 8,
    hasDescriptor: false,
    declared: null,
    crc32,
    compressedSize: size,
    uncompressedSize: size * 2,
    listedInCentral: false,
  };
}

function centralFor(entry: LocalEntry, changes: Partial<CentralFileHeader> = {}): [CentralFileHeader, Buffer, Buffer] {
  const name = Buffer.from(entry.name);
  const header: CentralFileHeader = {
    versionMadeBy: 20,
    flags: 0,
    method: entry.method,
    crc32: entry.crc32,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    nameLength: name.length,
    extraLength: 0,
    commentLength: 0,
    diskStart: 0,
    externalAttributes: 0,
    localHeaderOffset: entry.offset,
    ...changes,
  };
  return [header, name, Buffer.alloc(0)];
}

function end(entries: number, size: number, offset: number): EndOfCentralDirectory {
  return {
    disk: 0,
    centralDirectoryDisk: 0,
    entriesOnDisk: entries,
    entries,
    centralDirectorySize: size,
    centralDirectoryOffset: offset,
    commentLength: 0,
  };
}

function rejection(fn: () => void, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof ArchiveRejectedError && pattern.test(error.message));
}

describe('central-directory check', () => {
  test('a directory that lists every local entry exactly passes, end record included', () => {
    const check = new CentralDirectoryCheck();
    const a = local('a.txt', 0);
    const b = local('dir/b.txt', 50, 0xabcdef);
    check.addLocal(a);
    check.addLocal(b);
    check.begin(100);
    check.checkEntry(...centralFor(a));
    check.checkEntry(...centralFor(b));
    check.end(180);
    check.checkEnd(end(2, 80, 100));
    assert.equal(check.entries, 2);
  });

  test('each disagreement with the local header is named', () => {
    const cases: Array<[Partial<CentralFileHeader>, RegExp]> = [
      [{ crc32: 0x9999 }, /CRC-32 0x00009999 vs 0x00001234/],
      [{ method: 0 }, /compression method 0 vs 8/],
      [{ compressedSize: 11 }, /compressed size 11 vs 10/],
      [{ uncompressedSize: 21 }, /uncompressed size 21 vs 20/],
      [{ localHeaderOffset: 7 }, /points at byte 7, where no entry starts/],
    ];
    for (const [changes, pattern] of cases) {
      const check = new CentralDirectoryCheck();
      const a = local('a.txt', 0);
      check.addLocal(a);
      rejection(() => check.checkEntry(...centralFor(a, changes)), pattern);
    }
  });

  test('a central record naming another file than its local header is refused', () => {
    const check = new CentralDirectoryCheck();
    const a = local('a.txt', 0);
    check.addLocal(a);
    const [header] = centralFor(a);
    rejection(() => check.checkEntry(header, Buffer.from('b.txt'), Buffer.alloc(0)), /the local header names it "a\.txt"/);
  });

  test('an entry listed twice, or left out, is refused', () => {
    const twice = new CentralDirectoryCheck();
    const a = local('a.txt', 0);
    twice.addLocal(a);
    twice.checkEntry(...centralFor(a));
    rejection(() => twice.checkEntry(...centralFor(a)), /lists the entry at byte 0 twice/);

    const missing = new CentralDirectoryCheck();
    missing.addLocal(local('a.txt', 0));
    missing.addLocal(local('b.txt', 40));
    missing.checkEntry(...centralFor(local('a.txt', 0)));
    rejection(() => missing.checkEnd(end(1, 0, 0)), /has 2 entries but its central directory lists 1 \(entry "b\.txt" is missing/);
  });

  test('end records that misstate the directory are refused', () => {
    const check = new CentralDirectoryCheck();
    const a = local('a.txt', 0);
    check.addLocal(a);
    check.begin(100);
    check.checkEntry(...centralFor(a));
    check.end(150);
    rejection(() => check.checkEnd(end(1, 49, 100)), /central directory size is 49, but it is 50/);
    rejection(() => check.checkEnd(end(1, 50, 99)), /central directory offset is 99, but it is 100/);
    rejection(() => check.checkEnd({ ...end(1, 50, 100), disk: 1 }), /split across several files/);
  });
});
