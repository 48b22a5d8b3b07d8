import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt, ROOT } from '../support/build.js';
import type { LocalRun } from '../support/local.js';
import { spawnLocal } from '../support/local.js';
import { Hopeless, waitFor } from '../support/release-stack.js';
import type { Browser } from './browser.js';
import { isolated, launchBrowser } from './browser.js';

const SHOTS =
  process.env.TURNOUT_SCREENSHOTS === '1'
    ? join(ROOT, 'docs', 'screenshots')
    : join(tmpdir(), `turnout-screenshots-try-${process.pid}`);
/** Seconds of history the charts show before a picture is taken: most of the stats minute. */
const STEADY_SAMPLES = 45;

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  // uPlot draws on the next animation frame after its data: wait for two, not for a time.
  await page.evaluate(
    'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null))))',
  );
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field
async function json(url: string, method = 'GET', body?: unknown): Promise<any> {
  const res = await request(url, {
    method: method as 'GET' | 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`);
  return JSON.parse(text);
}

const numberIn = (text: string | null) => Number(/^(\d+)/.exec(text?.trim() ?? '')?.[1] ?? NaN);

describe('dashboard: try it, live analysis, explainer from a ticket, steady screenshots', () => {
  let demo: LocalRun | null = null;
  let browser: Browser | null = null;
  let data = '';

  beforeAll(async () => {
    await ensureWebBuilt();
    data = mkdtempSync(join(tmpdir(), 'turnout-dash-try-'));
    demo = await spawnLocal('demo', data, [], { cwd: tmpdir() });
    const d = demo;
    await waitFor('the demo to be ready', async () => d.out().includes('== Ready. Try:'), 150_000);
    browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (demo !== null && demo.child.exitCode === null) {
      demo.child.kill('SIGINT');
      const code = await Promise.race([
        demo.exit,
        new Promise((r) => setTimeout(() => r('timeout'), 30_000)),
      ]);
      if (code === 'timeout') demo.child.kill('SIGKILL');
    }
    rmSync(data, { recursive: true, force: true });
    if (process.env.TURNOUT_SCREENSHOTS !== '1') rmSync(SHOTS, { recursive: true, force: true });
  }, 60_000);

  it('tries a lane from the ticket and lane pages, explains what the ticket changes, shows live analysis', async () => {
    const d = demo!;
    const outside = await isolated(browser!.context, d.api);
    const page = await browser!.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const ticket = (id: number) => json(`${d.api}/v1/tickets/${id}`);

    // Given a ticket changing orders and account, in pre-release.
    const created = await json(`${d.api}/v1/tickets`, 'POST', {
      product: 'shop',
      items: [
        { module: 'orders', version: '2.0.0' },
        { module: 'account', version: '2.0.0' },
      ],
    });
    const id = created.id as number;
    await json(`${d.api}/v1/tickets/${id}/prerelease`, 'POST', {});
    await waitFor(
      'pre-release',
      async () => {
        const t = await ticket(id);
        if (t.state === 'failed') throw new Hopeless(`ticket failed: ${t.progress.message}`);
        return t.state === 'prerelease';
      },
      120_000,
    );

    // When a request is tried from the ticket page.
    await page.goto(`${d.api}/tickets/${id}`);
    await page.waitForSelector('[data-testid="try-it"]');
    await page.fill('input[aria-label="try path"]', '/checkout');
    await page.fill('textarea[aria-label="try headers"]', 'x-user-id: dashboard-tester');
    await page.click('button[data-action="try"]');
    // Then the answer shows orders and account from the lane, web and catalog from stable.
    const answer = page.locator('[data-testid="try-answer"]');
    await answer.waitFor();
    expect(await answer.getAttribute('data-status')).toBe('200');
    const served = async (m: string) =>
      (await page.textContent(`[data-testid="try-served"] tr[data-module="${m}"] td.mono`))?.trim();
    expect(await served('orders')).toBe('2.0.0');
    expect(await served('account')).toBe('2.0.0');
    expect(await served('web')).toBe('1.0.0');
    expect(await served('catalog')).toBe('1.0.0');

    // And from the lane page, the same lane.
    await page.click('a[href^="/try?"]');
    await page.waitForSelector('[data-testid="lane-page"] [data-testid="try-it"]');
    await page.click('button[data-action="try"]');
    await page.waitForSelector('[data-testid="try-served"] tr[data-module="orders"]');
    expect(await served('orders')).toBe('2.0.0');
    await shot(page, 'try');

    // When the explainer is opened from the ticket, it starts on a module the ticket changes.
    await page.goto(`${d.api}/tickets/${id}`);
    await page.click(`a[href="/explain?ticket=${id}"]`);
    await page.waitForSelector('[data-testid="explain-ticket"]');
    // (whichever of them the ticket lists first: neither is the entry, web)
    const changed = (await ticket(id)).items.map((i: { module: string }) => `/svc/${i.module}`);
    const name = await waitFor('the explainer to start on a changed module', async () => {
      const v = await page.inputValue('input[placeholder^="the entry"]');
      if (v !== '' && !changed.includes(v)) throw new Hopeless(`it started on ${v}`);
      return v === '' ? undefined : v;
    });
    await page.waitForSelector('[data-testid="lane-assignment"]');
    expect(await page.textContent('[data-testid="lane-assignment"] h2')).toContain(`Lane: t-${id}`);
    await page.waitForSelector(`.card h2:has-text("Delegation ${name}")`);
    await page.waitForSelector('.dnode');
    await shot(page, 'explain');

    // When a canary step runs that waits for approval (it never ends by itself).
    await json(`${d.api}/v1/tickets/${id}/canary`, 'POST', { steps: [50], pauseMs: null });
    await page.goto(`${d.api}/tickets/${id}`);
    await page.waitForSelector('table.verdicts[data-live="yes"]', { timeout: 60_000 });
    const shown = async () =>
      numberIn(
        await page.textContent(
          'table.verdicts tr[data-item="orders@2.0.0"] [data-testid="lane-figures"]',
        ),
      );
    const first = await waitFor('lane requests shown', async () => {
      const n = await shown();
      return Number.isFinite(n) ? { n } : undefined;
    });
    const step = (await ticket(id)).progress.stepStartedAt;
    // Then the figures move on while the step runs, past what the ticket recorded.
    await waitFor(
      'the live lane figures to grow past the recorded ones within the step',
      async () => {
        const t = await ticket(id);
        expect(t.progress.stepStartedAt).toBe(step); // still the same step
        const recorded =
          (t.progress.analysis ?? []).find((v: { module: string }) => v.module === 'orders')?.lane
            .requests ?? 0;
        const n = await shown();
        return n > first.n && n > recorded ? true : undefined;
      },
      90_000,
    );

    // The docs' pictures, once the charts hold most of a minute of the background load.
    await waitFor(
      `${STEADY_SAMPLES} s of traffic history`,
      async () => {
        const s = await json(`${d.api}/v1/traffic/series?product=shop&module=web&lane=stable`);
        const seen = s.points.filter(
          (p: { sampled: boolean; requests: number }) => p.sampled && p.requests > 0,
        ).length;
        return seen >= STEADY_SAMPLES ? true : undefined;
      },
      150_000,
    );
    await shot(page, 'ticket');
    const traffic = await browser!.newPage();
    await traffic.goto(`${d.api}/traffic?product=shop`);
    await traffic.waitForSelector('[data-module="orders"] .uplot');
    await traffic.waitForFunction(
      `document.querySelector('[data-module="orders"] .u-legend')?.textContent?.includes(${JSON.stringify(`2.0.0 t-${id}`)}) === true`,
    );
    await shot(traffic, 'traffic');
    await traffic.goto(`${d.api}/tickets?product=shop`);
    await traffic.waitForSelector(`tr[data-ticket="${id}"]`);
    await shot(traffic, 'tickets');
    await traffic.goto(`${d.api}/`);
    await traffic.waitForSelector('[data-product="shop"] svg [data-module="orders"]');
    await shot(traffic, 'products');
    await traffic.goto(`${d.api}/instances`);
    await traffic.waitForSelector('tr[data-instance="orders-2.0.0-0"]');
    await shot(traffic, 'instances');
    await traffic.goto(`${d.api}/audit`);
    await traffic.waitForSelector('table.audit tbody tr');
    await shot(traffic, 'audit');
    await traffic.close();

    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 480_000);
});
