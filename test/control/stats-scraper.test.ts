// The stats scraper against a real proxy (started in this process on ephemeral ports, from a
// snapshot file) forwarding real requests to real upstreams on 127.0.0.1: what the proxy counted
// shows up in the StatsWindow per (product, lane, module, version); a restarted proxy (same admin
// port, counters from zero) is handled as a reset; a proxy that is down is skipped and logged once.

import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotInput } from '../../src/config/snapshot.js';
import type { ControlLogger } from '../../src/control/logger.js';
import { StatsScraper } from '../../src/control/stats-scraper.js';
import { StatsWindow } from '../../src/release/stats-window.js';
import type { Upstream } from '../proxy/harness.js';
import { send, startTestProxy, startUpstream, tempDir, writeSnapshot } from '../proxy/harness.js';
import { waitFor } from '../support/wait.js';

type Proxy = Awaited<ReturnType<typeof startTestProxy>>;

let upstreams: Upstream[];
let proxies: Proxy[];
let scrapers: StatsScraper[];
let file: string;

function snapshot(ok: Upstream, failing: Upstream): SnapshotInput {
  return {
    version: 1,
    products: [
      {
        name: 'shop',
        hosts: ['shop.example.com'],
        entry: 'orders',
        dtab: '/svc/orders=>/v/orders/1.0.0',
        lanes: [{ name: 't-1', overlay: '/svc/orders=>/v/orders/1.1.0' }],
        rules: [],
      },
    ],
    modules: [
      {
        name: 'orders',
        versions: [
          { version: '1.0.0', endpoints: [{ address: ok.address }] },
          { version: '1.1.0', endpoints: [{ address: failing.address }] },
        ],
      },
    ],
  };
}

/** A logger that keeps the events it was given. */
function events(): { logger: ControlLogger; seen: { level: string; event: unknown }[] } {
  const seen: { level: string; event: unknown }[] = [];
  const at =
    (level: string) =>
    (obj: unknown): void => {
      seen.push({ level, event: (obj as { event?: unknown }).event });
    };
  const logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
  return { logger: logger as unknown as ControlLogger, seen };
}

beforeEach(async () => {
  const ok = await startUpstream('orders@1.0.0');
  const failing = await startUpstream('orders@1.1.0', (_req, res) => {
    res.writeHead(500).end('broken');
    return true;
  });
  upstreams = [ok, failing];
  file = writeSnapshot(tempDir(), snapshot(ok, failing));
  proxies = [await startTestProxy(file)];
  scrapers = [];
});

afterEach(async () => {
  for (const s of scrapers) await s.stop();
  for (const p of proxies) await p.stop(1_000);
  await Promise.all(upstreams.map((u) => u.close()));
});

async function traffic(proxy: Proxy, n: number, lane?: string): Promise<void> {
  const baggage =
    lane === undefined ? 'turnout-product=shop' : `turnout-product=shop,turnout-lane=${lane}`;
  for (let i = 0; i < n; i++) {
    const r = await send(proxy.outbound!.port, {
      path: 'http://orders/',
      headers: { baggage },
    });
    expect(r.status).toBe(lane === undefined ? 200 : 500);
  }
}

const admin = (p: Proxy) => `http://127.0.0.1:${p.admin!.port}`;
const STABLE = { product: 'shop', lane: 'stable', module: 'orders', version: '1.0.0' };
const LANE = { product: 'shop', lane: 't-1', module: 'orders', version: '1.1.0' };

describe('StatsScraper', () => {
  it('feeds what a real proxy counted into the window, per key, with errors and latency', async () => {
    const window = new StatsWindow();
    const proxy = proxies[0]!;
    // The proxy loads prom-client on its first scrape (it is not loaded at start): give that
    // first answer more than the interval's default 100 ms, or it is missed and the second
    // scrape becomes the baseline.
    const scraper = new StatsScraper({
      window,
      targets: () => [admin(proxy)],
      intervalMs: 100,
      timeoutMs: 5000,
    });
    scrapers.push(scraper);
    await traffic(proxy, 3); // before the first scrape: history, not counted
    await scraper.scrape();
    await traffic(proxy, 20);
    await traffic(proxy, 5, 't-1');
    await scraper.scrape();

    const now = Date.now();
    const stable = window.summary(STABLE, 60_000, now);
    expect(stable).toMatchObject({ requests: 20, errors: 0, errorRate: 0 });
    expect(stable.p50Ms).not.toBeNull();
    expect(stable.p50Ms!).toBeGreaterThan(0);
    expect(stable.p99Ms!).toBeGreaterThanOrEqual(stable.p50Ms!);
    expect(stable.p99Ms!).toBeLessThan(10_000);
    expect(window.summary(LANE, 60_000, now)).toMatchObject({
      requests: 5,
      errors: 5,
      errorRate: 1,
    });
    expect(window.summary({ product: 'shop' }, 60_000, now).requests).toBe(25);
    expect(window.keys()).toEqual(expect.arrayContaining([STABLE, LANE]));
    expect(window.keys()).toHaveLength(2);

    // On its own timer too.
    scraper.start();
    await traffic(proxy, 7);
    await waitFor(
      'the timer to scrape',
      () => window.summary(STABLE, 60_000, Date.now()).requests >= 27,
      { everyMs: 50 },
    );
    expect(window.summary(STABLE, 60_000, Date.now()).requests).toBe(27);
  });

  it('counts a restarted proxy from zero, and skips a proxy that is down, logging it once', async () => {
    const window = new StatsWindow();
    const first = proxies[0]!;
    const adminPort = first.admin!.port;
    const base = admin(first);
    const log = events();
    const scraper = new StatsScraper({ window, targets: () => [base], logger: log.logger });
    scrapers.push(scraper);
    await traffic(first, 2);
    await scraper.scrape();
    await traffic(first, 40);
    await scraper.scrape();
    expect(window.summary(STABLE, 60_000, Date.now()).requests).toBe(40);

    await first.stop(1_000);
    proxies = [];
    for (let i = 0; i < 3; i++) await scraper.scrape();
    const unreachable = log.seen.filter((e) => e.event === 'proxy_stats_unreachable');
    expect(unreachable).toHaveLength(1);
    expect(unreachable[0]?.level).toBe('warn');
    expect(window.summary(STABLE, 60_000, Date.now()).requests).toBe(40);

    // The same admin address, a new process: its counters start again below the old ones.
    const second = await startTestProxy(file, { admin: { host: '127.0.0.1', port: adminPort } });
    proxies.push(second);
    await traffic(second, 6);
    await scraper.scrape();
    expect(log.seen.some((e) => e.event === 'proxy_stats_back')).toBe(true);
    expect(window.summary(STABLE, 60_000, Date.now()).requests).toBe(46);
  });

  it('treats a target that answers something other than /stats as down', async () => {
    const window = new StatsWindow();
    const junk = createServer((socket) =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno'),
    );
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
    const log = events();
    const scraper = new StatsScraper({
      window,
      targets: () => [`http://127.0.0.1:${(junk.address() as AddressInfo).port}`],
      logger: log.logger,
    });
    scrapers.push(scraper);
    await scraper.scrape();
    await scraper.scrape();
    junk.close();
    expect(log.seen.filter((e) => e.event === 'proxy_stats_unreachable')).toHaveLength(1);
    expect(window.keys()).toEqual([]);
  });
});
