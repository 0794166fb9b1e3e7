// Headless Chromium for the dashboard tests: Debian's chromium driven by playwright-core (no browser
// download), a fresh profile per launch, screenshots into test/artifacts/ (git-ignored).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// Functions passed to page.evaluate run in the browser; the root tsconfig has Node's types only.
declare const document: any;

export const ARTIFACTS_DIR = join(import.meta.dirname, '..', 'artifacts');
const UI_DIR = join(import.meta.dirname, '..', '..', 'ui');

/**
 * The tests load ui/dist, which `npm install`/`npm ci` build (the prepare script). Building here instead
 * would empty ui/dist under another test file that serves it at the same time; so a dist older than
 * its sources fails with what to run.
 */
export function assertUiBuildIsCurrent(): void {
  const newest = (path: string): number =>
    statSync(path).isDirectory() ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name)))) : statSync(path).mtimeMs;
  let built: number;
  try {
    built = statSync(join(UI_DIR, 'dist', 'index.html')).mtimeMs;
  } catch {
    assert.fail('ui/dist is missing: run `npm run build` (npm install does it).');
  }
  const sources = Math.max(newest(join(UI_DIR, 'src')), newest(join(UI_DIR, 'index.html')), newest(join(UI_DIR, 'vite.config.ts')));
  assert.ok(built >= sources, 'ui/dist is older than ui/src: run `npm run build`.');
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false, // --no-sandbox: CI runs as root
    // The machine has no outside network: keep Chromium from trying to reach Google's services.
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS_DIR, `ui-${name}.png`), fullPage: true });
}

/** Opens the dashboard and signs in with the keyboard: type the key, press Enter. */
export async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/ui/`);
  const input = page.getByLabel('API key');
  await input.fill(key);
  await input.press('Enter');
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Every visible form control has an accessible name (a label, aria-label or aria-labelledby). */
export async function assertLabelled(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el: any) => el.type !== 'hidden' && el.offsetParent !== null)
      .filter((el: any) => (el.labels?.length ?? 0) === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el: any) => el.outerHTML.slice(0, 120)),
  );
  assert.deepEqual(unlabelled, [], `controls without a label on ${page.url()}`);
}

/**
 * Collects the page's uncaught errors and console errors, to assert none happened. Chromium logs every
 * 4xx answer as "Failed to load resource"; the tests provoke those on purpose, so they are not counted.
 */
export function watchErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`console: ${msg.text()}`);
  });
  return problems;
}
