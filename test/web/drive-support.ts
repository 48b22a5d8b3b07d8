// What the dashboard's browser tests share: the built dashboard, a browser that fetches only
// the API's own address, signing in, and clicking through a confirmation. (The built dashboard and the
// isolation are shared with the other browser tests: test/support/build.ts, ./browser.ts.)

import type { Page } from 'playwright-core';
import { expect } from 'vitest';

export { ensureWebBuilt, WEB_ROOT } from '../support/build.js';
export { isolated } from './browser.js';

/** Opens `url` without a token (the API answers 401: the sign-in page) and signs in with `token`. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('input#token');
  await page.fill('input#token', token);
  await page.click('form button[type="submit"]');
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
