// The dashboard drives a release (issue 16), in headless Chromium against real `turnout`
// processes: a ticket created from the catalog's pickers, deployed, canaried with steps and a hold,
// and promoted, all by clicking through confirmations; a cancelled confirmation changes nothing; a
// refused action shows the API's field and reason. Against an API without an engine: stopped
// instances read grey, a failed ticket's banner is an error whose primary action is not promote.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
import { ROOT } from '../support/build.js';
import type { LocalRun } from '../support/local.js';
import { spawnLocal } from '../support/local.js';
import { waitFor } from '../support/release-stack.js';
import type { Browser } from './browser.js';
import { launchBrowser } from './browser.js';
import {
  cancel,
  colourOf,
  computed,
  confirm,
  ensureWebBuilt,
  isolated,
  signIn,
  ticketState,
  WEB_ROOT,
} from './drive-support.js';

const DESKTOP = { width: 1280, height: 800 };

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await request(url);
  return (await res.body.json()) as Record<string, unknown>;
}

interface TicketView {
  id: number;
  state: string;
  goal: string | null;
  product: string;
  items: { module: string; version: string }[];
}

const ticketsOf = async (api: string) =>
  (await getJson(`${api}/v1/tickets?limit=1000`)).items as TicketView[];
const ticketOf = async (api: string, id: number) =>
  (await getJson(`${api}/v1/tickets/${id}`)) as unknown as TicketView;
const eventsOf = async (api: string, id: number) =>
  ((await getJson(`${api}/v1/tickets/${id}/events?limit=1000`)).items as unknown[]).length;

async function errorNote(page: Page, within: string) {
  const note = page.locator(`${within} p.error[role="alert"]`);
  await note.waitFor();
  return {
    text: (await note.textContent()) ?? '',
    field: await note.getAttribute('data-field'),
    code: await note.getAttribute('data-code'),
  };
}

describe('the dashboard drives a release in Chromium against turnout demo', () => {
  let demo: LocalRun | null = null;
  let browser: Browser | null = null;
  let load: Load | null = null;
  const dirs: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    const data = mkdtempSync(join(tmpdir(), 'turnout-dash-drive-'));
    dirs.push(data);
    demo = await spawnLocal('demo', data, [], { cwd: tmpdir() });
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
  }, 60_000);

  it('creates a ticket from the pickers, then deploys, canaries and promotes it by clicking', async () => {
    const d = demo!;
    const outside = await isolated(browser!.context, d.api);
    const page = await browser!.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // Given the tickets page opened without a filter: all products, not the first by name (admin).
    await page.goto(`${d.api}/tickets`);
    const filter = page.locator('select[aria-label="product filter"]');
    await page.waitForSelector('select[aria-label="product filter"] option[value="shop"]', {
      state: 'attached',
    });
    expect(await filter.inputValue()).toBe('');

    // When "new ticket" is clicked and shop is picked, the pickers list shop's modules and the
    // catalog's versions of each.
    await page.click('[data-testid="new-ticket"] a');
    await page.waitForURL(/\/tickets\/new$/);
    await page.waitForSelector('select[aria-label="product"] option[value="shop"]', {
      state: 'attached',
    });
    await page.selectOption('select[aria-label="product"]', 'shop');
    const orders = page.locator('select[aria-label="version of orders"]');
    await orders.waitFor();
    const offered = await orders.locator('option').allTextContents();
    expect(offered).toEqual(
      expect.arrayContaining(['unchanged (stable 1.0.0)', '1.0.0 (stable)', '2.0.0', '2.1.0']),
    );
    for (const m of ['web', 'orders', 'account', 'catalog'])
      expect(await page.locator(`select[aria-label="version of ${m}"]`).count()).toBe(1);

    // When create is confirmed with no version picked, then the API's refusal names the field.
    const before = (await ticketsOf(d.api)).length;
    await page.click('[data-testid="create-ticket"]');
    await page.click('dialog.confirm [data-testid="confirm"]');
    const refused = await errorNote(page, 'form.new-ticket');
    expect(refused.field).toBe('items');
    expect(refused.text).toContain('items: a ticket has at least one item');
    expect(refused.code).toBe('invalid_argument');

    // When versions are picked but the confirmation is cancelled, then no ticket is created.
    await orders.selectOption('2.0.0');
    await page.selectOption('select[aria-label="version of account"]', '2.0.0');
    await cancel(page, '[data-testid="create-ticket"]');
    expect((await ticketsOf(d.api)).length).toBe(before);
    // The refusal was about the picks: changing them cleared it.
    expect(await page.locator('form.new-ticket p.error').count()).toBe(0);

    if (process.env.TURNOUT_SCREENSHOTS === '1') {
      // The form as docs/dashboard.md shows it (written only when asked for, as dashboard.e2e's).
      await page.screenshot({ path: join(ROOT, 'docs', 'screenshots', 'new-ticket.png') });
    }

    // When it is confirmed, then the new ticket's page opens, open, with the picked items.
    await page.click('[data-testid="create-ticket"]');
    const dialog = page.locator('dialog.confirm');
    expect(await dialog.textContent()).toContain('orders@2.0.0');
    await page.click('dialog.confirm [data-testid="confirm"]');
    await page.waitForURL(/\/tickets\/\d+$/);
    const id = Number(/\/tickets\/(\d+)$/.exec(page.url())![1]);
    await ticketState(page, 'open', 30_000);
    const created = await ticketOf(d.api, id);
    expect(created.product).toBe('shop');
    expect(created.items).toEqual([
      { module: 'account', version: '2.0.0' },
      { module: 'orders', version: '2.0.0' },
    ]);
    expect((await ticketsOf(d.api)).length).toBe(before + 1);

    // The tickets list shows it unfiltered; a filter goes into the URL and survives a reload.
    await page.goto(`${d.api}/tickets`);
    await page.waitForSelector(`tr[data-ticket="${id}"]`);
    await filter.selectOption('shop');
    await page.waitForURL(/\/tickets\?product=shop$/);
    await page.reload();
    await page.waitForSelector(`tr[data-ticket="${id}"]`);
    expect(await filter.inputValue()).toBe('shop');
    await filter.selectOption('admin');
    await page.waitForURL(/\/tickets\?product=admin$/);
    await page.waitForSelector(`tr[data-ticket="${id}"]`, { state: 'detached' });

    // When abort's confirmation is cancelled, then nothing is recorded.
    await page.goto(`${d.api}/tickets/${id}`);
    await ticketState(page, 'open', 30_000);
    const events = await eventsOf(d.api, id);
    await cancel(page, 'button[data-action="abort"]');
    expect(await ticketOf(d.api, id)).toMatchObject({ state: 'open', goal: null });
    expect(await eventsOf(d.api, id)).toBe(events);

    // When deploy (an open ticket's next step, so the primary action) is confirmed, then the
    // ticket reaches deployed.
    expect(await page.getAttribute('.actions button.primary', 'data-action')).toBe('deploy');
    await confirm(page, 'deploy');
    await ticketState(page, 'deployed', 120_000);

    // When a canary whose steps go down is confirmed, then the API's refusal names the step and
    // the ticket stays deployed.
    await page.fill('input[aria-label="canary steps"]', '50, 10');
    await page.fill('input[aria-label="canary pause seconds"]', '5');
    await confirm(page, 'canary');
    const bad = await errorNote(page, '.actions');
    expect(bad.field).toBe('steps[1]');
    expect(bad.text).toContain('steps[1]: canary steps increase: 10 follows 50');
    expect(await ticketOf(d.api, id)).toMatchObject({ state: 'deployed', goal: 'deployed' });

    // When a canary of 10 % then 50 %, each held 5 s, runs under load, then it finishes.
    load = startLoad({
      edge: d.edge,
      host: 'shop.localhost',
      product: 'shop',
      users: 200,
      concurrency: 3,
      maxMs: 180_000,
    });
    await page.fill('input[aria-label="canary steps"]', '10, 50');
    await confirm(page, 'canary');
    await page.waitForSelector('.actions p.error', { state: 'detached' });
    await ticketState(page, 'canary', 60_000);
    await page.waitForSelector('[data-testid="timeline"] li[data-type="canary.done"]', {
      timeout: 150_000,
    });
    const canary = (await ticketOf(d.api, id)) as TicketView & { plan: { canary: unknown } };
    expect(canary.plan.canary).toMatchObject({ steps: [10, 50], pauseMs: 5000 });

    // When promote (the primary action) is confirmed, then the ticket is promoted.
    expect(await page.getAttribute('button[data-action="promote"]', 'class')).toContain('primary');
    await confirm(page, 'promote');
    await ticketState(page, 'promoted', 60_000);
    await load.stop();
    load = null;
    expect(await ticketOf(d.api, id)).toMatchObject({ state: 'promoted' });

    // The traffic page opens on every product (the demo's background load reaches both), and
    // its filter, too, goes into the URL and survives a reload.
    await page.goto(`${d.api}/traffic`);
    await page.waitForSelector('article[data-product="shop"][data-module="orders"]', {
      timeout: 30_000,
    });
    await page.waitForSelector('article[data-product="admin"]', { timeout: 30_000 });
    await page.selectOption('select[aria-label="product filter"]', 'shop');
    await page.waitForURL(/\/traffic\?product=shop$/);
    await page.reload();
    await page.waitForSelector('article[data-module="orders"]', { timeout: 30_000 });
    expect(await page.inputValue('select[aria-label="product filter"]')).toBe('shop');
    expect(await page.locator('article[data-product="admin"]').count()).toBe(0);

    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 600_000);
});

describe('the dashboard shows what runs and what failed', () => {
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

  it('shows a stopped instance grey, never a green healthy', async () => {
    const a = api!;
    const created = await a.call('POST', '/v1/tickets', {
      as: 'releaser',
      body: { product: 'shop', items: [{ module: 'orders', version: '2.0.0' }] },
    });
    expect(created.status).toBe(201);
    // Given as healthy: the store records a stopped one's health as unknown, but a row stopped
    // before it did keeps its verdict; the page reads stopped, grey, either way.
    const base = { module: 'orders', version: '2.0.0', host: 'h1', health: 'healthy' as const };
    await a.store.createInstance(
      { ...base, id: 'orders-old', address: '127.0.0.1:9', state: 'stopped' },
      'test',
    );
    await a.store.createInstance(
      { ...base, id: 'orders-live', address: '127.0.0.1:10', state: 'ready' },
      'test',
    );
    const page = await browser!.newPage();
    await signIn(page, `${api!.url}/instances`, TOKENS.admin);
    await page.waitForSelector('tr[data-instance="orders-old"]');
    const muted = await computed(page, 'var(--muted)');
    const good = await computed(page, 'var(--good)');
    expect(muted).not.toBe(good);
    // The health column (the fourth) of each row.
    const stopped = 'tr[data-instance="orders-old"] td:nth-child(4) .badge';
    expect((await page.textContent(stopped))?.trim()).not.toContain('healthy');
    expect(await colourOf(page, stopped)).toBe(muted);
    expect(await colourOf(page, 'tr[data-instance="orders-live"] td:nth-child(4) .badge')).toBe(
      good,
    );

    // The ticket's items read the same way.
    await page.goto(`${a.url}/tickets/${created.body.id}`);
    const item = 'section.ticket .badge:has-text("orders-old")';
    await page.waitForSelector(item);
    expect(await page.textContent(item)).toBe('orders-old stopped');
    expect(await colourOf(page, item)).toBe(muted);
    expect(await colourOf(page, 'section.ticket .badge:has-text("orders-live")')).toBe(good);
  }, 120_000);

  it('shows a failed ticket’s banner as an error, its primary action a retry, not promote', async () => {
    const a = api!;
    const created = await a.call('POST', '/v1/tickets', {
      as: 'releaser',
      body: { product: 'shop', items: [{ module: 'web', version: '2.0.0' }] },
    });
    expect(created.status).toBe(201);
    // What the engine records when a deploy fails: the state and its message, the goal as it was.
    const message = 'deploy failed: web@2.0.0 has 0 of 1 ready';
    await a.store.updateTicket(
      created.body.id,
      { state: 'failed', goal: 'deployed', progress: { message } },
      'engine',
    );
    const page = await browser!.newPage();
    await signIn(page, `${api!.url}/tickets/${created.body.id}`, TOKENS.admin);
    await page.waitForSelector('section.ticket[data-state="failed"]');
    const banner = page.locator('[data-testid="progress-message"]');
    expect(await banner.getAttribute('role')).toBe('alert');
    expect(await banner.getAttribute('class')).toContain('failed');
    expect(await banner.textContent()).toContain(message);
    const danger = await computed(page, 'var(--danger)');
    expect(await colourOf(page, '[data-testid="progress-message"]')).toBe(danger);
    // Promote is still possible (the API accepts it), but it is not what the page leads with.
    expect(await page.locator('button[data-action="promote"]').count()).toBe(1);
    expect((await page.getAttribute('button[data-action="promote"]', 'class')) ?? '').not.toContain(
      'primary',
    );
    const primary = page.locator('.actions button.primary');
    expect(await primary.count()).toBe(1);
    expect(await primary.getAttribute('data-action')).toBe('deploy');
  }, 120_000);

  it('a viewer sees the new-ticket button disabled, saying why', async () => {
    const page = await browser!.newPage();
    await signIn(page, `${api!.url}/tickets`, TOKENS.viewer);
    const button = page.locator('[data-testid="new-ticket"]');
    await button.waitFor();
    expect(await button.isDisabled()).toBe(true);
    expect(await page.getAttribute('.toolbar .tip', 'title')).toContain('role viewer');
    // The form itself, opened by its address, refuses too.
    await page.goto(`${api!.url}/tickets/new?product=shop`);
    await page.waitForSelector('select[aria-label="version of orders"]');
    expect(await page.locator('[data-testid="create-ticket"]').isDisabled()).toBe(true);
  }, 120_000);
});
