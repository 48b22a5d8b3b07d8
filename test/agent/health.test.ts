// The agent's local prober against a real HTTP server on 127.0.0.1: verdicts by the control
// plane's thresholds, and a callback per change, not per probe.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthVerdict } from '../../src/agent/assignment.js';
import { LocalHealth } from '../../src/agent/health.js';
import { waitFor } from '../support/wait.js';

describe('agent local health', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function service() {
    const state = { status: 200, hits: 0 };
    const server = http.createServer((req, res) => {
      if (req.url === '/healthz') state.hits++;
      res.writeHead(req.url === '/healthz' ? state.status : 404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    return { state, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  function prober() {
    const changes: [string, HealthVerdict][] = [];
    const health = new LocalHealth({ onChange: (id, v) => changes.push([id, v]) });
    closers.push(() => health.stop());
    return { health, changes };
  }

  it('turns healthy, then unhealthy after the threshold of failures, reporting each change once', async () => {
    const svc = await service();
    const { health, changes } = prober();
    const target = {
      id: 'orders-1',
      address: svc.address,
      health: { path: '/healthz', intervalMs: 100, unhealthyThreshold: 2 },
    };
    health.sync([target]);
    await waitFor('healthy', () => health.verdict('orders-1') === 'healthy');
    // Many more successful probes: still one change.
    const seen = svc.state.hits;
    await waitFor('three more probes', () => svc.state.hits >= seen + 3);
    expect(changes).toEqual([['orders-1', 'healthy']]);
    svc.state.status = 503;
    await waitFor('unhealthy', () => health.verdict('orders-1') === 'unhealthy');
    expect(changes).toEqual([
      ['orders-1', 'healthy'],
      ['orders-1', 'unhealthy'],
    ]);
    const failed = svc.state.hits;
    await waitFor('three more failed probes', () => svc.state.hits >= failed + 3);
    expect(changes).toHaveLength(2);
  });

  it('counts a refused connection as a failure and forgets targets no longer synced', async () => {
    const svc = await service();
    const { health, changes } = prober();
    const refused = {
      id: 'gone',
      address: '127.0.0.1:1',
      health: { path: '/healthz', intervalMs: 100, unhealthyThreshold: 1 },
    };
    const ok = { id: 'ok', address: svc.address, health: { path: '/healthz', intervalMs: 100 } };
    health.sync([refused, ok]);
    await waitFor('both verdicts', () => changes.length === 2);
    expect(new Map(changes)).toEqual(
      new Map<string, HealthVerdict>([
        ['gone', 'unhealthy'],
        ['ok', 'healthy'],
      ]),
    );
    health.sync([ok]);
    expect(health.verdict('gone')).toBe('unknown');
  });

  // Issue 13 follow-up: every start in `up` (a fleet of one) waited a whole health interval
  // (5 s by default), because the first probe comes before the process listens.
  it('an instance not ready at the first probe is probed again soon, not an interval later', async () => {
    const svc = await service();
    svc.state.status = 503; // still starting
    const { health, changes } = prober();
    const target = {
      id: 'orders-1',
      address: svc.address,
      health: { path: '/healthz', intervalMs: 3_600_000 },
    };
    health.sync([target]);
    await waitFor('the first probe', () => svc.state.hits >= 1);
    svc.state.status = 200; // now it answers
    await waitFor('healthy', () => health.verdict('orders-1') === 'healthy');
    expect(changes).toEqual([['orders-1', 'healthy']]);
  });

  it('the extra probes before a first answer do not count failures: unhealthy only by the regular ones', async () => {
    const svc = await service();
    svc.state.status = 503;
    const { health, changes } = prober();
    health.sync([
      {
        id: 'slow',
        address: svc.address,
        health: { path: '/healthz', intervalMs: 3_600_000, unhealthyThreshold: 2 },
      },
    ]);
    await waitFor('four extra probes', () => svc.state.hits >= 5);
    expect(health.verdict('slow')).toBe('unknown');
    expect(changes).toEqual([]);
  });
});
