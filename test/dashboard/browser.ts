import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureChromium } from '../../scripts/chromium.mjs';
import { ensureDashboardBuilt } from '../../scripts/dashboard-build.mjs';

/**
 * The dashboard's browser for a test file: Debian's chromium through playwright-core, pages that record every
 * console error and uncaught exception (a CSP violation is a console error), and screenshots under
 * test-output/screenshots/.
 */

export const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');
export const WAIT_MS = 15_000;

export interface DashboardPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions of this page, in order. */
  errors: string[];
}

export async function launchBrowser(): Promise<Browser> {
  ensureDashboardBuilt();
  const executablePath = ensureChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** A fresh context (own sessionStorage) and page; `clipboard` lets the page's copy buttons be read back. */
export async function openPage(browser: Browser, origin: string, options: { width?: number; height?: number; clipboard?: boolean } = {}): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1400, height: options.height ?? 900 } });
  if (options.clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, context, errors };
}

export async function login(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/dashboard/login`);
  await page.fill('input[name=token]', token);
  await page.click('[data-testid=login-form] button[type=submit]');
  await page.locator('[data-testid=apps-table]').waitFor();
}

export const testId = (page: Page, id: string, extra = '') => page.locator(`[data-testid="${id}"]${extra}`);

/** Confirms the open confirmation dialog (after checking what it asks). */
export async function confirm(page: Page, asks: RegExp): Promise<void> {
  const dialog = testId(page, 'confirm-dialog');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), asks);
  await testId(page, 'confirm-ok').click();
  await dialog.waitFor({ state: 'detached' });
}

/**
 * Asserts the page logged nothing but the browser's own notes about API answers the journey expected
 * (`expectedStatuses`, e.g. the 404 of an unknown message): no script error, no CSP violation.
 */
export function assertNoPageErrors(errors: string[], expectedStatuses: number[] = []): void {
  const expected = (e: string) => expectedStatuses.some((status) => e.includes(`Failed to load resource: the server responded with a status of ${status}`));
  assert.deepEqual(
    errors.filter((e) => !expected(e)),
    [],
    'no script errors or CSP violations',
  );
}

/** Fails naming the culprits when the page is wider than the screen (wide tables scroll inside their own frame). */
export async function assertFitsWidth(page: Page, name: string, width: number): Promise<void> {
  const measure = async () => (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as number[];
  let widths = await measure();
  if (widths[0]! <= widths[1]!) return;
  // Measured while the page was still laying out (a loaded CI machine once saw 421 px with nothing past the edge):
  // a layout that is really too wide is still too wide after it settles.
  await page.waitForTimeout(500);
  widths = await measure();
  if (widths[0]! <= widths[1]!) return;
  // Name the culprits: elements reaching past the right edge.
  const wide = await page.evaluate(
    "[...document.querySelectorAll('body *')].filter((e) => !e.closest('.table-scroll, .tabs') && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className)",
  );
  assert.fail(`${name} at ${width} px is ${widths[0]} px wide: ${JSON.stringify(wide)}`);
}

/** What a screenshot of a page is called: page, width, colour scheme (a name may start with a folder: portal/...). */
export async function shoot(page: Page, name: string, width: number, scheme: 'light' | 'dark'): Promise<void> {
  mkdirSync(dirname(join(SCREENSHOTS, name)), { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}-${scheme}.png`), fullPage: true });
}
