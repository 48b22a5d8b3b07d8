// The instance registry against a real store (registry-sqlite.test.ts, registry-postgres.test.ts):
// the lease sweeper with an injected clock, the health checker probing real HTTP servers on
// 127.0.0.1 (healthy, turning unhealthy, never answering, nothing listening), and the heartbeat
// endpoint over real HTTP.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import { HealthChecker } from '../../src/control/health-checker.js';
import { waitForInstance } from '../../src/control/instance-wait.js';
import { LeaseSweeper } from '../../src/control/lease-sweeper.js';
import type { Instance } from '../../src/store/model.js';
import type { Store } from '../../src/store/store.js';
import type { StoreOpener } from '../api/harness.js';
import { TEST_AUTH, TOKENS } from '../api/harness.js';
import { deadAddress } from '../proxy/harness.js';
import { waitFor } from '../support/wait.js';

const ACTOR = 'tester';
type Mode = 'ok' | 'fail' | 'hang';

interface InstanceServer {
  address: string;
  mode: Mode;
  probes: string[];
  close(): Promise<void>;
}

/** A real instance: answers its health path 200 ('ok'), 503 ('fail'), or never ('hang'). */
async function instanceServer(mode: Mode): Promise<InstanceServer> {
  const held: ServerResponse[] = [];
  const self: InstanceServer = {
    address: '',
    mode,
    probes: [],
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    self.probes.push(req.url ?? '');
    if (self.mode === 'hang') {
      held.push(res);
      return;
    }
    res.writeHead(self.mode === 'ok' ? 200 : 503).end(self.mode);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return self;
}

async function catalog(store: Store): Promise<void> {
  await store.createOrg({ name: 'acme' }, ACTOR);
  await store.createModule(
    {
      name: 'orders',
      org: 'acme',
      run: { process: { command: 'node' } },
      // The interval is also the probe's timeout: 500 ms, so that a probe of a healthy server
      // in this (busy) process does not time out; tests count probes, not milliseconds.
      health: { path: '/healthz', intervalMs: 500, healthyThreshold: 1, unhealthyThreshold: 2 },
    },
    ACTOR,
  );
  await store.createVersion({ module: 'orders', version: '1.0.0' }, ACTOR);
}

const register = (store: Store, id: string, address: string, extra: Partial<Instance> = {}) =>
  store.createInstance(
    { id, module: 'orders', version: '1.0.0', host: 'h1', address, ...extra },
    ACTOR,
  );

async function auditOf(store: Store, id: string) {
  return (await store.listAudit({ target: `instance/${id}`, limit: 1000 })).items;
}

export function describeRegistry(label: string, open: StoreOpener): void {
  describe(`instance registry (${label})`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    const cleanups: (() => Promise<void>)[] = [];

    beforeEach(async () => {
      ({ store, dispose } = await open());
      await catalog(store);
    });
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
      await dispose();
    });

    describe('lease sweeper', () => {
      it('marks expired leases unhealthy as actor registry, once, and leaves the rest alone', async () => {
        let now = Date.parse('2026-01-01T00:00:00.000Z');
        const at = (ms: number) => new Date(now + ms).toISOString();
        await register(store, 'leased', '127.0.0.1:1', { leaseExpiresAt: at(1000) });
        await register(store, 'renewed', '127.0.0.1:2', { leaseExpiresAt: at(1000) });
        await register(store, 'no-lease', '127.0.0.1:3');
        await register(store, 'stopped', '127.0.0.1:4', {
          leaseExpiresAt: at(500),
          state: 'stopped',
        });
        const changed: string[] = [];
        const sweeper = new LeaseSweeper({
          store,
          now: () => now,
          onChange: (i) => changed.push(i.id),
        });
        expect(await sweeper.sweep()).toEqual([]);

        now += 999;
        expect(await sweeper.sweep()).toEqual([]);
        // Renewed after the sweeper listed it: no store change, yet the sweep must see the renewal.
        expect(await store.renewLeases(['renewed'], at(10_000))).toBe(1);
        now += 1;
        expect(await sweeper.sweep()).toEqual(['leased']);
        expect(changed).toEqual(['leased']);
        expect((await store.getInstance('leased'))?.health).toBe('unhealthy');
        expect((await store.getInstance('renewed'))?.health).toBe('unknown');
        expect((await store.getInstance('no-lease'))?.health).toBe('unknown');
        expect((await store.getInstance('stopped'))?.health).toBe('unknown');
        const audit = await auditOf(store, 'leased');
        expect(audit.at(-1)).toMatchObject({ actor: 'registry', action: 'instance.update' });

        const version = await store.changeVersion();
        expect(await sweeper.sweep()).toEqual([]);
        expect(await store.changeVersion()).toBe(version);

        // The renewed lease runs out later, with no store change in between.
        now += 9_998; // the renewal was to 10 s after it (1 ms before the last sweep)
        expect(await sweeper.sweep()).toEqual([]);
        now += 1;
        expect(await sweeper.sweep()).toEqual(['renewed']);
        expect((await auditOf(store, 'renewed')).at(-1)?.actor).toBe('registry');
      });

      it('does not undo a renewal that lands between its list and its write', async () => {
        let now = Date.parse('2026-01-01T00:00:00.000Z');
        await register(store, 'a', '127.0.0.1:1', {
          leaseExpiresAt: new Date(now + 10).toISOString(),
        });
        // A store whose instance list is stale: it shows the lease as expired, while the
        // instance itself has been renewed.
        await store.renewLeases(['a'], new Date(now + 60_000).toISOString());
        const stale = new Proxy(store, {
          get(target, prop, receiver) {
            if (prop === 'listInstances')
              return async () => ({
                items: [
                  {
                    ...(await target.getInstance('a')),
                    leaseExpiresAt: new Date(now + 10).toISOString(),
                  },
                ],
                nextCursor: null,
              });
            const v = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        });
        now += 100;
        const sweeper = new LeaseSweeper({ store: stale, now: () => now });
        expect(await sweeper.sweep()).toEqual([]);
        expect((await store.getInstance('a'))?.health).toBe('unknown');
      });

      it('sweeps on its own timer with short real leases', async () => {
        await register(store, 'short', '127.0.0.1:1', {
          leaseExpiresAt: new Date(Date.now() + 300).toISOString(),
        });
        const sweeper = new LeaseSweeper({ store, intervalMs: 50 });
        sweeper.start();
        cleanups.push(() => sweeper.stop());
        const r = await waitForInstance(
          store,
          'short',
          { timeoutMs: 10_000, pollMs: 20 },
          (i) => i?.health === 'unhealthy',
        );
        expect(r.ok).toBe(true);
      });
    });

    describe('health checker', () => {
      async function startChecker(extra: { concurrency?: number } = {}) {
        const changes: Instance[] = [];
        const checker = new HealthChecker({
          store,
          tickMs: 10,
          refreshMs: 20,
          onChange: (i) => changes.push(i),
          ...extra,
        });
        await checker.start();
        cleanups.push(() => checker.stop());
        return { checker, changes };
      }
      const until = (id: string, ok: (i: Instance | null) => boolean, timeoutMs = 15_000) =>
        waitForInstance(store, id, { timeoutMs, pollMs: 20 }, ok).then((r) => {
          if (!r.ok) throw new Error(`${id} stayed ${JSON.stringify(r.instance)}`);
          return r.instance;
        });

      it('makes a healthy instance ready, marks failing and silent ones unhealthy, writes only on change', async () => {
        const good = await instanceServer('ok');
        const flaky = await instanceServer('ok');
        const silent = await instanceServer('hang');
        cleanups.push(good.close, flaky.close, silent.close);
        const dead = await deadAddress();
        await register(store, 'good', good.address);
        await register(store, 'flaky', flaky.address);
        await register(store, 'silent', silent.address);
        await register(store, 'dead', dead);
        await startChecker();

        expect(await until('good', (i) => i?.state === 'ready')).toMatchObject({
          health: 'healthy',
        });
        expect(good.probes[0]).toBe('/healthz');
        await until('flaky', (i) => i?.state === 'ready' && i.health === 'healthy');
        // Never answering is a failure (the probe times out), and so is a refused connection.
        expect(await until('silent', (i) => i?.health === 'unhealthy')).toMatchObject({
          state: 'starting',
        });
        expect(await until('dead', (i) => i?.health === 'unhealthy')).toMatchObject({
          state: 'starting',
        });

        flaky.mode = 'fail';
        const turned = await until('flaky', (i) => i?.health === 'unhealthy');
        expect(turned?.state).toBe('ready');
        flaky.mode = 'ok';
        await until('flaky', (i) => i?.health === 'healthy');

        const audit = await auditOf(store, 'good');
        expect(
          audit.map((e) => e.actor),
          JSON.stringify(audit),
        ).toEqual([ACTOR, 'health']);
        expect(audit[1]?.after).toMatchObject({ state: 'ready', health: 'healthy' });
        // Several more intervals with nothing new: no more writes.
        const probesBefore = good.probes.length;
        const flakyProbes = flaky.probes.length;
        const versionBefore = await store.changeVersion();
        const flakyWrites = (await auditOf(store, 'flaky')).length;
        await waitFor('three more probes of good', () => good.probes.length > probesBefore + 2);
        await waitFor('three more probes of flaky', () => flaky.probes.length > flakyProbes + 2);
        expect((await auditOf(store, 'good')).length).toBe(2);
        expect((await auditOf(store, 'flaky')).length).toBe(flakyWrites);
        expect(await store.changeVersion()).toBe(versionBefore);
        expect((await auditOf(store, 'flaky')).map((e) => e.actor)).toEqual([
          ACTOR,
          'health',
          'health',
          'health',
        ]);
      });

      it('never moves a draining instance back to ready and stops probing a stopped one', async () => {
        const server = await instanceServer('ok');
        // A witness the checker keeps probing: its probes show the checker went on working.
        const witness = await instanceServer('ok');
        cleanups.push(server.close, witness.close);
        await register(store, 'd', server.address);
        await register(store, 'w', witness.address);
        await startChecker();
        await until('d', (i) => i?.state === 'ready');
        await store.updateInstance('d', { state: 'draining' }, 'engine');
        server.mode = 'fail';
        expect(await until('d', (i) => i?.health === 'unhealthy')).toMatchObject({
          state: 'draining',
        });
        server.mode = 'ok';
        expect(await until('d', (i) => i?.health === 'healthy')).toMatchObject({
          state: 'draining',
        });
        await store.updateInstance('d', { state: 'stopped' }, 'engine');
        // Each probe of the witness is one interval (500 ms) after the last; the checker re-reads
        // the instances every 20 ms, so after three it has seen the change (and a probe of d
        // launched before that has arrived).
        const moreProbes = async (n: number) => {
          const from = witness.probes.length;
          await waitFor(`${n} more probes of the witness`, () => witness.probes.length >= from + n);
        };
        await moreProbes(3);
        const probes = server.probes.length;
        await moreProbes(5);
        expect(server.probes.length).toBe(probes);
        expect((await store.getInstance('d'))?.state).toBe('stopped');
      });

      it('does not make an instance with an expired lease healthy until it heartbeats again', async () => {
        const server = await instanceServer('ok');
        cleanups.push(server.close);
        await register(store, 'l', server.address, {
          leaseExpiresAt: new Date(Date.now() - 1000).toISOString(),
        });
        await startChecker();
        // Probes that would each make it healthy (healthyThreshold 1) were it not for the lease.
        await waitFor('four probes', () => server.probes.length >= 4);
        expect(await store.getInstance('l')).toMatchObject({
          state: 'starting',
          health: 'unknown',
        });
        await store.renewLeases(['l'], new Date(Date.now() + 60_000).toISOString());
        await until('l', (i) => i?.state === 'ready' && i.health === 'healthy');
      });

      it('probes many instances with bounded concurrency', async () => {
        let inFlight = 0;
        let most = 0;
        // Every probe takes 50 ms; 20 instances share this server.
        const server = createServer((_req, res) => {
          inFlight++;
          most = Math.max(most, inFlight);
          setTimeout(() => {
            inFlight--;
            res.writeHead(200).end();
          }, 50);
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        cleanups.push(async () => {
          server.closeAllConnections();
          await new Promise<void>((r) => server.close(() => r()));
        });
        const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
        for (let n = 0; n < 20; n++) await register(store, `m-${n}`, address);
        await startChecker({ concurrency: 3 });
        for (let n = 0; n < 20; n++) await until(`m-${n}`, (i) => i?.state === 'ready', 20_000);
        expect(most).toBeLessThanOrEqual(3);
        expect(most).toBeGreaterThanOrEqual(2);
      });
    });

    describe('heartbeat endpoint', () => {
      it('renews leases, names unknown ids, needs releaser, and bounds its body', async () => {
        const app = await createApiServer({ store, auth: TEST_AUTH });
        await app.listen({ host: '127.0.0.1', port: 0 });
        cleanups.push(() => app.close());
        const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
        const beat = async (body: unknown, as: keyof typeof TOKENS = 'releaser') => {
          const res = await request(`${url}/v1/instances/heartbeat`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKENS[as]}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON
          return { status: res.statusCode, body: (await res.body.json()) as any };
        };
        const old = new Date(Date.now() + 1000).toISOString();
        await register(store, 'a', '127.0.0.1:1', { leaseExpiresAt: old });
        await register(store, 'b', '127.0.0.1:2');
        const version = await store.changeVersion();
        const before = Date.now();
        const r = await beat({ ids: ['a', 'b', 'ghost', 'a'], ttlMs: 30_000 });
        expect(r.status).toBe(200);
        expect(r.body.renewed).toBe(2);
        expect(r.body.unknown).toEqual(['ghost']);
        const until = Date.parse(r.body.leaseExpiresAt);
        expect(until).toBeGreaterThanOrEqual(before + 30_000);
        expect(until).toBeLessThanOrEqual(Date.now() + 30_000);
        expect((await store.getInstance('a'))?.leaseExpiresAt).toBe(r.body.leaseExpiresAt);
        expect((await store.getInstance('b'))?.leaseExpiresAt).toBe(r.body.leaseExpiresAt);
        // Heartbeats are not changes: no counter bump, no audit entry.
        expect(await store.changeVersion()).toBe(version);
        expect((await auditOf(store, 'a')).length).toBe(1);
        expect((await beat({ ids: ['a'], ttlMs: 5000 })).body).toMatchObject({
          renewed: 1,
          unknown: [],
        });

        const denied = await beat({ ids: ['a'], ttlMs: 5000 }, 'viewer');
        expect(denied.status).toBe(403);
        expect(denied.body.error.code).toBe('forbidden');
        for (const bad of [
          { ids: [], ttlMs: 5000 },
          { ids: ['a'], ttlMs: 3_600_001 },
          { ids: ['a'], ttlMs: 10 },
          { ids: Array.from({ length: 1001 }, (_, n) => `i-${n}`), ttlMs: 5000 },
          { ids: ['a'] },
          { ids: ['a'], ttlMs: 5000, extra: 1 },
        ]) {
          const r2 = await beat(bad);
          expect(r2.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
          expect(r2.body.error.code).toBe('invalid_argument');
        }
        expect((await store.getInstance('a'))?.leaseExpiresAt).not.toBe(old);
      });
    });
  });
}
