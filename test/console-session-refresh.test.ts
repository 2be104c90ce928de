// extrepo-test-backends: each
// The console keeps a person signed in past their first token's lifetime: it calls
// POST /users/auth/_refresh before each token expires (console/src/session/session.tsx) and goes on
// working with the new one. The server's token lifetime is made short (EXTREPO_TOKEN_TTL_SECONDS=10)
// so that two refreshes happen within the test; every step waits on what the browser does, not on time.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { defaultConsoleDir } from '../src/http/console/serve-console.js';
import { launchBrowser, seriousAxeViolations, watchedPage } from './helpers/browser.js';
import { startServer, type TestServer } from './helpers/server.js';

const ADMIN_PASSWORD = 'console admin passphrase';
// Short, but long enough that the console's margin (a fifth of the lifetime: 2 s) covers a slow,
// shared machine's delays between the timer and the server.
const TOKEN_TTL_SECONDS = 10;

let server: TestServer;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(path.join(defaultConsoleDir(), 'index.html')), 'the console is not built: run npm run build:console (npm ci does)');
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD, EXTREPO_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

interface StoredToken {
  kind: 'token';
  token: string;
  expiresAt: string;
}

async function storedToken(page: Page): Promise<StoredToken> {
  const text = await page.evaluate(() => sessionStorage.getItem('extrepo.credential'));
  assert.ok(text !== null, 'a credential is stored');
  return JSON.parse(text) as StoredToken;
}

function nextRefresh(page: Page) {
  return page.waitForResponse((response) => response.url().endsWith('/api/v1/users/auth/_refresh'), { timeout: 30_000 });
}

test("the console refreshes the token before it expires and keeps working past the first token's lifetime", async () => {
  const watched = await watchedPage(browser);
  try {
    const { page } = watched;
    await server.api('POST', '/api/v1/deployments/extensions', { json: { name: 'still-listed', version: '*', extension_type: 'bundle' } });
    await page.goto(`${server.url}/sign-in`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    const firstRefresh = nextRefresh(page);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Extensions', level: 1 }).waitFor();
    const first = await storedToken(page);
    assert.ok(Date.parse(first.expiresAt) - Date.now() <= TOKEN_TTL_SECONDS * 1000, 'the server gave the short lifetime');

    // The first refresh, made with the first token while it was still valid, gives another one.
    const refreshed = await firstRefresh;
    assert.equal(refreshed.status(), 200);
    assert.equal(refreshed.request().headers().authorization, `Bearer ${first.token}`);
    const secondRefresh = nextRefresh(page);
    await page.waitForFunction((old) => !(sessionStorage.getItem('extrepo.credential') ?? '').includes(old), first.token);
    const second = await storedToken(page);
    assert.notEqual(second.token, first.token);
    assert.ok(Date.parse(second.expiresAt) > Date.parse(first.expiresAt));

    // The second refresh is due at 80 % of the second token's life, which began at 80 % of the
    // first one's: by then the first token has expired, and the console is still signed in.
    const again = await secondRefresh;
    assert.equal(again.status(), 200);
    assert.equal(again.request().headers().authorization, `Bearer ${second.token}`);
    assert.ok(Date.now() > Date.parse(first.expiresAt), "past the first token's lifetime");
    assert.equal((await server.api('GET', '/api/v1/users/auth', { headers: { authorization: `Bearer ${first.token}` } })).status, 401);

    // Working on: a page of the API read with the newest token, and a reload that restores the session from it.
    await page.waitForFunction((old) => !(sessionStorage.getItem('extrepo.credential') ?? '').includes(old), second.token);
    const third = await storedToken(page);
    const [listed] = await Promise.all([
      page.waitForResponse((response) => response.url().includes('/api/v1/deployments/extensions?')),
      page.getByLabel('Search names and descriptions').fill('still'),
    ]);
    assert.equal(listed.status(), 200);
    const used = listed.request().headers().authorization;
    assert.ok(used !== `Bearer ${first.token}` && used !== `Bearer ${second.token}`, 'the page reads with the newest token');
    await page.getByTestId('extensionsTable').getByText('still-listed').waitFor();
    // Reloaded well before the next refresh is due (8 s after the last), so none is in flight when the page goes away.
    await page.reload();
    await page.getByTestId('signedInUser').waitFor();
    await page.getByTestId('extensionsTable').getByText('still-listed').waitFor();
    assert.equal(page.url().endsWith('/sign-in'), false);
    assert.notEqual(third.token, second.token);
    assert.match(await page.getByTestId('signedInUser').innerText(), /admin/);

    const violations = await seriousAxeViolations(page);
    assert.deepEqual(
      violations.map((v) => v.id),
      [],
    );
    assert.deepEqual(watched.problems, [], 'console errors or failed requests');
  } finally {
    await watched.close();
  }
});
