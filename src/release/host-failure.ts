// What the fleet does about a host that is lost or drained, as pure decisions (issue 13, "Host
// failure", "Placement"); engine.ts observes, asks hostSteps(), and carries the steps out.
//
// - A `down` host (its lease ran out; the lease sweeper said so) is given `graceMs` to come back.
//   After that each live instance on it is replaced elsewhere: a replacement (a new id, the same
//   module@version) is started through the runtime, then the old one is marked stopped and its
//   assignment set to stop — the host's agent stops it if the host ever comes back.
// - A `draining` host (an operator asked): each live instance there gets a replacement elsewhere
//   first; once the replacement takes traffic the old one moves to draining, and the engine's
//   reclaim stops it gracefully once every proxy has applied the snapshot without it.
// - Cordoned hosts keep what they run: placement only avoids them.
//
// The replacement's id derives from the old one (`replacementId`), so a step repeated after a
// crash finds the replacement it already started instead of starting a second one. Instances of
// versions nothing keeps any more (reclaim.ts) are not replaced, only retired or drained.

import { isLive, takesTraffic } from '../store/endpoint.js';
import type { Host } from '../store/host-model.js';
import type { Instance, TicketState } from '../store/model.js';

export type HostStep =
  /** Start `id` (same module@version as `old`) on another host; `retire`: then mark `old` stopped. */
  | {
      readonly kind: 'replace';
      readonly old: Instance;
      readonly id: string;
      readonly retire: boolean;
    }
  /** `old` is on a lost host and its replacement runs (or none is wanted): mark it stopped. */
  | { readonly kind: 'retire'; readonly old: Instance }
  /** `old` is on a draining host and its replacement takes traffic (or none is wanted): drain it. */
  | { readonly kind: 'drain'; readonly old: Instance };

export interface HostFailureOptions {
  /** How long a down host has to come back before its instances are placed elsewhere. */
  readonly graceMs: number;
  /** `module@version` of every version that must keep its instances (reclaim.ts, keptVersions). */
  readonly keep: ReadonlySet<string>;
}

const REPLACEMENT = /^(.*)\.r(\d+)$/;

/** The id of the instance that replaces `id`: `x` → `x.r1`, `x.r1` → `x.r2`. */
export function replacementId(id: string): string {
  const m = REPLACEMENT.exec(id);
  return m === null ? `${id}.r1` : `${m[1]}.r${Number(m[2]) + 1}`;
}

/** Whether the host has been down for at least `graceMs` at `now` (it went down when last written). */
export function lostFor(host: Pick<Host, 'state' | 'updatedAt'>, now: number, graceMs: number) {
  return host.state === 'down' && now - Date.parse(host.updatedAt) >= graceMs;
}

/** The steps the fleet's hosts call for at `now`, in instance order. */
export function hostSteps(
  hosts: readonly Host[],
  instances: readonly Instance[],
  now: number,
  o: HostFailureOptions,
): HostStep[] {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const byId = new Map(instances.map((i) => [i.id, i]));
  const steps: HostStep[] = [];
  for (const old of instances) {
    const host = byName.get(old.host);
    if (host === undefined || !isLive(old)) continue;
    const lost = lostFor(host, now, o.graceMs);
    if (!lost && host.state !== 'draining') continue;
    const wanted = o.keep.has(`${old.module}@${old.version}`);
    const id = replacementId(old.id);
    const next = byId.get(id);
    const running = next !== undefined && isLive(next);
    if (wanted && !running) steps.push({ kind: 'replace', old, id, retire: lost });
    else if (lost) steps.push({ kind: 'retire', old });
    else if (!wanted || (next !== undefined && takesTraffic(next, now)))
      steps.push({ kind: 'drain', old });
  }
  return steps;
}

/** Ticket states past the deploy: their deploy gate is not re-run for a host the fleet replaces. */
const DEPLOYED: ReadonlySet<TicketState> = new Set(['deployed', 'prerelease', 'canary']);

/**
 * Instances a deployed ticket's deploy gate counts as ready although they take no traffic now,
 * because the fleet is replacing them (so the ticket keeps its state and canary step instead of
 * going back to deploying): live instances on a down host (lease gone, replacement to come after
 * the grace), and replacements still starting (not unhealthy). Empty for a ticket still deploying.
 */
export function coveredByFleet(
  state: TicketState,
  hosts: readonly Host[],
  instances: readonly Instance[],
): Set<string> {
  if (!DEPLOYED.has(state)) return new Set();
  const down = new Set(hosts.filter((h) => h.state === 'down').map((h) => h.name));
  return new Set(
    instances
      .filter(
        (i) =>
          (isLive(i) && down.has(i.host)) ||
          (i.state === 'starting' && i.health !== 'unhealthy' && REPLACEMENT.test(i.id)),
      )
      .map((i) => i.id),
  );
}
