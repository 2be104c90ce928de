// extrepo-test-backends: each
// A signed-in cold load of the extensions page asks for its first page beside the session check
// (console/src/api/client.ts, prefetch), not after it, and only once; the icons that page shows are
// in its code, not fetched after it has rendered; the table's first render already has its rows. A
// stored credential that no longer works still ends on the sign-in page, and the answer fetched
// with it is never shown to the next user.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { defaultConsoleDir } from '../src/http/console/serve-console.js';
import { launchBrowser, watchedPage, type WatchedPage } from './helpers/browser.js';
import { ADMIN_KEY, startServer, type TestServer } from './helpers/server.js';

const ADMIN_PASSWORD = 'console admin passphrase';
let server: TestServer;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(path.join(defaultConsoleDir(), 'index.html')), 'the console is not built: run npm run build:console (npm ci does)');
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD });
  browser = await launchBrowser();
  for (const name of ['first-load-a', 'first-load-b']) {
    const created = await server.api('POST', '/api/v1/deployments/extensions', { json: { name, version: '*', extension_type: 'bundle' } });
    assert.equal(created.status, 201, created.text);
  }
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Every request and response under /api/v1 and /assets, in the order the browser saw them. */
function recordTraffic(page: Page): string[] {
  const events: string[] = [];
  const label = (url: string) => new URL(url).pathname.replace(/^\/api\/v1/, '');
  page.on('request', (request) => events.push(`request ${label(request.url())}`));
  page.on('response', (response) => events.push(`response ${label(response.url())}`));
  return events;
}

async function withStoredCredential(key: string, body: (watched: WatchedPage, events: string[]) => Promise<void>): Promise<void> {
  const watched = await watchedPage(browser);
  try {
    await watched.page.addInitScript((value) => sessionStorage.setItem('extrepo.credential', value), JSON.stringify({ kind: 'apiKey', key }));
    await body(watched, recordTraffic(watched.page));
  } finally {
    await watched.page.context().close();
  }
}

test('a signed-in cold load asks for the first page once, before the session check has answered', async () => {
  await withStoredCredential(ADMIN_KEY, async ({ page, problems }, events) => {
    await page.goto(`${server.url}/extensions`);
    await page.getByTestId('extensionsTable').getByText('first-load-a', { exact: true }).waitFor();
    const listRequests = events.filter((event) => event === 'request /deployments/extensions');
    assert.equal(listRequests.length, 1, events.join('\n'));
    const asked = events.indexOf('request /deployments/extensions');
    const checked = events.indexOf('response /users/auth');
    assert.ok(asked !== -1 && checked !== -1 && asked < checked, `the list was asked for before the session check answered:\n${events.join('\n')}`);
    // The icons of the header, the table and its pager come with the page's code.
    const scriptsAfterData = events
      .slice(events.indexOf('response /deployments/extensions'))
      .filter((event) => /^request \/assets\/.*\.js$/.test(event));
    assert.deepEqual(scriptsAfterData, [], 'no script fetched after the data arrived');
    assert.deepEqual(problems, []);
  });
});

test('a signed-in cold load renders the table once, with its rows: never empty first', async () => {
  await withStoredCredential(ADMIN_KEY, async ({ page, problems }) => {
    // What the table held the first time it was in the document (recorded as the DOM changes).
    await page.addInitScript(() => {
      const observer = new MutationObserver(() => {
        const table = document.querySelector('[data-test-subj="extensionsTable"]');
        if (table === null) return;
        observer.disconnect();
        (window as unknown as { firstTable: string }).firstTable = `${table.querySelectorAll('tbody tr a').length} links: ${table.textContent ?? ''}`;
      });
      observer.observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${server.url}/extensions`);
    await page.getByTestId('extensionsTable').getByText('first-load-a', { exact: true }).waitFor();
    const first = await page.evaluate(() => (window as unknown as { firstTable?: string }).firstTable);
    assert.match(first ?? '', /^2 links: .*first-load-a/, `the table first appeared as: ${first}`);
    assert.deepEqual(problems, []);
  });
});

test('a slow first page does not hold the console back: the table shows it is loading, then fills', async () => {
  await withStoredCredential(ADMIN_KEY, async ({ page, problems }, events) => {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route(/\/api\/v1\/deployments\/extensions\?/, async (route) => {
      await released;
      await route.continue();
    });
    await page.goto(`${server.url}/extensions`);
    // The session check has answered; the list has not: the header and a loading table are shown.
    await page.getByTestId('extensionsTable').getByText('Loading…').waitFor();
    assert.ok(!events.includes('response /deployments/extensions'), events.join('\n'));
    release();
    await page.getByTestId('extensionsTable').getByText('first-load-a', { exact: true }).waitFor();
    assert.deepEqual(problems, []);
  });
});

test('a stored credential that no longer works ends on the sign-in page, and the next user sees their own list', async () => {
  await withStoredCredential('revoked.key-that-does-not-exist', async ({ page }) => {
    await page.goto(`${server.url}/extensions`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('extensionsTable').getByText('first-load-b', { exact: true }).waitFor();
  });
});
