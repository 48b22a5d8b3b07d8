// In a fleet the control plane never probes into hosts: the health checker's filter (what
// control-plane.ts passes, notOnAgentHosts) leaves instances on a host an agent registered to that
// agent. Real SQLite store, real HTTP servers on 127.0.0.1 standing in for two instances; the one
// "on" the agent's host counts the probes it gets: none.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthChecker, notOnAgentHosts } from '../../src/control/health-checker.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

async function server(): Promise<{ server: Server; address: string; probes: string[] }> {
  const probes: string[] = [];
  const s = createServer((req, res) => {
    probes.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { server: s, address: `127.0.0.1:${(s.address() as AddressInfo).port}`, probes };
}

describe('health checker filter in a fleet', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('probes the control plane’s own instances, not those on a host an agent registered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnout-fleet-health-'));
    const store: Store = await openSqliteStore(join(dir, 'turnout.db'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => store.close());
    const [local, agent] = [await server(), await server()];
    for (const s of [local, agent])
      cleanups.push(() => new Promise((r) => s.server.close(() => r(null))));
    await store.createOrg({ name: 'acme' }, 'rey');
    await store.createModule(
      { name: 'orders', org: 'acme', run: { process: { command: 'node' } } },
      'rey',
    );
    await store.createVersion({ module: 'orders', version: '1.0.0' }, 'rey');
    await store.registerHost({ name: 'a1', address: '127.0.0.1' }, 'agent:a1');
    const common = { module: 'orders', version: '1.0.0' };
    await store.createInstance(
      { ...common, id: 'here', host: 'local', address: local.address },
      'rey',
    );
    await store.createInstance(
      { ...common, id: 'there', host: 'a1', address: agent.address },
      'rey',
    );

    const checker = new HealthChecker({ store, filter: notOnAgentHosts, random: () => 0 });
    cleanups.push(() => checker.stop());
    await checker.checkNow();

    expect(local.probes).toEqual(['/healthz']);
    expect(agent.probes).toEqual([]);
    expect(await store.getInstance('here')).toMatchObject({ health: 'healthy', state: 'ready' });
    expect(await store.getInstance('there')).toMatchObject({
      health: 'unknown',
      state: 'starting',
    });
    expect(checker.counters('there')).toBeNull();
  });
});
