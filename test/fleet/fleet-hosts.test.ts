// Hosts coming and going on a real fleet (issue 13, "Tested on real hosts"): a real `turnout
// server` (SQLite, TLS) and three hosts as network namespaces, each with a real `turnout agent`,
// its proxy and its instances (web → orders → account, through the host proxies), under a steady
// load through host h1's edge.
// - `turnout host drain h2`: its instances are replaced elsewhere first, then drained; no request fails.
// - Partition a host and heal it: a caller inside it is served by its proxy throughout (from its
//   last snapshot, locality keeping it on the host's own instance); after the heal nothing runs twice.
// - kill -9 of a host (agent, proxy, instances): it goes down, its instances come back on the
//   others; the requests failing meanwhile are counted and printed, and none fails once the proxies
//   applied the snapshot without its endpoints.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Load, Served } from '../../src/demo/load.js';
import { startLoad } from '../../src/demo/load.js';
import { ensureBuilt } from '../support/build.js';
import { netnsGate, pidsIn } from '../support/netns.js';
import type { Fleet, Instance } from './fleet-stack.js';
import { MODULES, startFleet, waitFor } from './fleet-stack.js';

const gate = netnsGate('the fleet host-failure tests on network namespaces');
const REPLICAS = 2;
const failures = (rs: readonly Served[]) => rs.filter((r) => r.status !== 200);
const LIVE = ['starting', 'ready', 'draining'];

/** GETs a URL from inside a namespace: prints `<status> <body>` or `ERR <code>`. */
const GET = `
const [url, host] = process.argv.slice(1);
require('node:http')
  .get(url, { agent: false, headers: host ? { host, baggage: 'turnout-product=shop' } : {} }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => console.log(res.statusCode + ' ' + body));
  })
  .on('error', (e) => console.log('ERR ' + e.code));
`;

/**
 * A caller inside a host: GETs http://<module>/ through the host proxy's outbound, one at a time,
 * until its stdin closes (or 20 000 requests, or 5 minutes); then prints {ok, failed, first}.
 */
const CALLER = `
const http = require('node:http');
const [module] = process.argv.slice(1);
let ok = 0, failed = 0, first = null, done = false;
const end = Date.now() + 300000;
process.stdin.on('end', () => (done = true)).resume();
function once() {
  if (done || ok + failed >= 20000 || Date.now() > end) {
    console.log(JSON.stringify({ ok, failed, first }));
    return;
  }
  http
    .get({ host: '127.0.0.1', port: 4140, path: 'http://' + module + '/', agent: false,
           headers: { host: module, baggage: 'turnout-product=shop' } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) ok++;
        else { failed++; first = first || 'HTTP ' + res.statusCode + ' ' + res.headers['x-turnout-error']; }
        if (ok === 1) console.error('first-ok');
        once();
      });
    })
    .on('error', (e) => { failed++; first = first || e.code; once(); });
}
once();
`;

function live(all: readonly Instance[]) {
  return all.filter((i) => LIVE.includes(i.state));
}

/** module@version → how many instance processes run in the namespaces (read from /proc). */
function processes(fleet: Fleet): Map<string, number> {
  const counts = new Map<string, number>();
  for (const h of fleet.net.hosts)
    for (const pid of pidsIn(h.ns)) {
      let env: string;
      try {
        env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      const vars = new Map(
        env.split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      const name = vars.get('SERVICE_NAME');
      if (name === undefined || !(MODULES as readonly string[]).includes(name)) continue;
      const key = `${name}@${vars.get('SERVICE_VERSION')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  return counts;
}

describe.skipIf(gate.skip)('hosts of a fleet (network namespaces)', () => {
  let fleet: Fleet;
  let load: Load;

  /** Every module has REPLICAS ready instances, none on `away` (a host being emptied). */
  const replacedOff = (away: string) =>
    waitFor(`every module ready off ${away}`, async () => {
      const all = await fleet.instances();
      const onAway = live(all).filter((i) => i.host === away);
      const ready = MODULES.every(
        (m) =>
          all.filter((i) => i.module === m && i.state === 'ready' && i.host !== away).length >=
          REPLICAS,
      );
      return ready && onAway.length === 0 ? all : null;
    });

  const inNs = async (i: number, script: string, args: string[]) =>
    (await fleet.net.exec(i, process.execPath, ['-e', script, ...args])).stdout.trim();

  /** The version of the routing snapshot host i's proxy applied (its admin /config). */
  const applied = async (i: number) => {
    const out = await inNs(i, GET, ['http://127.0.0.1:9990/config', '']);
    const m = /^200 (.*)$/s.exec(out);
    return m === null ? -1 : Number(JSON.parse(m[1] ?? '{}').version);
  };

  beforeAll(async () => {
    await ensureBuilt();
    fleet = await startFleet({ prefix: 'tfhost', ttlMs: 6000, hostLostGraceMs: 2000 });
    await fleet.setUp(REPLICAS);
    load = startLoad({
      edge: fleet.edge(1),
      host: 'shop.localhost',
      product: 'shop',
      users: 50,
      concurrency: 2,
      maxMs: 600_000,
      maxRequests: 200_000,
    });
  }, 240_000);

  afterAll(async () => {
    await load?.stop();
    await fleet?.destroy();
  }, 60_000);

  it('drain h2 under load: replacements first, then its instances drained; no request fails', async () => {
    const before = live(await fleet.instances()).filter((i) => i.host === 'h2');
    expect(before.length).toBeGreaterThan(0);
    const from = Date.now();
    const drained = fleet.cli(['host', 'drain', 'h2']);
    expect(drained.code, drained.stderr).toBe(0);
    const all = await replacedOff('h2');
    for (const old of before) expect(all.find((i) => i.id === old.id)?.state).toBe('stopped');
    await waitFor('traffic after the drain', () =>
      load.results.filter((r) => r.at > Date.now() - 1000).length > 20 ? true : null,
    );
    const during = load.results.filter((r) => r.at >= from);
    console.log(
      `drain of h2 under load: ${during.length} requests, ${failures(during).length} failed`,
    );
    expect(failures(load.results)).toEqual([]);
    const back = fleet.cli(['host', 'uncordon', 'h2']);
    expect(back.code, back.stderr).toBe(0);
    await waitFor('h2 ready again', async () =>
      (await fleet.hosts()).find((h) => h.name === 'h2' && h.state === 'ready'),
    );
  }, 180_000);

  it('partition a host and heal: its proxy serves a local caller throughout; nothing runs twice after', async () => {
    // A host other than h1 (whose edge carries the load) with a ready instance of the leaf module:
    // its proxy prefers that instance (its own zone), so it can serve its callers while cut off.
    const leaf = (await fleet.instances()).find(
      (i) => i.module === 'account' && i.state === 'ready' && i.host !== 'h1',
    );
    if (leaf === undefined) throw new Error('no ready account instance off h1');
    const n = Number(leaf.host.slice(1));
    const name = leaf.host;
    const caller = fleet.net.spawn(n, process.execPath, ['-e', CALLER, 'account'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    caller.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    caller.stderr?.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const ended = new Promise((r) => caller.once('exit', r));
    await waitFor(`the caller in ${name} served once`, () => err.includes('first-ok'));

    fleet.net.partition(n);
    await waitFor(`${name} down (lease ran out)`, async () =>
      (await fleet.hosts()).find((h) => h.name === name && h.state === 'down'),
    );
    const lostIds = live(await fleet.instances())
      .filter((i) => i.host === name)
      .map((i) => i.id);
    await replacedOff(name);
    fleet.net.heal(n);
    await waitFor(`${name} ready again after the heal`, async () =>
      (await fleet.hosts()).find((h) => h.name === name && h.state === 'ready'),
    );
    caller.stdin?.end();
    await ended;
    const result = JSON.parse(out.trim()) as { ok: number; failed: number; first: string | null };
    console.log(`caller inside partitioned ${name}: ${result.ok} served, ${result.failed} failed`);
    expect(result.ok).toBeGreaterThan(0);
    expect(result).toMatchObject({ failed: 0, first: null });

    // The healed agent stops what was moved away; then each instance runs exactly once.
    const expected = async () => {
      const counts = new Map<string, number>();
      for (const i of live(await fleet.instances()))
        counts.set(`${i.module}@${i.version}`, (counts.get(`${i.module}@${i.version}`) ?? 0) + 1);
      return counts;
    };
    const settled = await waitFor('as many processes as live instances, per version', async () => {
      const want = await expected();
      const have = processes(fleet);
      return JSON.stringify([...want].sort()) === JSON.stringify([...have].sort()) ? have : null;
    });
    for (const [key, count] of settled) expect(count, key).toBe(REPLICAS);
    const assignments = (await fleet.get(`/v1/hosts/${name}/assignments`)).assignments as {
      id: string;
      desired: string;
    }[];
    for (const id of lostIds)
      expect(assignments.find((a) => a.id === id)?.desired ?? 'gone').not.toBe('run');
  }, 240_000);

  it('kill -9 of a host: down, its instances back on the others, failures bounded, nothing routed to it', async () => {
    // The host other than h1 (the edge under load) running the most instances.
    const all = live(await fleet.instances());
    const [victim, other] = [2, 3].sort(
      (a, b) =>
        all.filter((i) => i.host === `h${b}`).length - all.filter((i) => i.host === `h${a}`).length,
    ) as [number, number];
    const name = `h${victim}`;
    expect(all.filter((i) => i.host === name).length).toBeGreaterThan(0);
    const killed = Date.now();
    fleet.killHost(victim);
    await waitFor(`${name} down`, async () =>
      (await fleet.hosts()).find((h) => h.name === name && h.state === 'down'),
    );
    const snap = await fleet.get('/v1/snapshot');
    const dead = fleet.net.host(victim).address;
    expect(JSON.stringify(snap)).not.toContain(`${dead}:`);
    // The event: the other hosts' proxies applied a snapshot without the dead host's endpoints.
    for (const i of [1, other])
      await waitFor(`h${i}'s proxy on snapshot ${snap.version}`, async () =>
        (await applied(i)) >= snap.version ? true : null,
      );
    const out = Date.now();
    await replacedOff(name);
    const ready = Date.now();
    await waitFor('traffic after the replacement', () =>
      load.results.filter((r) => r.at > ready).length > 50 ? true : null,
    );
    const since = load.results.filter((r) => r.at >= killed);
    const failed = failures(since);
    console.log(
      `kill -9 of ${name}: ${failed.length} of ${since.length} requests failed; out of routing ${out - killed} ms after the kill, replacements ready after ${ready - killed} ms`,
    );
    // Bounded: only requests sent before every proxy dropped the dead host may fail.
    for (const r of failed) expect(r.at).toBeLessThanOrEqual(out);
    expect(failures(load.results.filter((r) => r.at > out))).toEqual([]);
  }, 180_000);
});
