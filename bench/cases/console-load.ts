// The web console's cold load in Debian's Chromium: a fresh browser context (empty cache) opens the
// extensions page, already signed in, and the clock stops when the table's first rows are painted,
// as the page's own Element Timing entry reports it (the names carry `elementtiming`); the
// repository holds 10,000 and 100,000 extensions (one fresh server per level, filled through the
// API). The table asks the server for one page (browse parameters), so the count should not matter.
// Also: the gzip size of the JavaScript that load fetched, from the build's own .gz files.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { BenchContext } from '../context.js';
import type { Extrepo } from '../extrepo.js';
import type { Row } from '../report.js';
import { summarize } from '../stats.js';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config.js';
import { EXTENSION_COLUMNS } from '../../src/stores/sql/extension-tuple.js';
import { openStores, storeOptionsFromConfig } from '../../src/stores/open-stores.js';
import { CHROMIUM_LAUNCH_ARGS } from '../../test/helpers/browser.js';
import { fill } from './listing.js';

type ConsoleContext = Pick<BenchContext, 'options' | 'log'>;

const CHROMIUM = process.env.EXTREPO_BENCH_CHROMIUM ?? '/usr/bin/chromium';
const LOAD_TARGET_SECONDS = 1.5;
const JS_TARGET_KIB = 600;

export function consoleLevels(mode: 'full' | 'quick' | 'smoke'): number[] {
  if (mode === 'smoke') return [100];
  return mode === 'quick' ? [10_000] : [10_000, 100_000];
}

interface Load {
  /** From the navigation's start to the first painted row, on the page's own clock. */
  seconds: number;
  /** When a script in the page learnt of it (the observer's callback, a task after the paint), same clock. */
  observedSeconds: number;
  scripts: string[];
}

type TimedWindow = Window & { __extrepoRowsPainted?: Promise<number> };

/**
 * Installed before the page's own scripts: a promise of the paint time of the first element marked
 * `elementtiming="extension-name"` (a row's name). The harness awaits it instead of using a
 * Playwright locator: a locator first evaluates Playwright's selector engine in the page, 150 ms of
 * main-thread work on this machine in the middle of the load, which no user's browser does.
 */
function recordRowsPainted(): void {
  (window as TimedWindow).__extrepoRowsPainted = new Promise((resolve) => {
    new PerformanceObserver((list, observer) => {
      const entry = list.getEntries().find((e) => (e as PerformanceEntry & { identifier?: string }).identifier === 'extension-name') as
        (PerformanceEntry & { renderTime: number; loadTime: number }) | undefined;
      if (!entry) return;
      observer.disconnect();
      resolve(entry.renderTime || entry.loadTime || entry.startTime);
    }).observe({ type: 'element', buffered: true });
  });
}

/** One cold load: new context, credential in sessionStorage, navigation to the first painted table row. */
async function coldLoad(browser: Browser, repo: Extrepo): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page = await context.newPage();
    const credential = JSON.stringify({ kind: 'apiKey', key: repo.apiKey });
    await page.addInitScript((value) => sessionStorage.setItem('extrepo.credential', value), credential);
    await page.addInitScript(recordRowsPainted);
    const scripts: string[] = [];
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (url.pathname.endsWith('.js')) scripts.push(url.pathname);
    });
    await page.goto(`${repo.server.baseUrl}/extensions`, { waitUntil: 'commit' });
    // Both on the page's clock, from the navigation's start (performance.timeOrigin).
    const [paintedMs, observedMs] = await page.evaluate(async () => [await (window as TimedWindow).__extrepoRowsPainted!, performance.now()]);
    // Only now, off the clock: the painted name is a row of the extensions table with its link.
    await page.locator('[data-test-subj="extensionsTable"] tbody tr a[elementtiming="extension-name"]').first().waitFor({ timeout: 10_000 });
    return { seconds: paintedMs! / 1000, observedSeconds: observedMs! / 1000, scripts };
  } finally {
    await context.close();
  }
}

function gzipBytesOf(scripts: string[]): number {
  const dir = path.resolve('dist/console');
  let total = 0;
  for (const script of new Set(scripts)) {
    const file = path.join(dir, script);
    total += existsSync(`${file}.gz`) ? statSync(`${file}.gz`).size : statSync(file).size;
  }
  return total;
}

/**
 * Writes `count` extensions (metadata only, like the listing case) straight into an embedded
 * store's data dir, in one SQLite transaction: the store is opened once first so it migrates.
 */
export async function prefillEmbeddedStore(dataDir: string, count: number, log: (line: string) => void): Promise<true> {
  const started = Date.now();
  const { metadata, blobs } = await openStores(await storeOptionsFromConfig(loadConfig({ EXTREPO_DATA_DIR: dataDir })));
  await metadata.close();
  await blobs.close();
  const db = new Database(path.join(dataDir, 'extrepo.sqlite3'));
  try {
    const insert = db.prepare(
      `INSERT INTO extensions (${EXTENSION_COLUMNS}) VALUES (?, ?, '*', 'bundle', ?, NULL, NULL, NULL, NULL, 'admin', 1, ?, ?)`,
    );
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const name = `bench-list-${String(i).padStart(6, '0')}`;
        insert.run(String(1_000_000_000 + i), name, `listing benchmark extension ${i}`, now + i, now + i);
      }
    })();
  } finally {
    db.close();
  }
  log(`console: wrote ${count} extensions into the store in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

export async function runConsoleLoad(
  ctx: ConsoleContext,
  startRepo: (level: number) => Promise<{ repo: Extrepo; prefilled: boolean }>,
): Promise<Row[]> {
  if (!existsSync('dist/console/index.html')) throw new Error('the console is not built: run npm run build:console');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_LAUNCH_ARGS });
  const rows: Row[] = [];
  let scripts: string[] = [];
  try {
    for (const level of consoleLevels(ctx.options.mode)) {
      const { repo, prefilled } = await startRepo(level);
      try {
        if (!prefilled) await fill(ctx, repo, level);
        await coldLoad(browser, repo); // the server's first answers (statements, caches) are not the browser's
        const samples: number[] = [];
        const observed: number[] = [];
        const rounds = ctx.options.mode === 'smoke' ? 2 : 7;
        for (let i = 0; i < rounds; i++) {
          const load = await coldLoad(browser, repo);
          samples.push(load.seconds);
          observed.push(load.observedSeconds);
          scripts = load.scripts;
        }
        const times = summarize(samples);
        const observedTimes = summarize(observed);
        ctx.log(
          `console: cold load with ${level} extensions, p50 ${(times.median * 1000).toFixed(0)} ms to the painted rows, ` +
            `${(observedTimes.median * 1000).toFixed(0)} ms when the page's observer ran`,
        );
        rows.push({
          id: `console-load-${level}`,
          group: 'console',
          label: `console: cold load of the extensions page to the table rendered, ${level.toLocaleString('en-US')} extensions (p50)`,
          unit: 's',
          extrepo: times,
          baseline: null,
          baselineLabel: '',
          ratio: null,
          target: `< ${LOAD_TARGET_SECONDS} s`,
          pass: times.median < LOAD_TARGET_SECONDS,
          notes: [
            `${times.n} cold loads in headless Chromium (new context each: empty cache), signed in with an API key; extensions ${prefilled ? 'written into the store before the server started' : 'created through the API'}.`,
            `Timed to the first rows' paint by the page's Element Timing entry; the observer that reads it ran at p50 ${observedTimes.median.toFixed(2)} s.`,
          ],
        });
      } finally {
        await repo.server.stop();
      }
    }
  } finally {
    await browser.close();
  }
  const kib = gzipBytesOf(scripts) / 1024;
  ctx.log(`console: the first page loads ${new Set(scripts).size} scripts, ${kib.toFixed(0)} KiB gzipped`);
  rows.push({
    id: 'console-js-gzip',
    group: 'console',
    label: 'console: JavaScript the extensions page loads, gzip',
    unit: 'KiB',
    extrepo: summarize([kib]),
    baseline: null,
    baselineLabel: '',
    ratio: null,
    target: `< ${JS_TARGET_KIB} KiB`,
    pass: kib < JS_TARGET_KIB,
    notes: [`${new Set(scripts).size} scripts (entry, shared chunks and the icons the page shows); served brotli, smaller still.`],
  });
  return rows;
}
