// What the dashboard-drive browser tests share: the built dashboard, a browser that fetches only
// the API's own address, and clicking through a confirmation. (dashboard.e2e.test.ts has its own
// copies; kept apart so the two files merge without touching each other.)

import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { ensureBuilt, ROOT } from '../support/build.js';

export const WEB_ROOT = join(ROOT, 'dist', 'web');

function newest(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n = Math.max(n, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return n;
}

/** ensureBuilt() looks at src/ only: build again when web/ is newer than dist/web. */
export async function ensureWebBuilt(): Promise<void> {
  await ensureBuilt();
  let built = 0;
  try {
    built = statSync(join(WEB_ROOT, 'index.html')).mtimeMs;
  } catch {
    // not built
  }
  if (built > newest(join(ROOT, 'web'))) return;
  await new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', 'build'], { cwd: ROOT, timeout: 180_000 }, (error, _o, stderr) =>
      error === null ? resolve() : reject(new Error(`npm run build failed: ${stderr}`)),
    );
  });
}

/** Only the API's own address: nothing else is fetched (no fonts, no CDN). */
export async function isolated(context: BrowserContext, base: string): Promise<string[]> {
  const outside: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith('data:')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  return outside;
}

/** Opens the confirmation of a ticket action and confirms it (the dialog says the action). */
export async function confirm(page: Page, action: string): Promise<void> {
  await page.click(`button[data-action="${action}"]`);
  const dialog = page.locator('dialog.confirm');
  await dialog.waitFor({ state: 'visible' });
  expect(await dialog.textContent()).toContain(action);
  await page.click('dialog.confirm [data-testid="confirm"]');
  await dialog.waitFor({ state: 'detached' });
}

/** Opens a confirmation and cancels it. */
export async function cancel(page: Page, button: string): Promise<void> {
  await page.click(button);
  const dialog = page.locator('dialog.confirm');
  await dialog.waitFor({ state: 'visible' });
  await page.click('dialog.confirm button:has-text("Cancel")');
  await dialog.waitFor({ state: 'detached' });
}

export async function ticketState(page: Page, state: string, timeout: number): Promise<void> {
  await page.waitForSelector(`section.ticket[data-state="${state}"]`, { timeout });
}

/** The computed text colour of the first element matching `selector`. */
export async function colourOf(page: Page, selector: string): Promise<string> {
  // Runs in the page (the tests' tsconfig has no DOM types: the window is typed here by hand).
  type Window = { getComputedStyle(e: unknown): { color: string } };
  return page
    .locator(selector)
    .first()
    .evaluate((e) => (globalThis as unknown as Window).getComputedStyle(e).color);
}

/** What a CSS colour (e.g. `var(--muted)`) computes to on this page. */
export async function computed(page: Page, colour: string): Promise<string> {
  return page.evaluate<string>(`(() => {
    const probe = document.createElement('span');
    probe.style.color = ${JSON.stringify(colour)};
    document.body.append(probe);
    const out = getComputedStyle(probe).color;
    probe.remove();
    return out;
  })()`);
}
