// FleetRuntime and the release engine over a real SQLite store, with the hosts' agents played by
// the test through the store's protocol calls (fleet-agents.ts): replicas spread across hosts and
// zones, a host lost mid-canary (the canary keeps its state and step; replacements go to the
// other hosts; the host that comes back stops what is no longer its own, nothing runs twice), a
// drain (the replacement takes traffic before the old instance drains), and the runtime's own
// answers (no ready host, a failed start, logs).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseSweeper } from '../../src/control/lease-sweeper.js';
import { runCommand } from '../../src/release/commands.js';
import { ReleaseEngine } from '../../src/release/engine.js';
import { FleetRuntime, reportIn } from '../../src/release/fleet-runtime.js';
import { takesTraffic } from '../../src/store/endpoint.js';
import type { Instance } from '../../src/store/model.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../support/wait.js';
import { PlayedAgents } from './fleet-agents.js';

const ACTOR = 'rey';
const ITEMS = [{ module: 'orders', version: '2.0.0' }];
const SPEC = {
  module: 'orders',
  version: '2.0.0',
  run: { command: 'node', args: [], cwd: null, env: {} },
};

async function catalog(store: Store, placement: { labels: Record<string, string> } | null = null) {
  await store.createOrg({ name: 'acme' }, ACTOR);
  await store.createModule(
    { name: 'orders', org: 'acme', run: { process: { command: 'node' } }, placement },
    ACTOR,
  );
  for (const version of ['1.0.0', '2.0.0'])
    await store.createVersion({ module: 'orders', version }, ACTOR);
  await store.createProduct(
    { name: 'shop', org: 'acme', entry: 'orders', baseDtab: '/svc/orders => /v/orders/1.0.0;' },
    ACTOR,
  );
}

const live = (store: Store) =>
  store
    .listInstances({ limit: 1000 })
    .then((p) => p.items.filter((i) => i.state === 'starting' || i.state === 'ready'));

describe('fleet runtime and engine, agents played over the store', () => {
  let dir = '';
  let store: Store;
  let agents: PlayedAgents;
  let fleet: FleetRuntime;
  let engine: ReleaseEngine;
  let sweeper: LeaseSweeper;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-fleet-'));
    store = await openSqliteStore(join(dir, 'turnout.db'));
    agents = new PlayedAgents(store, [
      { name: 'a1', zone: 'a', address: '10.0.0.1' },
      { name: 'b1', zone: 'b', address: '10.0.0.2' },
      { name: 'c1', zone: 'c', address: '10.0.0.3' },
      { name: 'c2', zone: 'c', address: '10.0.0.4' },
    ]);
    fleet = new FleetRuntime({ store, pollMs: 10, startTimeoutMs: 20_000 });
    engine = new ReleaseEngine({
      store,
      runtime: fleet,
      traffic: null,
      leaseTtlMs: 60_000,
      hostLostGraceMs: 0,
      drainMs: 0,
    });
    sweeper = new LeaseSweeper({ store });
  });

  afterEach(async () => {
    await agents.stop();
    await engine.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Ticks the engine until `check` answers a value. */
  const tickUntil = <T>(what: string, check: () => Promise<T | false | null | undefined>) =>
    waitFor(what, async () => {
      await engine.kick();
      return check();
    });

  async function deployed(replicas: number): Promise<number> {
    await catalog(store);
    await agents.register();
    agents.start();
    const t = await store.createTicket(
      { product: 'shop', items: ITEMS, plan: { replicas, surge: replicas } },
      ACTOR,
    );
    await store.transaction((tx) =>
      runCommand(tx, t.id, { command: 'canary', canary: { steps: [10, 50] } }, ACTOR),
    );
    await tickUntil('the canary at its first step', async () => {
      const now = await store.getTicket(t.id);
      return now?.state === 'canary' && now;
    });
    return t.id;
  }

  it('a deploy of 3 replicas spreads them over 3 hosts in 3 zones, each with its host lease', async () => {
    await deployed(3);
    const instances = await live(store);
    expect(instances).toHaveLength(3);
    const hosts = instances.map((i) => i.host).sort();
    expect(new Set(hosts).size).toBe(3);
    const zones = hosts.map((h) => agents.hosts.find((x) => x.name === h)?.zone).sort();
    expect(zones).toEqual(['a', 'b', 'c']);
    for (const i of instances) {
      const host = await store.getHost(i.host);
      expect(i.address.startsWith(`${host?.address}:`)).toBe(true);
      expect(i.leaseExpiresAt).not.toBeNull();
      expect((await store.getAssignment(i.id))?.host).toBe(i.host);
    }
  });

  it('an agent that reports healthy once, before the engine recorded the instance: the instance is ready', async () => {
    agents.reportOnce = true;
    await deployed(2);
    const instances = await live(store);
    expect(instances).toHaveLength(2);
    for (const i of instances) expect(i).toMatchObject({ state: 'ready', health: 'healthy' });
  });

  it('a host lost mid-canary: the canary keeps its state and step, replacements go elsewhere; back, it stops what is no longer its own', async () => {
    const id = await deployed(3);
    const before = await live(store);
    const lost = before.find((i) => i.host.startsWith('c')) as Instance;
    const stepBefore = (await store.getTicket(id))?.progress;

    // The host's agent goes quiet; its leases run out (set in the past rather than waited for).
    agents.silent.add(lost.host);
    const past = new Date(Date.now() - 1000).toISOString();
    await store.renewHostLease(lost.host, past, `agent:${lost.host}`);
    await store.renewLeases([lost.id], past);
    await sweeper.sweep();
    expect((await store.getHost(lost.host))?.state).toBe('down');

    const states = new Set<string>();
    const replacement = await tickUntil('a replacement taking traffic', async () => {
      const t = await store.getTicket(id);
      states.add(String(t?.state));
      const r = await store.getInstance(`${lost.id}.r1`);
      return r !== null && takesTraffic(r, Date.now()) && r;
    });
    const t = await store.getTicket(id);
    expect([...states]).toEqual(['canary']);
    expect(t?.progress).toEqual(stepBefore);
    expect(replacement.host).not.toBe(lost.host);
    // The zone that lost its replica gets it back where it can: c2 is zone c's other host.
    expect(replacement.host).toBe(lost.host === 'c1' ? 'c2' : 'c1');
    expect((await store.getInstance(lost.id))?.state).toBe('stopped');
    expect((await store.getAssignment(lost.id))?.desired).toBe('stop');
    const types = (await store.listTicketEvents(id, { limit: 1000 })).items.map((e) => e.type);
    expect(types.filter((x) => x === 'deploy.level' || x === 'deployed')).toEqual([
      'deploy.level',
      'deployed',
    ]);

    // The host comes back: its agent stops the assignment it no longer has; the engine deletes it.
    agents.silent.delete(lost.host);
    await tickUntil('the stop assignment deleted', async () =>
      (await store.getAssignment(lost.id)) === null ? true : null,
    );
    expect((await store.getHost(lost.host))?.state).toBe('ready');
    const running = await store.listAssignments({ desired: 'run' });
    const now = await live(store);
    expect(running.map((a) => a.id).sort()).toEqual(now.map((i) => i.id).sort());
    expect(now).toHaveLength(3);
    expect(now.map((i) => i.id)).not.toContain(lost.id);
  });

  it('a new leader takes over the fleet: what the agents run is recognised on every host, nothing restarted', async () => {
    await deployed(3);
    const before = await live(store);
    await engine.stop();
    const auditBefore = (await store.listAudit({ limit: 1000 })).items.length;
    engine = new ReleaseEngine({
      store,
      runtime: new FleetRuntime({ store, pollMs: 10 }),
      traffic: null,
      leaseTtlMs: 60_000,
      hostLostGraceMs: 0,
    });
    await engine.kick();
    await engine.kick();
    expect(engine.isLeader).toBe(true);
    expect(await live(store)).toEqual(before);
    const writes = (await store.listAudit({ limit: 1000 })).items.slice(auditBefore);
    expect(writes.filter((e) => !e.action.startsWith('lease'))).toEqual([]);
  });

  it('a drain starts a replacement elsewhere, which takes traffic before the old instance drains, then stops it', async () => {
    await deployed(3);
    const old = (await live(store)).find((i) => i.host === 'b1') as Instance;
    await store.setHostState('b1', 'draining', ACTOR);
    const stopped = await tickUntil('the drained instance stopped', async () => {
      const i = await store.getInstance(old.id);
      return i?.state === 'stopped' && i;
    });
    expect(stopped.state).toBe('stopped');
    const replacement = await store.getInstance(`${old.id}.r1`);
    expect(replacement?.host).not.toBe('b1');
    expect(replacement && takesTraffic(replacement, Date.now())).toBe(true);
    // The audit log's order: the replacement was ready before the old instance left routing.
    const audit = (await store.listAudit({ limit: 1000 })).items;
    const readyAt = audit.findIndex(
      (e) =>
        e.target === `instance/${old.id}.r1` && (e.after as { state?: string })?.state === 'ready',
    );
    const drainAt = audit.findIndex(
      (e) =>
        e.target === `instance/${old.id}` && (e.after as { state?: string })?.state === 'draining',
    );
    expect(readyAt).toBeGreaterThanOrEqual(0);
    expect(drainAt).toBeGreaterThan(readyAt);
    expect(await store.getAssignment(old.id)).toBeNull();
    expect((await live(store)).map((i) => i.host)).not.toContain('b1');
  });
});

describe('fleet runtime answers', () => {
  let dir = '';
  let store: Store;
  let agents: PlayedAgents;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-fleet-rt-'));
    store = await openSqliteStore(join(dir, 'turnout.db'));
    agents = new PlayedAgents(store, [
      { name: 'a1', zone: 'a', address: '10.0.0.1' },
      { name: 'b1', zone: 'b', address: '10.0.0.2' },
    ]);
  });
  afterEach(async () => {
    await agents.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no ready host: the error says why, and nothing is assigned', async () => {
    await catalog(store, { labels: { gpu: 'yes' } });
    await agents.register();
    const fleet = new FleetRuntime({ store, pollMs: 10 });
    await expect(fleet.start({ id: 'orders-2.0.0-0', ...SPEC })).rejects.toThrow(
      'no ready host can take orders@2.0.0: no ready host has the labels gpu=yes; 1 of 1 replica cannot be placed',
    );
    await store.setHostState('a1', 'cordoned', ACTOR);
    await store.setHostState('b1', 'draining', ACTOR);
    await store.updateModule(
      { name: 'orders', org: 'acme', run: { process: { command: 'node' } } },
      ACTOR,
    );
    await expect(fleet.start({ id: 'orders-2.0.0-0', ...SPEC })).rejects.toThrow(
      'no ready host can take orders@2.0.0: no host is ready (hosts are cordoned, draining)',
    );
    expect(await store.listAssignments()).toEqual([]);
  });

  it('a host whose lease ran out is not placed on, although the sweeper has not said down yet', async () => {
    await catalog(store);
    await agents.register();
    await store.renewHostLease('a1', new Date(Date.now() - 1).toISOString(), 'agent:a1');
    agents.silent.add('a1');
    agents.start();
    const fleet = new FleetRuntime({ store, pollMs: 10 });
    for (const n of [0, 1])
      expect((await fleet.start({ id: `orders-2.0.0-${n}`, ...SPEC })).host).toBe('b1');
  });

  it('starts on a labelled host, answers it running with its host; a failed start throws what the agent saw', async () => {
    await catalog(store, { labels: { zone: 'b' } });
    await agents.register();
    agents.failing.set('orders-2.0.0-1', 'spawn node ENOENT');
    agents.start();
    const fleet = new FleetRuntime({ store, pollMs: 10 });
    const started = await fleet.start({ id: 'orders-2.0.0-0', ...SPEC });
    expect(started).toMatchObject({ id: 'orders-2.0.0-0', host: 'b1', pid: 4242 });
    expect(started.address).toMatch(/^10\.0\.0\.2:\d+$/);
    expect(fleet.list().map((r) => r.id)).toEqual(['orders-2.0.0-0']);
    expect(await fleet.start({ id: 'orders-2.0.0-0', ...SPEC })).toEqual(started); // idempotent
    await expect(fleet.start({ id: 'orders-2.0.0-1', ...SPEC })).rejects.toThrow(
      /orders-2\.0\.0-1 failed on host b1: spawn node ENOENT; log tail:\nboot\nfatal: spawn node ENOENT/,
    );
    // The lines alone (`--json` and --follow read them); where they come from, apart.
    expect(await fleet.logs('orders-2.0.0-1')).toBe('boot\nfatal: spawn node ENOENT');
    expect(await fleet.logs('orders-2.0.0-1', { tailLines: 1 })).toBe('fatal: spawn node ENOENT');
    expect(await fleet.logOrigin('orders-2.0.0-1')).toMatch(
      /^the last lines host b1's agent reported for orders-2\.0\.0-1, at \d{4}-.+Z$/,
    );
    await fleet.stop('orders-2.0.0-0');
    expect(await store.getAssignment('orders-2.0.0-0')).toBeNull();
    expect(fleet.list()).toEqual([]);
  });

  it('after a stop deletes the assignment, its logs are what the agent reported last (kept by the audit log)', async () => {
    await catalog(store);
    await agents.register();
    agents.failing.set('orders-2.0.0-1', 'spawn node ENOENT');
    agents.start();
    const fleet = new FleetRuntime({ store, pollMs: 10 });
    await expect(fleet.start({ id: 'orders-2.0.0-1', ...SPEC })).rejects.toThrow(/failed on host/);
    await fleet.stop('orders-2.0.0-1');
    expect(await store.getAssignment('orders-2.0.0-1')).toBeNull();
    expect(await fleet.logs('orders-2.0.0-1')).toBe('boot\nfatal: spawn node ENOENT');
    expect(await fleet.logOrigin('orders-2.0.0-1')).toMatch(
      /^the last lines host \w+'s agent reported for orders-2\.0\.0-1, at .+; it has stopped$/,
    );
    // Never placed anywhere: not_found, naming it.
    await expect(fleet.logs('orders-9.9.9-0')).rejects.toMatchObject({
      code: 'not_found',
      message: 'no host runs orders-9.9.9-0, and no agent reported logs for it',
    });
  });

  it('the stop assignment of a host that stays down is forgotten after forgetStopsAfterMs, not before', async () => {
    await catalog(store);
    await agents.register();
    agents.start();
    let clock = Date.now();
    const fleet = new FleetRuntime({
      store,
      pollMs: 10,
      now: () => clock,
      forgetStopsAfterMs: 60_000,
    });
    const started = await fleet.start({ id: 'orders-2.0.0-0', ...SPEC });
    const host = String(started.host);
    agents.silent.add(host);
    const past = new Date(clock - 1000).toISOString();
    await store.renewHostLease(host, past, `agent:${host}`);
    await new LeaseSweeper({ store }).sweep();
    const down = await store.getHost(host);
    expect(down?.state).toBe('down');
    await fleet.release(started.id);
    const wentDown = Date.parse(down?.updatedAt ?? '');
    clock = wentDown + 59_999;
    expect(await fleet.sweepStopped()).toEqual([]);
    expect((await store.getAssignment(started.id))?.desired).toBe('stop');
    clock = wentDown + 60_000;
    expect(await fleet.sweepStopped()).toEqual([started.id]);
    expect(await store.getAssignment(started.id)).toBeNull();
  });

  it('start waits on the injected clock: no report within the timeout is an error naming the host', async () => {
    await catalog(store);
    await agents.register(); // agents never play again: nobody reports
    let clock = Date.now();
    const fleet = new FleetRuntime({
      store,
      startTimeoutMs: 5_000,
      now: () => clock,
      sleep: async () => {
        clock += 1_000;
      },
    });
    await expect(fleet.start({ id: 'orders-2.0.0-0', ...SPEC })).rejects.toThrow(
      /host a1 did not report orders-2\.0\.0-0 running within 5000 ms \(phase pending\)/,
    );
  });
});

describe('reportIn: the report in an audited assignment', () => {
  const status = { logTail: ['a', 'b'], reportedAt: '2026-12-07T10:00:00.000Z' };
  it.each([
    ['an assignment', { host: 'h1', status }, { host: 'h1', status, stopped: true }],
    [
      'one never reported',
      { host: 'h1', status: { logTail: [], reportedAt: null } },
      { host: 'h1', status: { logTail: [], reportedAt: null }, stopped: true },
    ],
    ['null (a create has no before)', null, null],
    ['no host', { status }, null],
    ['no status', { host: 'h1' }, null],
    ['a tail that is not lines', { host: 'h1', status: { ...status, logTail: [1] } }, null],
    ['a reportedAt that is not a time', { host: 'h1', status: { ...status, reportedAt: 5 } }, null],
  ])('%s', (_, before, expected) => {
    expect(reportIn(before)).toEqual(expected);
  });
});
