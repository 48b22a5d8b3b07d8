// The fleet on real hosts (issue 13, "Tested on real hosts"): a real `turnout server` (SQLite, TLS)
// in the root namespace and three hosts as network namespaces, each running a real `turnout agent`
// with its proxy and instances. Three modules (web → orders → account, calling each other through
// their host proxy's outbound) are released under a steady load through host h1's edge:
// deploy, prerelease, canary, promote, revert — no request fails and every version's replicas are
// spread across hosts. Then the server is killed with -9 in the middle of a canary: every host's
// proxy keeps routing from its last snapshot, and the restarted server takes the canary to its end.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Load, Served } from '../../src/demo/load.js';
import { startLoad } from '../../src/demo/load.js';
import { ensureBuilt } from '../support/build.js';
import { netnsGate } from '../support/netns.js';
import type { Fleet, Instance } from './fleet-stack.js';
import { MODULES, startFleet, waitFor } from './fleet-stack.js';

const gate = netnsGate('the fleet release test on network namespaces');
const REPLICAS = 2;
/**
 * The canary splits users by x-user-id. The load comes from the root namespace (the bridge
 * address), not from a trusted hop of the host proxies, so the key is trusted from any client, as
 * a deployment whose edge faces users directly would say.
 */
const KEY = { header: 'x-user-id', trust: 'any-client' };
const failures = (rs: readonly Served[]) => rs.filter((r) => r.status !== 200);
const since = (load: Load, t: number) => load.results.filter((r) => r.at >= t);

/** The live instances of module@version. */
function of(all: readonly Instance[], module: string, version: string) {
  return all.filter(
    (i) => i.module === module && i.version === version && ['ready', 'starting'].includes(i.state),
  );
}

/**
 * Every module of the request answered from `version`. A switch reaches each host's proxy by its
 * own stream, so for a moment a request can see the edge's new version and a callee's old one
 * (h1 new, h2 not yet): settling looks at the whole chain, not the edge alone.
 */
const allOn = (r: Served, version: string) =>
  Object.values(r.versions).length === MODULES.length &&
  Object.values(r.versions).every((v) => v === version);

/**
 * Waits until more than 30 requests since `from` came after the last one that failed `ok`, and
 * answers the time of that last one: traffic switched and stays switched.
 */
const settled = (load: Load, from: number, ok: (r: Served) => boolean, what: string) =>
  waitFor(what, () => {
    const rs = since(load, from);
    const last = rs.filter((r) => !ok(r)).reduce((m, r) => Math.max(m, r.at), from);
    return rs.filter((r) => r.at > last).length > 30 ? last : null;
  });

describe.skipIf(gate.skip)('a release across three hosts (network namespaces)', () => {
  let fleet: Fleet;
  let load: Load;
  let started = 0;

  beforeAll(async () => {
    await ensureBuilt();
    fleet = await startFleet({ prefix: 'tfrel' });
    await fleet.setUp(REPLICAS);
    started = Date.now();
    load = startLoad({
      edge: fleet.edge(1),
      host: 'shop.localhost',
      product: 'shop',
      users: 100,
      concurrency: 2,
      maxMs: 600_000,
      maxRequests: 200_000,
    });
  }, 240_000);

  afterAll(async () => {
    await load?.stop();
    await fleet?.destroy();
  }, 60_000);

  /** Every module@version's replicas on as many hosts as it has replicas. */
  const expectSpread = async (version: string) => {
    const all = await fleet.instances();
    for (const m of MODULES) {
      const live = of(all, m, version);
      expect(live.length, `${m}@${version}`).toBe(REPLICAS);
      expect(new Set(live.map((i) => i.host)).size, `${m}@${version} hosts`).toBe(REPLICAS);
    }
    const hosts = new Set(all.filter((i) => i.state === 'ready').map((i) => i.host));
    expect([...hosts].sort()).toEqual(['h1', 'h2', 'h3']);
  };

  it('stable v1 is spread across the hosts and served through h1', async () => {
    await expectSpread('1.0.0');
    await waitFor('traffic', () => load.results.length > 20);
    for (const r of load.results)
      expect(r.versions).toEqual({ web: '1.0.0', orders: '1.0.0', account: '1.0.0' });
  });

  let t2 = 0;

  it('deploy and prerelease: v2 spread across hosts; only the secret header reaches it', async () => {
    t2 = await fleet.createTicket(
      { web: '2.0.0', orders: '2.0.0', account: '2.0.0' },
      { replicas: REPLICAS },
    );
    await fleet.post(`/v1/tickets/${t2}/deploy`);
    await fleet.untilTicket(t2, (t) => t.state === 'deployed');
    await expectSpread('2.0.0');
    await fleet.post(`/v1/tickets/${t2}/prerelease`);
    const live = await fleet.untilTicket(t2, (t) => t.state === 'prerelease');
    const tester = startLoad({
      edge: fleet.edge(1),
      host: 'shop.localhost',
      product: 'shop',
      users: 3,
      userPrefix: 'qa',
      concurrency: 1,
      maxRequests: 40,
      headers: { 'x-prerelease': live.prereleaseSecret as string },
    });
    // The lane rule reaches h1's proxy by the config stream: wait for that event.
    await waitFor('the prerelease lane routed at h1', async () => {
      const rs = tester.results;
      return rs.some((r) => r.versions.web === '2.0.0') ? rs : null;
    });
    const tested = await tester.done;
    expect(failures(tested)).toEqual([]);
    const inLane = tested.filter((r) => r.lane === `t-${t2}`);
    for (const r of inLane)
      expect(r.versions).toEqual({ web: '2.0.0', orders: '2.0.0', account: '2.0.0' });
    expect(inLane.length).toBeGreaterThan(0);
    for (const r of since(load, started)) expect(r.versions.web).toBe('1.0.0');
  }, 180_000);

  it('canary to its end, promote, revert: no request fails', async () => {
    await fleet.post(`/v1/tickets/${t2}/canary`, { steps: [20, 50], pauseMs: 2000, key: KEY });
    await fleet.untilTicket(t2, (t) => t.progress?.canaryDone === true);
    await fleet.post(`/v1/tickets/${t2}/promote`);
    await fleet.untilTicket(t2, (t) => t.state === 'promoted');
    const promoted = Date.now();
    await settled(load, promoted, (r) => allOn(r, '2.0.0'), 'everyone on v2');
    const revert = await fleet.post(`/v1/tickets/${t2}/revert`);
    const asked = Date.now();
    await fleet.untilTicket(revert.id, (t) => t.state === 'promoted');
    const lastNew = await settled(load, asked, (r) => allOn(r, '1.0.0'), 'back on v1');
    for (const r of since(load, lastNew + 1))
      expect(r.versions).toEqual({ web: '1.0.0', orders: '1.0.0', account: '1.0.0' });
    const served = load.results.length;
    console.log(
      `release under load through h1: ${served} requests, ${failures(load.results).length} failed`,
    );
    expect(failures(load.results)).toEqual([]);
  }, 180_000);

  it('kill -9 of the server mid-canary: every host keeps routing; the restarted server ends the canary', async () => {
    const t3 = await fleet.createTicket(
      { web: '2.0.0', orders: '2.0.0', account: '2.0.0' },
      { replicas: REPLICAS },
    );
    await fleet.post(`/v1/tickets/${t3}/canary`, { steps: [10, 30, 50], pauseMs: 3000, key: KEY });
    const before = await fleet.untilTicket(
      t3,
      (t) => t.state === 'canary' && typeof t.progress?.canaryStep === 'number',
    );
    await fleet.killServer();
    const down = Date.now();
    console.log(`server killed at ${new Date(down).toISOString()}`);
    // With the server gone, every host's edge still serves shop, in and out of the lane.
    const loads = [1, 2, 3].map((i) =>
      startLoad({
        edge: fleet.edge(i),
        host: 'shop.localhost',
        product: 'shop',
        users: 50,
        userPrefix: `h${i}-`,
        concurrency: 1,
        maxRequests: 40,
      }),
    );
    const whileDown = (await Promise.all(loads.map((l) => l.done))).flat();
    expect(whileDown.length).toBe(120);
    expect(failures(whileDown)).toEqual([]);
    expect(whileDown.some((r) => r.lane === `t-${t3}`)).toBe(true);
    await fleet.startServer();
    console.log(`server restarted at ${new Date().toISOString()}`);
    const done = await fleet.untilTicket(t3, (t) => t.progress?.canaryDone === true);
    expect(done.progress.canaryStep).toBeGreaterThanOrEqual(before.progress.canaryStep);
    expect(done.state).toBe('canary');
    const failedSince = failures(since(load, down));
    if (failedSince.length > 0)
      console.log(
        `failed after the kill at ${failedSince.map((r) => new Date(r.at).toISOString()).join(' ')}\n${await fleet.diagnose()}`,
      );
    expect(failedSince).toEqual([]);
    expect(failures(load.results)).toEqual([]);
  }, 180_000);
});
