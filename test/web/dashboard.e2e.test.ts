import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { Load } from '../../src/demo/load.js';
import { startLoad } from '../../src/demo/load.js';
import type { Api } from '../api/harness.js';
import { startApi, TEST_AUTH, TOKENS } from '../api/harness.js';
import { ensureWebBuilt, ROOT, WEB_ROOT } from '../support/build.js';
import type { LocalRun } from '../support/local.js';
import { spawnLocal } from '../support/local.js';
import { waitFor } from '../support/release-stack.js';
import type { Browser } from './browser.js';
import { isolated, launchBrowser } from './browser.js';
import { confirm, signIn, ticketState } from './drive-support.js';

// The README's screenshots are refreshed only when asked (`npm run docs:screenshots`), so an
// ordinary test run leaves the work tree as it found it; otherwise they go to a temp dir.
const SHOTS =
  process.env.TURNOUT_SCREENSHOTS === '1'
    ? join(ROOT, 'docs', 'screenshots')
    : join(tmpdir(), `turnout-screenshots-${process.pid}`);
const DESKTOP = { width: 1280, height: 800 };

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  // uPlot draws on the next animation frame after its data: wait for two, not for a time.
  await page.evaluate(
    'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null))))',
  );
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

type Demo = LocalRun;

/** The demo on free ports, run from a folder that is not the repo. */
const startDemo = (data: string): Promise<Demo> => spawnLocal('demo', data, [], { cwd: tmpdir() });

async function postJson(url: string, body: unknown, token?: string) {
  const res = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe('dashboard in Chromium against turnout demo', () => {
  let demo: Demo | null = null;
  let browser: Browser | null = null;
  let load: Load | null = null;
  const dirs: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    const data = mkdtempSync(join(tmpdir(), 'turnout-dash-'));
    dirs.push(data);
    demo = await startDemo(data);
    const d = demo;
    await waitFor('the demo to be ready', async () => d.out().includes('== Ready. Try:'), 150_000);
    browser = await launchBrowser({ viewport: DESKTOP });
  }, 300_000);

  afterAll(async () => {
    await load?.stop();
    await browser?.close();
    if (demo !== null && demo.child.exitCode === null) {
      demo.child.kill('SIGINT');
      const code = await Promise.race([
        demo.exit,
        new Promise((r) => setTimeout(() => r('timeout'), 30_000)),
      ]);
      if (code === 'timeout') demo.child.kill('SIGKILL');
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (process.env.TURNOUT_SCREENSHOTS !== '1') rmSync(SHOTS, { recursive: true, force: true });
  }, 60_000);

  it('shows products, then drives a ticket through pre-release, canary, promote and revert', async () => {
    const d = demo!;
    const context = browser!.context;
    const outside = await isolated(context, d.api);
    const page = await browser!.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // Given the products page: shop's graph with the version each module serves in stable.
    await page.goto(`${d.api}/`);
    await page.waitForSelector('[data-product="shop"] svg [data-module="orders"]');
    const shop = page.locator('[data-product="shop"]');
    for (const m of ['web', 'orders', 'account', 'catalog'])
      expect(await shop.locator(`[data-module="${m}"]`).textContent()).toContain('stable 1.0.0');
    expect(await shop.locator('[data-module="account"]').textContent()).toContain(
      'shared with admin',
    );
    expect(await page.textContent('[data-testid="whoami"]')).toContain('admin');
    await shot(page, 'products');

    // When a ticket is created through the API and pre-released by clicking.
    const created = await postJson(`${d.api}/v1/tickets`, {
      product: 'shop',
      items: [
        { module: 'orders', version: '2.0.0' },
        { module: 'account', version: '2.0.0' },
      ],
    });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    await page.goto(`${d.api}/tickets/${id}`);
    await ticketState(page, 'open', 30_000);
    expect(await page.textContent('[data-testid="prerelease-header"]')).toBe(
      `x-prerelease: ${created.body.prereleaseSecret}`,
    );
    expect(created.body.prereleaseSecret).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    await confirm(page, 'prerelease');
    // Then the live timeline reaches pre-release (no reload: the event stream drives it).
    await page.waitForSelector('[data-testid="timeline"] li[data-type="prerelease"]', {
      timeout: 90_000,
    });
    await ticketState(page, 'prerelease', 30_000);
    expect(await page.textContent('[data-testid="timeline"]')).toContain('deploying level 0');

    // When a canary of 10 % then 50 % with a short hold runs under a load on the edge.
    load = startLoad({
      edge: d.edge,
      host: 'shop.localhost',
      product: 'shop',
      users: 200,
      concurrency: 3,
      maxMs: 150_000,
    });
    await page.fill('input[aria-label="canary steps"]', '10, 50');
    await page.fill('input[aria-label="canary pause seconds"]', '8');
    await confirm(page, 'canary');
    await page.waitForSelector('[data-testid="timeline"] li[data-type="canary.step"]', {
      timeout: 30_000,
    });

    // Then the traffic page's charts move: the lane's series appears and its share grows.
    const traffic = await context.newPage();
    await traffic.goto(`${d.api}/traffic?product=shop`);
    await traffic.waitForSelector('[data-module="orders"] .uplot', { timeout: 30_000 });
    const laneSeries = `2.0.0 t-${id}`;
    await traffic.waitForFunction(
      `document.querySelector('[data-module="orders"] .u-legend')?.textContent?.includes(${JSON.stringify(laneSeries)}) === true`,
      undefined,
      { timeout: 30_000 },
    );
    const share = async () =>
      Number(
        /([\d.]+) %/.exec((await traffic.textContent('[data-testid="share-orders"]')) ?? '')?.[1] ??
          0,
      );
    const first = await share();
    await waitFor('the lane share to grow', async () => (await share()) > first, 40_000);
    await shot(traffic, 'traffic');

    // And the ticket page shows the canary finishing with analysis figures.
    await page.waitForSelector('[data-testid="timeline"] li[data-type="canary.done"]', {
      timeout: 90_000,
    });
    expect(await page.textContent('[data-testid="canary-share"]')).toMatch(/\d+\.\d %/);
    expect(await page.textContent('table.verdicts')).toContain('pass');
    await shot(page, 'ticket');

    // When promote is clicked, then the ticket is promoted.
    await confirm(page, 'promote');
    await ticketState(page, 'promoted', 60_000);
    await page.waitForSelector('[data-testid="timeline"] li[data-type="promoted"]');
    await load.stop();
    load = null;

    // When revert is clicked, then the page moves to the new revert ticket, promoted.
    await confirm(page, 'revert');
    await page.waitForURL(new RegExp(`/tickets/(?!${id}$)\\d+$`), { timeout: 30_000 });
    await ticketState(page, 'promoted', 60_000);
    expect(await page.textContent('section.ticket')).toContain(`reverts ticket ${id}`);

    // The other pages, as they look after the story.
    await page.goto(`${d.api}/tickets?product=shop`);
    await page.waitForSelector(`tr[data-ticket="${id}"]`);
    await shot(page, 'tickets');

    await page.goto(`${d.api}/instances`);
    await page.waitForSelector('tr[data-instance="orders-2.0.0-0"]');
    await page.click('tr[data-instance="orders-2.0.0-0"] button');
    await page.waitForFunction(
      `!document.querySelector('[data-testid="logs"] pre')?.textContent?.includes('Loading')`,
    );
    await shot(page, 'instances');

    await page.goto(`${d.api}/explain`);
    await page.fill('textarea', 'x-user-id: u1\nx-prerelease: not-a-ticket-secret');
    await page.click('form.explain-form button[type="submit"]');
    await page.waitForSelector('[data-testid="lane-assignment"]');
    await page.waitForSelector('.dnode');
    await shot(page, 'explain');

    await page.goto(`${d.api}/audit?target=ticket/${id}`);
    await page.waitForSelector('table.audit tbody tr');
    await shot(page, 'audit');

    // The products page at phone width, and in dark mode (prefers-color-scheme).
    const p = await browser!.newPage();
    await p.setViewportSize({ width: 390, height: 844 });
    await p.goto(`${d.api}/`);
    await p.waitForSelector('[data-product="shop"] svg');
    expect(await p.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      390,
    );
    await shot(p, 'products-phone');
    await p.close();
    const q = await browser!.newPage();
    await q.emulateMedia({ colorScheme: 'dark' });
    await q.goto(`${d.api}/`);
    await q.waitForSelector('[data-product="shop"] svg');
    expect(await q.evaluate<string>('document.documentElement.dataset.theme')).toBe('dark');
    await shot(q, 'products-dark');
    await q.close();

    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 420_000);
});

describe('dashboard for a viewer token', () => {
  let api: Api | null = null;
  let browser: Browser | null = null;

  beforeAll(async () => {
    await ensureWebBuilt();
    api = await startApi({ auth: TEST_AUTH, webRoot: WEB_ROOT });
    const text = readFileSync(join(ROOT, 'examples', 'shop.yaml'), 'utf8');
    const documents = parseAllDocuments(text).map((doc) => doc.toJSON() as unknown);
    expect((await api.call('POST', '/v1/apply', { as: 'admin', body: { documents } })).status).toBe(
      200,
    );
    browser = await launchBrowser({ viewport: DESKTOP });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it('signs in with a viewer token and sees the release buttons disabled, saying why', async () => {
    const a = api!;
    const created = await a.call('POST', '/v1/tickets', {
      as: 'releaser',
      body: { product: 'shop', items: [{ module: 'orders', version: '2.0.0' }] },
    });
    expect(created.status).toBe(201);
    const outside = await isolated(browser!.context, a.url);
    const page = await browser!.newPage();
    await page.goto(`${a.url}/tickets/${created.body.id}`);
    // Without a token the API answers 401: the sign-in page.
    await page.waitForSelector('input#token');
    await shot(page, 'sign-in');
    await page.fill('input#token', TOKENS.viewer);
    await page.click('form button[type="submit"]');
    await page.waitForSelector('section.ticket[data-state="open"]');
    expect(await page.textContent('[data-testid="whoami"]')).toContain('vic');
    expect(await page.textContent('[data-testid="whoami"]')).toContain('viewer');
    const buttons = page.locator('.actions button[data-action]');
    expect(await buttons.count()).toBeGreaterThan(0);
    for (const b of await buttons.all()) expect(await b.isDisabled()).toBe(true);
    const tip = await page.locator('.actions .tip').first().getAttribute('title');
    expect(tip).toContain('role viewer');
    expect(tip).toContain('releaser');
    // The token stays in the tab (sessionStorage), never in a URL.
    expect(page.url()).not.toContain(TOKENS.viewer);
    expect(outside).toEqual([]);
  }, 120_000);

  it('shows a rolling ticket’s batch, n of m, with old and new ready per module', async () => {
    const a = api!;
    const created = await a.call('POST', '/v1/tickets', {
      as: 'releaser',
      body: {
        product: 'shop',
        items: [{ module: 'orders', version: '2.0.0' }],
        plan: { strategy: 'rolling', replicas: 3, maxUnavailable: 1 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // Where the engine would be at batch 2 of 3 (this API runs no engine).
    await a.store.updateTicket(
      created.body.id,
      {
        state: 'canary',
        goal: 'canary',
        progress: {
          batch: 2,
          batches: 3,
          rollout: [{ module: 'orders', version: '2.0.0', from: '1.0.0', old: 1, new: 2 }],
          message: 'rolling batch 2 of 3 at 66.66 %: waiting for approval',
        },
      },
      'test',
    );
    const page = await browser!.newPage();
    await signIn(page, `${a.url}/tickets/${created.body.id}`, TOKENS.viewer);
    await page.waitForSelector('[data-testid="rolling-batch"]');
    expect(await page.textContent('[data-testid="rolling-batch"]')).toBe(
      'batch 2 of 3 · maxUnavailable 1',
    );
    const row = page.locator('[data-testid="rolling"] tr[data-module="orders"]');
    expect(await row.textContent()).toBe('orders1.0.0: 12.0.0: 2');
    expect(await page.locator('[data-testid="rolling"] .step.done').count()).toBe(1);
    expect(await page.locator('[data-testid="canary-share"]').count()).toBe(0);
    await shot(page, 'ticket-rolling');
  }, 120_000);

  it('a page whose load found the control plane unreachable loads again by itself', async () => {
    const a = api!;
    const page = await browser!.newPage();
    await signIn(page, `${a.url}/`, TOKENS.viewer);
    const graph = page.locator('[data-product="shop"] svg');
    await graph.waitFor();
    await page.click('header nav a[href="/tickets"]');
    await graph.waitFor({ state: 'detached' });
    // Given the products list cannot be fetched (as when the machine's network interfaces change
    // under the browser: the fetch fails with no answer at all)…
    let down = true;
    let failed = 0;
    let served = 0;
    await page.route(
      (url) => url.pathname === '/v1/products',
      (route) => {
        if (down) {
          failed++;
          return route.abort('internetdisconnected');
        }
        served++;
        return route.continue();
      },
    );
    await page.evaluate('window.sameDocument = true');
    // …when the products page is opened, it says the control plane is unreachable…
    await page.click('header nav a[href="/"]');
    const alert = page.locator('[role="alert"][data-code="unreachable"]');
    await alert.waitFor();
    // …and once the network is back, it loads by itself: no live event, no click, no reload.
    down = false;
    await graph.waitFor({ timeout: 60_000 });
    await alert.waitFor({ state: 'detached' });
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(served).toBeGreaterThanOrEqual(1);
    expect(await page.evaluate('window.sameDocument')).toBe(true);
  }, 120_000);

  it('a failed ticket reads as failed, not as moving on to the goal it failed to reach', async () => {
    const a = api!;
    const created = await a.call('POST', '/v1/tickets', {
      as: 'releaser',
      body: { product: 'shop', items: [{ module: 'orders', version: '2.0.0' }] },
    });
    expect(created.status).toBe(201);
    // What the engine records when a deploy fails: the state, with the goal left as it was.
    await a.store.updateTicket(created.body.id, { state: 'failed', goal: 'deployed' }, 'engine');
    const page = await browser!.newPage();
    await signIn(page, `${a.url}/tickets/${created.body.id}`, TOKENS.viewer);
    await page.waitForSelector('section.ticket[data-state="failed"]');
    expect((await page.textContent('section.ticket .badge'))?.trim()).toBe('failed');
    await page.goto(`${a.url}/tickets?product=shop`);
    const row = page.locator(`[data-ticket="${created.body.id}"] .badge`);
    await row.waitFor();
    expect((await row.textContent())?.trim()).toBe('failed');
  }, 120_000);
});
