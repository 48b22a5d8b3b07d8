// The ticket page's per-host steps (issue 14), in headless Chromium against a real API server (its
// dashboard, SQLite, the download throttle with K = 1) and three real agents (HostAgent with the
// process runtime on 127.0.0.1-3) doing real artifact downloads from this test's HTTP server.
// What an operator sees: a host queued with its place in line while another downloads (made
// deterministic: the first download's body is held until the page has shown the queue), then
// every host in routing; a sha mismatch failed at the download step naming both hashes and the
// host; a process that prints lines and exits non-zero, with its step, exit code and last lines.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostAgent } from '../../src/agent/agent.js';
import { createServerLink } from '../../src/agent/server-link.js';
import { loopbackAgent } from '../agent/loopback-agent.js';
import { packDir, sha256Of } from '../agent/tarballs.js';
import type { Answer, Api } from '../api/harness.js';
import { startApi, TEST_AUTH, TOKENS } from '../api/harness.js';
import { ROOT } from '../support/build.js';
import { waitFor } from '../support/wait.js';
import type { Browser } from './browser.js';
import { launchBrowser } from './browser.js';
import { computed, ensureWebBuilt, isolated, signIn, WEB_ROOT } from './drive-support.js';

const HOSTS = ['h1', 'h2', 'h3'] as const;
const LONG = { timeoutMs: 90_000, everyMs: 50 };
const STEPS = ['check', 'download', 'unpack', 'start', 'health', 'routing'];
const WRONG = 'c'.repeat(64);

let dir: string;
let api: Api;
let browser: Browser;
let tgz: Buffer;
let sha: string;
let files: Server;
let filesUrl: string;
const agents: HostAgent[] = [];
/** The first request for /held.tgz: its headers and half its body are sent, the rest waits. */
const held: { res: ServerResponse | null; arrived: () => void; requests: number } = {
  res: null,
  arrived: () => {},
  requests: 0,
};
const heldArrived = new Promise<void>((r) => {
  held.arrived = r;
});

async function ok(p: Promise<Answer>): Promise<Answer> {
  const a = await p;
  if (a.status >= 300) throw new Error(`${a.status} ${JSON.stringify(a.body)}`);
  return a;
}

/** The test's file server: /app.tgz at once; the first /held.tgz held half-way until released. */
function serveFiles(req: { url?: string | undefined }, res: ServerResponse): void {
  res.setHeader('content-type', 'application/gzip');
  res.setHeader('content-length', tgz.length);
  if (req.url === '/held.tgz' && held.requests++ === 0) {
    held.res = res;
    res.write(tgz.subarray(0, tgz.length / 2));
    held.arrived();
    return;
  }
  res.end(tgz);
}

async function startAgent(i: number): Promise<void> {
  const name = HOSTS[i] as string;
  const link = createServerLink({ server: api.url, token: TOKENS.agent });
  const agent = await loopbackAgent(dir, name, `127.0.0.${i + 1}`, link);
  agents.push(agent);
  await agent.start();
}

/** A version of module app whose artifact is fetched from the test's file server. */
async function version(label: string, file: string, sha256: string, args: string[]) {
  const artifact = { url: `${filesUrl}/${file}`, sha256, size: null };
  await ok(
    api.call('POST', '/v1/modules/app/versions', {
      body: { version: label, artifact, run: { process: { args } } },
    }),
  );
  return artifact;
}

/** A ticket for app@label (nothing deploys it: the test assigns the hosts as the engine would). */
async function ticket(label: string): Promise<number> {
  const created = await ok(
    api.call('POST', '/v1/tickets', {
      as: 'releaser',
      body: { product: 'shop', items: [{ module: 'app', version: label }] },
    }),
  );
  return created.body.id as number;
}

async function assign(
  host: string,
  label: string,
  artifact: { url: string; sha256: string; size: null },
  args: string[],
): Promise<void> {
  await api.store.createAssignment(
    {
      id: `app-${label}-${host}`,
      host,
      module: 'app',
      version: label,
      run: { command: process.execPath, args, cwd: null, env: {} },
      health: { path: '/healthz', intervalMs: 200 },
      artifact,
    },
    'engine',
  );
}

async function openTicket(id: number): Promise<Page> {
  const page = await browser.newPage();
  await signIn(page, `${api.url}/tickets/${id}`, TOKENS.admin);
  await page.waitForSelector(`section.ticket[data-ticket="${id}"]`);
  return page;
}

interface Chip {
  name: string;
  classes: string;
  background: string;
  colour: string;
  left: number;
  right: number;
}

/** A host's row: its step, phase, text and step chips as drawn (one read: one rendering). */
interface Row {
  step: string | null;
  phase: string | null;
  text: string;
  chips: Chip[];
}

async function row(page: Page, host: string): Promise<Row | null> {
  return page.evaluate<Row | null>(`(() => {
    const tr = document.querySelector('[data-testid="host-steps"] tr[data-host="${host}"]');
    if (tr === null) return null;
    const chips = [...tr.querySelectorAll('.step')].map((e) => {
      const style = getComputedStyle(e);
      const box = e.getBoundingClientRect();
      return { name: e.textContent, classes: e.className, background: style.backgroundColor,
        colour: style.color, left: box.left, right: box.right };
    });
    return { step: tr.dataset.step, phase: tr.dataset.phase, text: tr.textContent, chips };
  })()`);
}

/** Waits for a host's row to answer `ok`; a timeout names the row last seen. */
function rowWhen(page: Page, host: string, what: string, ok: (r: Row) => boolean): Promise<Row> {
  return waitFor(
    `${host}'s row: ${what}`,
    async () => {
      const r = await row(page, host);
      if (r !== null && ok(r)) return r;
      throw new Error(`the row shows ${JSON.stringify(r)}`);
    },
    LONG,
  );
}

/** The chip of `name` (it must be drawn). */
function chip(all: Chip[], name: string): Chip {
  const c = all.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no ${name} chip in ${JSON.stringify(all)}`);
  return c;
}

/**
 * The steps read as steps: separate chips, the current one marked, those done apart from those to
 * come, the current one in `currentBackground` when given.
 */
function expectChips(r: Row, current: string, currentBackground?: string): void {
  const all = r.chips;
  expect(all.map((c) => c.name)).toEqual(STEPS);
  for (let i = 1; i < all.length; i++)
    expect(all[i]!.left, `a gap before ${all[i]!.name}`).toBeGreaterThan(all[i - 1]!.right);
  expect(all.filter((c) => c.classes.includes('current')).map((c) => c.name)).toEqual([current]);
  const now = chip(all, current);
  const later = all[STEPS.indexOf(current) + 1];
  const before = all[STEPS.indexOf(current) - 1];
  if (later !== undefined) expect(now.background, 'current vs to come').not.toBe(later.background);
  if (later !== undefined && before !== undefined)
    expect(before.colour, 'done vs to come').not.toBe(later.colour);
  if (currentBackground !== undefined) expect(now.background).toBe(currentBackground);
}

/** Makes the page's next read of the assignments fail (a network error), and waits for it. */
async function failOneRefresh(page: Page): Promise<void> {
  let failed = false;
  let done: () => void = () => {};
  const seen = new Promise<void>((r) => {
    done = r;
  });
  await page.route('**/v1/assignments?*', async (route) => {
    if (failed) return route.fallback();
    failed = true;
    await route.abort('connectionreset');
    done();
  });
  await seen;
}

/** Records, in the page, every step and phase each host's row shows, as it renders. */
async function recordSteps(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    window.seen = [];
    const note = () => {
      for (const tr of document.querySelectorAll('[data-testid="host-steps"] tr[data-host]')) {
        const s = tr.dataset.host + ' ' + tr.dataset.step + ' ' + tr.dataset.phase;
        const mine = window.seen.filter((x) => x.startsWith(tr.dataset.host + ' '));
        if (mine[mine.length - 1] !== s) window.seen.push(s);
      }
    };
    new MutationObserver(note).observe(document.body, {
      subtree: true, childList: true, attributes: true, characterData: true,
    });
    note();
  })()`);
}

beforeAll(async () => {
  await ensureWebBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-host-steps-'));
  // The service answers /healthz; crash.mjs prints a few lines and exits 3.
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(
    join(src, 'server.mjs'),
    [
      "import { createServer } from 'node:http';",
      "createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : 'app'))",
      '  .listen(Number(process.env.PORT), process.env.HOST);',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(src, 'crash.mjs'),
    [
      "console.log('crash: starting');",
      "console.log('crash: reading config');",
      "console.error('crash: config.yaml: no such file');",
      'process.exit(3);',
      '',
    ].join('\n'),
  );
  // Random bytes do not compress: the download has some length to it.
  writeFileSync(join(src, 'padding.bin'), randomBytes(1024 * 1024));
  tgz = await packDir(src);
  sha = sha256Of(tgz);

  files = createServer((req, res) => serveFiles(req, res));
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;

  api = await startApi({ auth: TEST_AUTH, webRoot: WEB_ROOT, downloads: { maxConcurrent: 1 } });
  await ok(api.call('POST', '/v1/orgs', { body: { name: 'acme' } }));
  await ok(
    api.call('POST', '/v1/modules', {
      body: {
        name: 'app',
        org: 'acme',
        run: { process: { command: process.execPath, args: ['server.mjs'] } },
        health: { path: '/healthz', intervalMs: 200 },
      },
    }),
  );
  await ok(
    api.call('POST', '/v1/products', {
      body: { name: 'shop', org: 'acme', entry: 'app', hosts: ['shop.example.com'] },
    }),
  );
  for (let i = 0; i < HOSTS.length; i++) await startAgent(i);
  browser = await launchBrowser({ viewport: { width: 1280, height: 900 } });
  await isolated(browser.context, api.url);
}, 180_000);

afterAll(async () => {
  held.res?.destroy();
  await browser?.close();
  for (const a of agents) await a.stop({ stopInstances: true }).catch(() => {});
  files?.closeAllConnections();
  await new Promise((r) => files?.close(r));
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("the ticket page shows each host's steps", () => {
  it('a host queued with its place in line while another downloads, then all in routing', async () => {
    const good = await version('1.0.0', 'held.tgz', sha, ['server.mjs']);
    const id = await ticket('1.0.0');
    // The operator has the page open before anything is assigned.
    const page = await openTicket(id);
    await recordSteps(page);
    for (const host of HOSTS) await assign(host, '1.0.0', good, ['server.mjs']);
    await heldArrived;

    // One host downloads (its body held half-way); the others wait their turn, with their place.
    const shown = await waitFor(
      'the page to show one host downloading and the two others queued',
      async () => {
        const rows = await Promise.all(HOSTS.map((h) => row(page, h)));
        const queued = rows.filter((r) => r?.text.includes('queued'));
        // The held half of the body has arrived at the downloading host (progress per 256 KiB).
        const bytes = rows.filter((r) => /\d+ KiB of 1\.0 MiB/.test(r?.text ?? ''));
        const all = rows.every((r) => r?.step === 'download');
        if (all && queued.length === 2 && bytes.length === 1) return rows;
        throw new Error(`the rows show ${JSON.stringify(rows.map((r) => r?.text ?? null))}`);
      },
      LONG,
    );
    const texts = shown.map((r) => r?.text ?? '');
    const downloading = texts.filter((t) => !t.includes('queued'));
    expect(downloading).toHaveLength(1);
    expect(texts.filter((t) => t.includes('queued (#1 in line)'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('queued (#2 in line)'))).toHaveLength(1);
    for (const r of shown) expectChips(r!, 'download');
    if (process.env.TURNOUT_SCREENSHOTS === '1')
      await page
        .locator('[data-testid="host-steps"]')
        .screenshot({ path: join(ROOT, 'docs', 'screenshots', 'host-steps.png') });

    // One refresh fails (the server restarting, say): the page must keep following the starts.
    await failOneRefresh(page);
    // Released, each host downloads in turn and reaches routing.
    held.res?.end(tgz.subarray(tgz.length / 2));
    await waitFor(
      'every host in routing on the page',
      async () => {
        const rows = await Promise.all(HOSTS.map((h) => row(page, h)));
        if (rows.every((r) => r?.step === 'routing' && r.phase === 'running')) return rows;
        throw new Error(`the rows show ${JSON.stringify(rows.map((r) => r?.text ?? null))}`);
      },
      LONG,
    );
    // Each host's row only ever moved forward, through the download step to routing.
    const seen = (await page.evaluate('window.seen')) as string[];
    for (const host of HOSTS) {
      const steps = seen.filter((s) => s.startsWith(`${host} `)).map((s) => s.split(' ')[1]);
      expect(steps, `${host}'s steps`).toContain('download');
      expect(steps.at(-1), `${host}'s steps`).toBe('routing');
      const order = steps.map((s) => STEPS.indexOf(s ?? ''));
      expect(order, `${host}'s steps: ${steps.join(' → ')}`).toEqual(
        [...order].sort((a, b) => a - b),
      );
    }
    await page.close();
  }, 240_000);

  it('a sha mismatch: the download step failed, with expected and actual hash and the host', async () => {
    const bad = await version('1.0.1', 'app.tgz', WRONG, ['server.mjs']);
    const page = await openTicket(await ticket('1.0.1'));
    await assign('h1', '1.0.1', bad, ['server.mjs']);
    const failed = await rowWhen(page, 'h1', 'failed', (r) => r.phase === 'failed');
    expect(failed.step).toBe('download');
    expect(failed.text).toContain('failed at download');
    expect(failed.text).toContain('on host h1');
    expect(failed.text).toContain(`expected ${WRONG}`);
    expect(failed.text).toContain(`got ${sha}`);
    expectChips(failed, 'download', await computed(page, 'var(--danger)'));
    await page.close();
  }, 120_000);

  it('a process that exits non-zero: its step, the exit code and its last log lines', async () => {
    const crash = await version('1.0.2', 'app.tgz', sha, ['crash.mjs']);
    const page = await openTicket(await ticket('1.0.2'));
    await assign('h2', '1.0.2', crash, ['crash.mjs']);
    const shown = await rowWhen(page, 'h2', 'the exit code', (r) => r.text.includes('exit 3'));
    expect(['start', 'health']).toContain(shown.step);
    expect(shown.text).toContain(`at ${shown.step} on h2, exit 3`);
    for (const line of ['crash: reading config', 'crash: config.yaml: no such file'])
      expect(shown.text).toContain(line);
    expectChips(shown, shown.step ?? '', await computed(page, 'var(--danger)'));
    await page.close();
  }, 120_000);
});
