// extrepo-test-backends: each
// The memory a burst of transfers leaves behind is given back once the server is idle again
// (src/memory/idle-trim.ts): a full collection and glibc's malloc_trim, from the project's own addon,
// only once no upload or download has been in flight for EXTREPO_MEMORY_TRIM_IDLE_MS.
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, beforeEach, describe, mock, test } from 'node:test';
import { IdleMemoryTrim, type IdleTrimReport } from '../src/memory/idle-trim.js';
import { loadMallocTrim } from '../src/memory/native-trim.js';
import { loadConfig } from '../src/config.js';
import { zipOf } from './helpers/archives.js';
import { metricValue } from './helpers/metrics.js';
import { startServer, type TestServer } from './helpers/server.js';

const EXT = '/api/v1/deployments/extensions';
const IDLE_MS = 150;

async function trims(server: TestServer): Promise<number> {
  return metricValue(await (await fetch(`${server.url}/metrics`)).text(), 'extrepo_memory_trims_total');
}

async function waitForTrims(server: TestServer, atLeast: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const count = await trims(server);
    if (count >= atLeast) return count;
    if (Date.now() > deadline) assert.fail(`extrepo_memory_trims_total stayed at ${count}, expected ${atLeast}`);
    await sleep(25);
  }
}

describe('the malloc_trim addon', () => {
  test('is built by npm ci and loads (a missing build would leave idle memory untrimmed)', () => {
    const loaded = loadMallocTrim();
    assert.ok('trim' in loaded, 'unavailable' in loaded ? loaded.unavailable : '');
    assert.equal(typeof loaded.trim(), 'boolean');
  });
});

describe('idle trim through HTTP', () => {
  let server: TestServer;
  let id: string;
  let link: string;
  before(async () => {
    server = await startServer({ EXTREPO_MEMORY_TRIM_IDLE_MS: String(IDLE_MS) });
    const created = await server.api('POST', EXT, { json: { name: 'trimmed', version: '*', extension_type: 'bundle' } });
    id = created.body.id;
  });
  after(async () => {
    await server.close();
  });

  test('a started server trims once; metadata requests alone do not trim again', async () => {
    const settled = await waitForTrims(server, 1);
    await sleep(IDLE_MS * 3);
    for (let i = 0; i < 20; i++) assert.equal((await server.api('GET', `${EXT}/${id}`)).status, 200);
    await sleep(IDLE_MS * 3);
    assert.equal(await trims(server), settled);
  });

  test('an upload is followed by one trim once the server has been idle', async () => {
    const before = await trims(server);
    // Stored, not deflated: the download below has more to hold open than the loopback's socket buffers take.
    const zip = await zipOf({ 'big.bin': Buffer.alloc(32 * 1024 * 1024, 7) }, { compress: false });
    const uploaded = await server.api('PUT', `${EXT}/${id}`, { body: zip, headers: { 'content-type': 'application/zip' } });
    assert.equal(uploaded.status, 200, uploaded.text);
    link = uploaded.body.file_metadata.url;
    assert.equal(await waitForTrims(server, before + 1), before + 1);
    await sleep(IDLE_MS * 3);
    assert.equal(await trims(server), before + 1, 'one trim per burst');
  });

  test('nothing is trimmed while a download is in flight; the trim follows its end', async () => {
    const before = await trims(server);
    const { response, done } = await new Promise<{ response: http.IncomingMessage; done: Promise<number> }>((resolve, reject) => {
      http
        .get(link, (res) => {
          let bytes = 0;
          res.once('data', (chunk: Buffer) => {
            bytes += chunk.length;
            res.pause();
            resolve({
              response: res,
              done: new Promise((end) => {
                res.on('data', (more: Buffer) => (bytes += more.length));
                res.once('end', () => end(bytes));
              }),
            });
          });
        })
        .once('error', reject);
    });
    assert.equal(response.statusCode, 200);
    await sleep(IDLE_MS * 4);
    assert.equal(await trims(server), before, 'trimmed while a download was held open');
    response.resume();
    assert.equal(await done, Number(response.headers['content-length']));
    assert.equal(await waitForTrims(server, before + 1), before + 1);
  });

  test('the trims are counted with the resident memory they gave back', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.ok(metricValue(text, 'extrepo_memory_trimmed_bytes_total') >= 0);
    assert.match(text, /^# TYPE extrepo_memory_trimmed_bytes_total counter$/m);
  });
});

describe('EXTREPO_MEMORY_TRIM_IDLE_MS', () => {
  test('0 turns the trim off: no trim after start or after an upload', async () => {
    const server = await startServer({ EXTREPO_MEMORY_TRIM_IDLE_MS: '0' });
    try {
      const created = await server.api('POST', EXT, { json: { name: 'untrimmed', version: '*', extension_type: 'bundle' } });
      const zip = await zipOf({ 'a.txt': 'a' });
      assert.equal((await server.api('PUT', `${EXT}/${created.body.id}`, { body: zip, headers: { 'content-type': 'application/zip' } })).status, 200);
      await sleep(500);
      assert.equal(await trims(server), 0);
    } finally {
      await server.close();
    }
  });

  test('defaults to 2 s and refuses what is not a whole number of milliseconds', () => {
    const base = { EXTREPO_DATA_DIR: '/tmp/unused', EXTREPO_ADMIN_API_KEY: 'a-key-of-sixteen-chars' };
    assert.equal(loadConfig(base).memoryTrimIdleMs, 2000);
    assert.equal(loadConfig({ ...base, EXTREPO_MEMORY_TRIM_IDLE_MS: '0' }).memoryTrimIdleMs, 0);
    assert.throws(() => loadConfig({ ...base, EXTREPO_MEMORY_TRIM_IDLE_MS: '2s' }), /EXTREPO_MEMORY_TRIM_IDLE_MS must be a whole number, got "2s"/);
  });
});

describe('IdleMemoryTrim', () => {
  // The clock is node:test's mock: each step below is exact, however busy the machine is.
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  function trimmer(idleMs = 100) {
    const calls: string[] = [];
    const reports: IdleTrimReport[] = [];
    let rss = 1000;
    const trim = new IdleMemoryTrim({
      idleMs,
      collect: () => {
        calls.push('gc');
        rss -= 100;
      },
      trim: () => {
        calls.push('trim');
        rss -= 300;
        return true;
      },
      onTrimmed: (report) => reports.push(report),
      rss: () => rss,
    });
    return { trim, calls, reports };
  }

  test('collects, then trims, then reports what was given back, idleMs after the transfer ended', () => {
    const { trim, calls, reports } = trimmer();
    trim.begin()();
    mock.timers.tick(99);
    assert.deepEqual(calls, []);
    mock.timers.tick(1);
    assert.deepEqual(calls, ['gc', 'trim']);
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.rssBefore, 1000);
    assert.equal(reports[0]?.rssAfter, 600);
    assert.equal(reports[0]?.released, true);
  });

  test('waits for the last of overlapping transfers, and a new one postpones it', () => {
    const { trim, calls } = trimmer();
    const first = trim.begin();
    const second = trim.begin();
    first();
    first(); // ending twice counts once
    mock.timers.tick(500);
    assert.deepEqual(calls, [], 'trimmed with a transfer in flight');
    second();
    mock.timers.tick(60);
    trim.begin()(); // a transfer within the idle time starts the wait again
    mock.timers.tick(60);
    assert.deepEqual(calls, []);
    mock.timers.tick(40);
    assert.deepEqual(calls, ['gc', 'trim']);
    mock.timers.tick(1000);
    assert.deepEqual(calls, ['gc', 'trim'], 'one trim per burst');
  });

  test('after start-up it trims once, unless a transfer comes first', () => {
    const { trim, calls } = trimmer();
    trim.afterStart();
    mock.timers.tick(100);
    assert.deepEqual(calls, ['gc', 'trim']);
    const busy = trimmer();
    busy.trim.afterStart();
    const end = busy.trim.begin();
    mock.timers.tick(500);
    assert.deepEqual(busy.calls, []);
    end();
    mock.timers.tick(100);
    assert.deepEqual(busy.calls, ['gc', 'trim']);
  });

  test('without the addon it still collects; nothing to do without a transfer; close cancels', () => {
    const collected: number[] = [];
    const reports: IdleTrimReport[] = [];
    const trim = new IdleMemoryTrim({ idleMs: 10, collect: () => collected.push(1), trim: null, onTrimmed: (r) => reports.push(r) });
    assert.equal(trim.runNow(), null);
    trim.begin()();
    assert.equal(trim.runNow()?.released, null);
    assert.equal(collected.length, 1);
    trim.begin()();
    trim.close();
    mock.timers.tick(100);
    assert.equal(collected.length, 1);
    assert.equal(reports.length, 1);
  });
});
