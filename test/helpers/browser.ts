// Debian's Chromium, headless, driven by playwright-core: a page that records every console error,
// uncaught exception and failed request, and an axe-core check of the page as it stands. Chromium
// comes from apt (.ci/run installs it); playwright-core never downloads a browser of its own.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, selectors, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.EXTREPO_TEST_CHROMIUM ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps trying to reach Google's hosts, which this
// machine's closed network refuses (TOOLING.md §6). The console bench launches with the same flags.
export const CHROMIUM_LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// EUI's components take data-test-subj (as Kibana's tests use), so getByTestId looks for it.
selectors.setTestIdAttribute('data-test-subj');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_LAUNCH_ARGS });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, page errors and failed requests seen so far, each as one line. */
  problems: string[];
  /** Answers that are expected to fail (a wrong password's 401, say) and are not problems. */
  expectFailure(pattern: RegExp): void;
  close(): Promise<void>;
}

export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
  // Waits end on what the page shows, never on time; the limit only bounds a step that is stuck.
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const problems: string[] = [];
  const expected: RegExp[] = [];
  const isExpected = (line: string) => expected.some((pattern) => pattern.test(line));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const line = `console error: ${message.text()}`;
    // Chromium logs every 4xx/5xx answer as a console error too; those are judged as responses.
    if (/Failed to load resource: the server responded with a status of/.test(message.text())) return;
    problems.push(line);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    const errorText = request.failure()?.errorText ?? '';
    // net::ERR_ABORTED is the page cancelling a request itself (a read it no longer needs when the
    // user moves on: the console aborts a page's fetches when it leaves it), never the server or the
    // network failing it (those are ERR_CONNECTION_*, ERR_EMPTY_RESPONSE, …). A cancelled write is
    // still a problem unless a test expects it.
    if (request.method() === 'GET' && errorText === 'net::ERR_ABORTED') return;
    const line = `request failed: ${request.method()} ${request.url()} ${errorText}`;
    if (!isExpected(line)) problems.push(line);
  });
  page.on('response', (response) => {
    if (response.status() < 400) return;
    const line = `answer ${response.status()}: ${response.request().method()} ${response.url()}`;
    if (!isExpected(line)) problems.push(line);
  });
  return {
    page,
    context,
    problems,
    expectFailure: (pattern) => expected.push(pattern),
    close: () => context.close(),
  };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** The serious and critical accessibility violations axe-core finds on the page as it is now. */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  // axe measures colour contrast on the styles of the moment: a modal or a button caught mid-way through
  // EUI's fade-in has half its opacity, and a fill button then "fails" contrast (seen on a quiet CI
  // machine, where the check ran sooner after the click). Finite animations and transitions finish first;
  // endless ones (loading spinners) are left running, and none is waited on for more than 2 s.
  await page.evaluate(async () => {
    const finite = document.getAnimations().filter((animation) => animation.effect?.getComputedTiming().iterations !== Infinity);
    const settled = Promise.all(finite.map((animation) => animation.finished.catch(() => undefined)));
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 2000))]);
  });
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (an injected
  // <script> would be refused by it, as it should be).
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}
