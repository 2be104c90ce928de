// extrepo-test-backends: each
// The web console in a real browser: Debian's Chromium, headless, against a real extrepo over HTTP.
// Each step is what a person does, and on every page the browser logs no error, no request fails
// (unless the step expects that refusal), and axe-core finds no serious or critical violation.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { defaultConsoleDir } from '../src/http/console/serve-console.js';
import { zipOf } from './helpers/archives.js';
import { createDeployment, createRequest, entry } from './helpers/deployments.js';
import { launchBrowser, seriousAxeViolations, watchedPage, type WatchedPage } from './helpers/browser.js';
import { startServer, type TestServer } from './helpers/server.js';

const ADMIN_PASSWORD = 'console admin passphrase';
const SCREENSHOTS = process.env.EXTREPO_CONSOLE_SCREENSHOTS; // a folder: docs/screenshots refreshes the README's pictures

let server: TestServer;
let browser: Browser;
let tmp: string;
let origin: http.Server;
let originUrl: string;
let releaseOrigin: () => void = () => undefined;
let originZip: Buffer;

before(async () => {
  assert.ok(existsSync(path.join(defaultConsoleDir(), 'index.html')), 'the console is not built: run npm run build:console (npm ci does)');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'extrepo-console-'));
  originZip = await zipOf({ 'geoip/GeoLite2-City.mmdb': randomBytes(64 * 1024) }, { compress: false });
  // The download_url origin holds its answer until the test has seen the page say the server is copying.
  origin = http.createServer((request, response) => {
    const gate = new Promise<void>((resolve) => {
      releaseOrigin = resolve;
    });
    void gate.then(() => {
      response.writeHead(200, { 'content-type': 'application/zip', 'content-length': originZip.length });
      response.end(originZip);
    });
    request.resume();
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  server = await startServer({ EXTREPO_ADMIN_PASSWORD: ADMIN_PASSWORD, EXTREPO_DOWNLOAD_ALLOW_HOSTS: '127.0.0.1' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  releaseOrigin();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Checks the page as it is now: no serious or critical axe violation; a screenshot when asked for (docs/screenshots). */
async function checkPage(watched: WatchedPage, name: string, screenshot = true): Promise<void> {
  const violations = await seriousAxeViolations(watched.page);
  assert.deepEqual(
    violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `accessibility on ${name}`,
  );
  if (SCREENSHOTS && screenshot) await watched.page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

function assertNoProblems(watched: WatchedPage): void {
  assert.deepEqual(watched.problems, [], 'console errors or failed requests');
}

async function signIn(page: Page, userName: string, password: string): Promise<void> {
  await page.goto(`${server.url}/extensions`);
  await page.getByLabel('User name').fill(userName);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Extensions', level: 1 }).waitFor();
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Waits until a condition about the server holds (it acts on its own time, after a page's step); the bound only ends a stuck test. */
async function waitFor(condition: () => Promise<boolean>, what: string, boundMs = 20_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the web console', () => {
  let admin: WatchedPage;
  let bundlePath: string;
  let bundleId: string;

  before(async () => {
    admin = await watchedPage(browser);
    bundlePath = path.join(tmp, 'company-synonyms.zip');
    await writeFile(bundlePath, await zipOf({ 'dictionaries/synonyms.txt': randomBytes(3 * 1024 * 1024) }, { compress: false }));
  });
  after(async () => {
    await admin?.close();
  });

  test('a wrong password is refused in words; the right one signs in and the header names the user and role', async () => {
    const { page } = admin;
    admin.expectFailure(/answer 401: POST .*\/users\/auth\/_login/);
    await page.goto(`${server.url}/extensions`);
    await page.waitForURL(/\/sign-in$/);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The user name or password is not valid.').waitFor();
    await checkPage(admin, 'sign-in');
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Extensions', level: 1 }).waitFor();
    const header = page.getByTestId('signedInUser');
    assert.match(await header.innerText(), /admin/);
    assert.match(await header.innerText(), /ece_platform_admin/);
    const stored = await page.evaluate(() => sessionStorage.getItem('extrepo.credential'));
    assert.match(stored ?? '', /"kind":"token"/);
    await checkPage(admin, 'extensions-empty');
    assertNoProblems(admin);
  });

  test('creating a bundle uploads the chosen file with a progress bar that reaches 100 %', async () => {
    const { page, context } = admin;
    await page.getByRole('button', { name: 'Create extension' }).click();
    await page.getByRole('heading', { name: 'Create extension' }).waitFor();
    await page.getByLabel('Name').fill('company synonyms');
    await page.getByLabel('Version').fill('8.*');
    // The form says what is wrong before anything is sent.
    await page.getByText('Use only ASCII letters, digits').waitFor();
    await page.getByLabel('Name').fill('company-synonyms');
    await page.getByLabel('Description').fill('Synonyms of the whole company');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('input[type=file][name=file]').click()]);
    await chooser.setFiles(bundlePath);
    await checkPage(admin, 'create');
    // Slow the upload down so its progress is seen: about 1.5 s for 3 MiB, answered 300 ms later.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 300, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenPercents: string[] }).seenPercents = seen;
      new MutationObserver(() => {
        const text = document.querySelector('[data-test-subj="uploadPercent"]')?.textContent;
        if (text && seen[seen.length - 1] !== text) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByTestId('uploadProgress').waitFor();
    await page.waitForURL(/\/extensions\/\d{10}$/, { timeout: 60_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const percents = await page.evaluate(() => (window as unknown as { seenPercents: string[] }).seenPercents);
    assert.ok(percents.includes('100 %'), `progress seen: ${percents.join(', ')}`);
    assert.ok(
      percents.some((p) => p !== '0 %' && p !== '100 %'),
      `progress seen: ${percents.join(', ')}`,
    );
    bundleId = page.url().split('/').pop()!;
    assertNoProblems(admin);
  });

  test('the details page shows the sha256 of the file on disk, and the download gives the same bytes', async () => {
    const { page } = admin;
    const onDisk = await readFile(bundlePath);
    await page.getByTestId('extensionSha256').waitFor();
    assert.equal(await page.getByTestId('extensionSha256').innerText(), sha256(onDisk));
    assert.equal(await page.getByTestId('extensionUrl').innerText(), `repo://${bundleId}`);
    await checkPage(admin, 'details', false);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download', exact: true }).click()]);
    const saved = path.join(tmp, 'downloaded.zip');
    await download.saveAs(saved);
    assert.equal(sha256(await readFile(saved)), sha256(onDisk));
    assertNoProblems(admin);
  });

  test('replacing the file adds it to the file history; restoring the first file, once confirmed, shows its sha256 again', async () => {
    const { page } = admin;
    const first = sha256(await readFile(bundlePath));
    const secondPath = path.join(tmp, 'company-synonyms-2.zip');
    await writeFile(secondPath, await zipOf({ 'dictionaries/synonyms.txt': randomBytes(256 * 1024) }, { compress: false }));
    const second = sha256(await readFile(secondPath));
    const history = page.getByTestId('fileVersionsTable');
    await history
      .getByRole('row')
      .filter({ hasText: first.slice(0, 12) })
      .waitFor();
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('input[type=file][name=replacement]').click()]);
    await chooser.setFiles(secondPath);
    await page.getByText("company-synonyms-2.zip is now the extension's file.").waitFor();
    assert.equal(await page.getByTestId('extensionSha256').innerText(), second);
    const secondRow = history.getByRole('row').filter({ hasText: second.slice(0, 12) });
    await secondRow.getByTestId('currentFileVersion').waitFor();
    const firstRow = history.getByRole('row').filter({ hasText: first.slice(0, 12) });
    assert.equal(await firstRow.getByTestId('currentFileVersion').count(), 0);
    // The current file has no Restore button; the older one has.
    assert.equal(await secondRow.getByRole('button', { name: /^Restore/ }).count(), 0);

    await firstRow.getByRole('button', { name: 'Restore version 1' }).click();
    const dialog = page.getByRole('alertdialog').or(page.getByRole('dialog'));
    await dialog.getByText('Restore version 1 of company-synonyms?').waitFor();
    assert.match(await dialog.innerText(), new RegExp(first.slice(0, 12)));
    await checkPage(admin, 'restore-confirmation');
    await dialog.getByRole('button', { name: 'Keep the current file' }).click();
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${bundleId}`)).body.file_metadata.sha256, second);

    await firstRow.getByRole('button', { name: 'Restore version 1' }).click();
    await dialog.getByRole('button', { name: 'Restore version 1' }).click();
    await page.getByText("Version 1 is now the extension's file.").waitFor();
    await page.getByTestId('extensionSha256').filter({ hasText: first }).waitFor();
    await firstRow.getByTestId('currentFileVersion').waitFor();
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${bundleId}`)).body.file_metadata.sha256, first);
    // The restored bytes are what the page's Download gives.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download', exact: true }).click()]);
    const saved = path.join(tmp, 'restored.zip');
    await download.saveAs(saved);
    assert.equal(sha256(await readFile(saved)), first);
    await checkPage(admin, 'details');
    assertNoProblems(admin);
  });

  test("the table's Deployments column counts the deployments whose plan uses each extension", async () => {
    const { page } = admin;
    await createDeployment(server, createRequest({ name: 'search-prod', bundles: [entry(bundleId)] }));
    await page.getByRole('link', { name: 'Extensions', exact: true }).click();
    const row = page.getByTestId('extensionsTable').getByRole('row').filter({ hasText: 'company-synonyms' });
    await row.getByTestId('deploymentCount').filter({ hasText: /^1$/ }).waitFor();
    const header = page.getByTestId('extensionsTable').getByRole('columnheader', { name: 'Deployments' });
    assert.equal(await header.count(), 1);
    assertNoProblems(admin);
  });

  test('the table lists it with its type, version, size and short sha256; search finds it', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Extensions', exact: true }).click();
    const table = page.getByTestId('extensionsTable');
    const row = table.getByRole('row').filter({ hasText: 'company-synonyms' });
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /bundle/);
    assert.match(text, /8\.\*/);
    assert.match(text, /3\.0 MiB/);
    assert.match(text, new RegExp(sha256(await readFile(bundlePath)).slice(0, 12)));
    await checkPage(admin, 'extensions');
    await page.getByLabel('Search names and descriptions').fill('WHOLE COMPANY');
    await page.getByTestId('extensionsCount').filter({ hasText: '1–1 of 1' }).waitFor();
    await page.getByLabel('Search names and descriptions').fill('no such thing');
    // Exact: EUI's screen-reader caption of an empty table repeats the message inside a longer text.
    await page.getByText('No extension matches.', { exact: true }).waitFor();
    await page.getByLabel('Search names and descriptions').fill('');
    await row.waitFor();
    assertNoProblems(admin);
  });

  test('editing changes the version and the description', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'company-synonyms' }).click();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit company-synonyms' }).waitFor();
    await page.getByLabel('Version').fill('8.1');
    await page.getByText('Not valid for a bundle.').waitFor();
    await page.getByLabel('Version').fill('*');
    await page.getByLabel('Description').fill('Synonyms, reviewed');
    await checkPage(admin, 'edit');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('extensionVersion').filter({ hasText: '*' }).waitFor();
    assert.equal(await page.getByTestId('extensionDescription').innerText(), 'Synonyms, reviewed');
    const stored = await server.api('GET', `/api/v1/deployments/extensions/${bundleId}`);
    assert.equal(stored.body.version, '*');
    assertNoProblems(admin);
  });

  test('creating from a download_url says the server is copying, then shows the copied file', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/extensions/new`);
    await page.getByLabel('Name').fill('geoip-city');
    await page.getByLabel('Version').fill('*');
    await page.getByText('Copy from a download URL').click();
    await page.getByRole('textbox', { name: 'Download URL' }).fill(`${originUrl}/GeoLite2-City.zip`);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByTestId('copyingCallout').waitFor();
    await checkPage(admin, 'create-copying');
    releaseOrigin();
    await page.waitForURL(/\/extensions\/\d{10}$/);
    await page.getByTestId('extensionSha256').waitFor();
    assert.equal(await page.getByTestId('extensionSha256').innerText(), sha256(originZip));
    assertNoProblems(admin);
  });

  test('cancelling a large upload mid-way aborts the request, stores nothing, and offers to delete the empty extension', async () => {
    const uploader = await watchedPage(browser);
    try {
      const { page, context } = uploader;
      const largePath = path.join(tmp, 'large-upload.zip');
      const large = await zipOf({ 'data/large.bin': randomBytes(8 * 1024 * 1024) }, { compress: false });
      await writeFile(largePath, large);
      // The cancelled PUT is the one request this page expects to fail.
      uploader.expectFailure(/^request failed: PUT .*\/api\/v1\/deployments\/extensions\/\d{10} net::ERR_ABORTED/);
      const aborted: string[] = [];
      page.on('requestfailed', (request) =>
        aborted.push(`${request.method()} ${request.failure()?.errorText ?? ''}${request.method() === 'PUT' ? '' : ` ${request.url()}`}`),
      );
      await signIn(page, 'admin', ADMIN_PASSWORD);
      // Within the page, as a person goes (a new page load would abort EUI's lazily loaded icons).
      await page.getByRole('button', { name: 'Create extension' }).click();
      await page.getByRole('heading', { name: 'Create extension' }).waitFor();
      await page.getByLabel('Name').fill('large-upload');
      await page.getByLabel('Version').fill('*');
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('input[type=file][name=file]').click()]);
      await chooser.setFiles(largePath);
      // 8 MiB at 1 MiB/s: the bar is seen between 5 % and 60 %, and Cancel is pressed there.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.waitForFunction(() => {
        const percent = Number.parseInt(document.querySelector('[data-test-subj="uploadPercent"]')?.textContent ?? '', 10);
        return percent >= 5 && percent <= 60;
      });
      await checkPage(uploader, 'upload-progress');
      await page.getByRole('button', { name: 'Cancel upload' }).click();
      const incomplete = page.getByTestId('uploadIncomplete');
      await incomplete.getByText('The upload was cancelled; nothing of the file was stored.').waitFor();
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      assert.deepEqual(aborted, ['PUT net::ERR_ABORTED']);
      assert.equal(page.url(), `${server.url}/extensions/new`);

      // The extension the first step created has no file, and no byte of the upload was kept.
      const listed = await server.api('GET', '/api/v1/deployments/extensions?search=large-upload');
      assert.equal(listed.body.total, 1);
      const empty = listed.body.extensions[0];
      assert.equal(empty.file_metadata, undefined);
      assert.ok(!(await server.storedFiles()).some((file) => file.endsWith(sha256(large))));
      await checkPage(uploader, 'upload-cancelled', false);

      await incomplete.getByRole('button', { name: 'Delete large-upload' }).click();
      await page.getByTestId('emptyExtensionDeleted').waitFor();
      assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${empty.id}`)).status, 404);
      // The server drops the half-received upload once it sees the connection end.
      await waitFor(
        async () => !(await server.storedFiles()).some((file) => !file.startsWith('sha256/')),
        'the incoming file of the cancelled upload is removed',
      );
      assertNoProblems(uploader);
    } finally {
      await uploader.close();
    }
  });

  test('deleting asks for a confirmation that names the extension, then removes it', async () => {
    const { page } = admin;
    const id = page.url().split('/').pop()!;
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('alertdialog').or(page.getByRole('dialog'));
    await dialog.getByText('Delete geoip-city?').waitFor();
    await checkPage(admin, 'delete-confirmation');
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${id}`)).status, 200);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete geoip-city' }).click();
    await page.waitForURL(/\/extensions$/);
    assert.equal((await server.api('GET', `/api/v1/deployments/extensions/${id}`)).status, 404);
    assertNoProblems(admin);
  });

  test('a platform admin creates a user and an API key, which is shown once', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.getByTestId('usersTable').getByText('admin', { exact: true }).waitFor();
    await checkPage(admin, 'users');
    await page.getByRole('button', { name: 'Create user' }).click();
    const flyout = page.getByRole('dialog');
    await flyout.getByLabel('User name').fill('vera-viewer');
    await flyout.getByLabel('Password', { exact: true }).fill('viewer passphrase');
    await flyout.getByLabel('ece_deployment_viewer').uncheck();
    await flyout.getByLabel('ece_platform_viewer').check();
    await checkPage(admin, 'users-create');
    await flyout.getByRole('button', { name: 'Create user' }).click();
    await page.getByTestId('usersTable').getByText('vera-viewer').waitFor();
    const created = await server.api('GET', '/api/v1/users/vera-viewer');
    assert.deepEqual(created.body.security.roles, ['ece_platform_viewer']);

    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Description').fill('release pipeline');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const shown = page.getByTestId('newApiKey');
    await shown.waitFor();
    const key = (await shown.innerText()).trim();
    await checkPage(admin, 'api-key-created');
    const whoami = await server.api('GET', '/api/v1/users/auth', { headers: { authorization: `ApiKey ${key}` } });
    assert.equal(whoami.status, 200);
    assert.equal(whoami.body.user_name, 'admin');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByTestId('keysTable').getByText('release pipeline').waitFor();
    assert.ok(!(await page.content()).includes(key.split('.').pop()!), 'the key is not shown again');
    await page.getByRole('tab', { name: "All users' keys" }).click();
    await page.getByTestId('keysTable').getByText('release pipeline').waitFor();
    await checkPage(admin, 'api-keys');

    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByTestId('auditTable').getByText('create-api-key').first().waitFor();
    await checkPage(admin, 'audit');
    assertNoProblems(admin);
  });

  test('unknown routes show the not-found page, and deep links work on reload', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/no/such/page`);
    await page.getByText('There is no such page').waitFor();
    await checkPage(admin, 'not-found');
    await page.goto(`${server.url}/extensions/${bundleId}`);
    await page.getByTestId('extensionSha256').waitFor();
    await page.reload();
    await page.getByTestId('extensionSha256').waitFor();
    assertNoProblems(admin);
  });

  test('a viewer sees no write controls and no administration, and admin pages are not found for them', async () => {
    const viewer = await watchedPage(browser);
    try {
      const { page } = viewer;
      // This test goes from page to page by address: a load of one of EUI's lazily loaded icon
      // modules still under way is aborted by the next navigation, which watchedPage does not count.
      await signIn(page, 'vera-viewer', 'viewer passphrase');
      await page.getByTestId('extensionsTable').getByText('company-synonyms').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Create extension' }).count(), 0);
      assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0);
      assert.equal(await page.getByRole('link', { name: 'Audit trail' }).count(), 0);
      await page.getByRole('link', { name: 'company-synonyms' }).click();
      await page.getByTestId('extensionSha256').waitFor();
      for (const name of ['Edit', 'Delete']) assert.equal(await page.getByRole('button', { name }).count(), 0, name);
      assert.equal(await page.locator('input[type=file]').count(), 0);
      // The file history is there to read and download, without Restore.
      const history = page.getByTestId('fileVersionsTable');
      await history.getByTestId('currentFileVersion').waitFor();
      assert.equal(
        await history
          .getByRole('row')
          .filter({ has: page.getByRole('link', { name: /^Download version/ }) })
          .count(),
        2,
      );
      assert.equal(await page.getByRole('button', { name: /^Restore/ }).count(), 0);
      assert.equal(await page.getByRole('link', { name: 'Download', exact: true }).count(), 1);
      await checkPage(viewer, 'details-viewer');
      for (const route of ['/admin/users', '/admin/audit', '/extensions/new', `/extensions/${bundleId}/edit`]) {
        await page.goto(`${server.url}${route}`);
        await page.getByText('There is no such page').waitFor();
        // EUI loads the page's icons lazily: let them arrive before navigating on, or the browser
        // aborts them (net::ERR_ABORTED), which is our navigation, not a failure of the console.
        await page.waitForLoadState('networkidle');
      }
      assertNoProblems(viewer);
    } finally {
      await viewer.close();
    }
  });

  test('sign-in says when throttling ends (429 Retry-After as a time) and that a user is disabled', async () => {
    const visitor = await watchedPage(browser);
    try {
      const { page } = visitor;
      visitor.expectFailure(/answer (401|429): POST .*\/users\/auth\/_login/);
      for (let i = 0; i < 4; i++) {
        await server.api('POST', '/api/v1/users/auth/_login', { json: { username: 'throttled-user', password: `wrong ${i}` } });
      }
      await page.goto(`${server.url}/sign-in`);
      await page.getByLabel('User name').fill('throttled-user');
      await page.getByLabel('Password', { exact: true }).fill('another guess');
      // Past 5 failures each one doubles a wait (1 s, 2 s, …) during which attempts get 429: keep
      // trying until the server answers 429, as a person would.
      let status = 0;
      for (let attempt = 0; attempt < 15 && status !== 429; attempt++) {
        const [answer] = await Promise.all([
          page.waitForResponse((response) => response.url().endsWith('/users/auth/_login')),
          page.getByRole('button', { name: 'Sign in' }).click(),
        ]);
        status = answer.status();
      }
      assert.equal(status, 429);
      const failure = page.getByTestId('signInFailure');
      await failure.filter({ hasText: 'Too many failed sign-ins' }).waitFor();
      assert.match(await failure.innerText(), /You can try again at \d{1,2}:\d{2}:\d{2}.* \(in \d+ s\)\./);
      await checkPage(visitor, 'sign-in-throttled');

      assert.equal((await server.api('PATCH', '/api/v1/users/vera-viewer', { json: { security: { enabled: false } } })).status, 200);
      await page.getByLabel('User name').fill('vera-viewer');
      await page.getByLabel('Password', { exact: true }).fill('viewer passphrase');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await failure.filter({ hasText: 'The user [vera-viewer] is disabled' }).waitFor();
      assertNoProblems(visitor);
    } finally {
      await visitor.close();
    }
  });

  test('signing out ends the session: the token no longer works and the pages ask to sign in', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/extensions`);
    await page.getByRole('heading', { name: 'Extensions', level: 1 }).waitFor();
    const stored = JSON.parse((await page.evaluate(() => sessionStorage.getItem('extrepo.credential')))!) as { token: string };
    assert.equal((await server.api('GET', '/api/v1/users/auth', { headers: { authorization: `Bearer ${stored.token}` } })).status, 200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in$/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('extrepo.credential')), null);
    assert.equal((await server.api('GET', '/api/v1/users/auth', { headers: { authorization: `Bearer ${stored.token}` } })).status, 401);
    await page.goto(`${server.url}/extensions/${bundleId}`);
    await page.waitForURL(/\/sign-in$/);
    assertNoProblems(admin);
  });
});
