// Leases after an outage of the whole control plane. While no control plane runs, no heartbeat can
// arrive, so every host lease runs out although the hosts run on (static stability: their proxies
// route from their last snapshot). A control plane that starts and judges those leases at once
// would call every host lost: its first snapshot would route to nothing, and the engine would
// start every instance again elsewhere. So, before the first snapshot is compiled, each host that
// is not down and whose lease ran out — or runs out within `graceMs`: an outage shorter than the
// lease still leaves leases ending before the agents' backed-off heartbeats arrive (seen in the
// fleet test: 0.7 s of 503s just after a restart) — gets `graceMs` from now (and its live
// instances with it), time for its agent to heartbeat again; a host that does not is lost as usual.

import { listAll } from '../store/cursor.js';
import type { Host } from '../store/host-model.js';
import type { Store } from '../store/store.js';

/** Hosts not down whose lease ends before `graceMs` from now: the ones an outage would condemn. */
export function expiredHosts(hosts: readonly Host[], nowMs: number, graceMs = 0): Host[] {
  return hosts.filter(
    (h) =>
      h.state !== 'down' &&
      h.leaseExpiresAt !== null &&
      Date.parse(h.leaseExpiresAt) <= nowMs + graceMs,
  );
}

/** Gives the hosts an outage condemned (and their live instances) `graceMs`; answers their names. */
export async function resumeLeases(
  store: Store,
  nowMs: number,
  graceMs: number,
  actor: string,
): Promise<string[]> {
  const until = new Date(nowMs + graceMs).toISOString();
  const hosts = expiredHosts(await listAll((p) => store.listHosts(p)), nowMs, graceMs);
  for (const host of hosts) {
    await store.renewHostLease(host.name, until, actor);
    const instances = await listAll((p) => store.listInstances({ ...p, host: host.name }));
    const ids = instances
      .filter((i) => i.state !== 'stopped' && i.leaseExpiresAt !== null)
      .map((i) => i.id);
    if (ids.length > 0) await store.renewLeases(ids, until);
  }
  return hosts.map((h) => h.name);
}
