// Fleet figures on real hosts (issue 13, "Figures"): a real `turnout server` (SQLite, TLS) and three
// hosts as network namespaces, each running a real `turnout agent` with its proxy and instances
// (test/fleet/fleet-stack.ts; needs root, see docs/testing-fleet.md).
//
// - host lost → replacement ready: kill -9 of everything in a host's namespace (agent, proxy,
//   instances), timed until every module again has its replicas ready on the other hosts (the
//   API polled every 100 ms); the agent is started again before the next kill. The figure includes
//   the agents' lease (--ttl) and the server's --host-lost-grace, printed beside it.
// - config change → applied on every host's proxy: one instance's weight changed through the API,
//   timed from before the call to the latest `config_applied` line (its pino time) of that
//   version or a newer one in every host proxy's log.
//
//   npm run bench:fleet            # KILLS=5 CHANGES=50 by default (env overrides)

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fleet, Instance } from '../test/fleet/fleet-stack.js';
import { MODULES, startFleet, waitFor } from '../test/fleet/fleet-stack.js';
import { ensureBuilt } from '../test/support/build.js';
import { netnsAvailable } from '../test/support/netns.js';

const KILLS = Number(process.env.KILLS ?? 5);
const CHANGES = Number(process.env.CHANGES ?? 50);
const REPLICAS = 2;
const TTL_MS = 6000;
const GRACE_MS = 2000;
const LIVE = ['starting', 'ready', 'draining'];

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const k = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, k)] ?? Number.NaN;
}

function summary(values: readonly number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50)} ms, p99 ${percentile(s, 99)} ms, min ${s[0]} ms, max ${s[s.length - 1]} ms (n=${s.length})`;
}

/** `config_applied` versions and times in host i's proxy log (the agent's data dir). */
function appliedLog(fleet: Fleet, i: number): { version: number; time: number }[] {
  const file = join(fleet.dataDir, `agent-h${i}`, 'proxy.log');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: { version: number; time: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"config_applied"')) continue;
    try {
      const log = JSON.parse(line) as { version?: number; time?: number };
      if (typeof log.version === 'number' && typeof log.time === 'number')
        out.push({ version: log.version, time: log.time });
    } catch {
      // a line being written
    }
  }
  return out;
}

async function hostLost(fleet: Fleet, hosts: number): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < KILLS; round++) {
    const all = await fleet.instances();
    // The host with the most live instances: the one whose loss moves the most.
    const counts = [1, 2, 3].slice(0, hosts).map((i) => ({
      i,
      n: all.filter((x) => x.host === `h${i}` && LIVE.includes(x.state)).length,
    }));
    const victim = counts.sort((a, b) => b.n - a.n)[0]!;
    const killed = Date.now();
    fleet.killHost(victim.i);
    await waitFor(`replacements of h${victim.i} ready`, async () => {
      const now = await fleet.instances();
      const away = now.filter((x) => x.host === `h${victim.i}` && LIVE.includes(x.state));
      const ready = MODULES.every(
        (m) =>
          now.filter(
            (x: Instance) => x.module === m && x.state === 'ready' && x.host !== `h${victim.i}`,
          ).length >= REPLICAS,
      );
      return away.length === 0 && ready ? true : null;
    });
    const ms = Date.now() - killed;
    times.push(ms);
    console.log(
      `kill ${round + 1}: h${victim.i} (${victim.n} instances) → replacements ready in ${ms} ms`,
    );
    fleet.startAgent(victim.i);
    await waitFor(`h${victim.i} ready again`, async () =>
      (await fleet.hosts()).find((h) => h.name === `h${victim.i}` && h.state === 'ready'),
    );
  }
  return times;
}

/** Whether the snapshot routes `address` with `weight`. */
function carries(snapshot: unknown, address: string, weight: number): boolean {
  if (Array.isArray(snapshot)) return snapshot.some((x) => carries(x, address, weight));
  if (typeof snapshot !== 'object' || snapshot === null) return false;
  const o = snapshot as Record<string, unknown>;
  if (o.address === address && o.weight === weight) return true;
  return Object.values(o).some((x) => carries(x, address, weight));
}

async function configChanges(fleet: Fleet, hosts: number): Promise<number[]> {
  const times: number[] = [];
  let skipped = 0;
  const seen = () => [1, 2, 3].slice(0, hosts).map((i) => appliedLog(fleet, i));
  for (let c = 0; c < CHANGES; c++) {
    // Start from a quiet fleet: every proxy on the same, latest version.
    const before = await waitFor('every proxy on the same version', () => {
      const logs = seen();
      const last = logs.map((l) => l[l.length - 1]?.version ?? -1);
      return last.every((v) => v === last[0] && v >= 0) ? (last[0] as number) : null;
    });
    // Read again each time: a host the busy machine lost meanwhile has moved its instances.
    const ready = (await fleet.instances()).filter((i) => i.state === 'ready');
    const target = ready[(c * 7) % ready.length] as Instance;
    // A weight no earlier change used, so the snapshot that carries this change is recognised.
    const weight = 100 + c;
    const t0 = Date.now();
    const r = await fleet.call('PATCH', `/v1/instances/${target.id}`, { weight });
    if (r.status !== 200)
      throw new Error(`PATCH ${target.id}: ${r.status} ${JSON.stringify(r.body)}`);
    // The first published version with it (another write may have been published in between).
    let version: number;
    try {
      version = await waitFor(
        `change ${c + 1} published`,
        async () => {
          const snap = await fleet.get('/v1/snapshot');
          if (carries(snap, target.address, weight)) return snap.version as number;
          const text = JSON.stringify(snap);
          const at = text.indexOf(target.address);
          throw new Error(
            `version ${snap.version}: ${at < 0 ? 'no such endpoint' : text.slice(at - 20, at + 80)}`,
          );
        },
        20_000,
      );
    } catch (error) {
      // Not a sample: say why (the instance as the store has it now) and go on.
      const now = await fleet.get(`/v1/instances/${target.id}`);
      console.log(
        `change ${c + 1} (${target.id} weight ${weight}) never published: ${(error as Error).message}; the instance now: ${JSON.stringify(now)}`,
      );
      skipped++;
      continue;
    }
    if (version <= before) throw new Error(`change ${c + 1}: published as ${version} ≤ ${before}`);
    const at = await waitFor(`change ${c + 1} applied on every proxy`, () => {
      const logs = seen();
      const firsts = logs.map((l) => l.find((e) => e.version >= version)?.time);
      return firsts.every((t) => t !== undefined) ? Math.max(...(firsts as number[])) : null;
    });
    times.push(at - t0);
  }
  if (skipped > 0) console.log(`${skipped} change(s) of ${CHANGES} never published: not samples`);
  return times;
}

async function main(): Promise<void> {
  const available = netnsAvailable();
  if (!available.ok) {
    console.error(`bench:fleet needs network namespaces: ${available.reason}`);
    process.exit(1);
  }
  await ensureBuilt();
  const hosts = 3;
  console.log(`uptime at start: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
  const fleet = await startFleet({
    prefix: 'tfbench',
    hosts,
    ttlMs: TTL_MS,
    hostLostGraceMs: GRACE_MS,
  });
  try {
    await fleet.setUp(REPLICAS);
    const changes = await configChanges(fleet, hosts);
    const lost = await hostLost(fleet, hosts);
    console.log(
      `\nconfig change → applied on every host's proxy (${hosts} hosts, delta stream, ${CHANGES} single-instance weight changes): ${summary(changes)}; goal p99 ≤ 100 ms: ${
        percentile(
          [...changes].sort((a, b) => a - b),
          99,
        ) <= 100
          ? 'MET'
          : 'MISSED'
      }`,
    );
    console.log(
      `host lost → replacement ready (${KILLS} kills of a host's agent, proxy and instances; lease ${TTL_MS} ms, grace ${GRACE_MS} ms, ${REPLICAS} replicas of ${MODULES.length} modules): ${summary(lost)}`,
    );
    console.log(`uptime at end: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
  } finally {
    await fleet.destroy();
  }
}

await main();
