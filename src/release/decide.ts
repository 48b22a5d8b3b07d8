// The engine's decisions outside reconcile(): what a failed start does to a ticket, what to do on
// taking the lead (recovery), and when a draining instance may be stopped. Pure, like reconcile:
// engine.ts observes, asks these, and applies the answer (fenced by its lease).

import type { RunningInstance } from '../runtime/runtime.js';
import type { Instance, Ticket } from '../store/model.js';
import type { Action, Decision, TicketView } from './reconcile.js';
import { transition } from './state-machine.js';

export type StartAction = Extract<Action, { kind: 'start' }>;
/** A start the runtime carried out, with the address (and, in a fleet, the host) it answered. */
export type Started = StartAction & { readonly address: string; readonly host?: string };

/** The event reconcile() writes for a start (reconcile.ts, deployLevel). */
export function startEvent(s: StartAction): { type: string; data: Record<string, string> } {
  return { type: 'instance.start', data: { id: s.id, module: s.module, version: s.version } };
}

/**
 * A start failed: the ticket fails with `message`, and the instances this tick did start are
 * recorded with their `instance.start` (so none is started twice, and none runs unaccounted for).
 */
export function startFailed(
  view: TicketView,
  started: readonly StartAction[],
  message: string,
): Decision {
  return {
    actions: [],
    patch: { ...transition(view.ticket.state, 'failed'), progress: { ...view.progress, message } },
    events: [...started.map(startEvent), { type: 'deploy.failed', data: { message } }],
  };
}

export type RecoveryStep =
  /** Running but unknown to the store: register it, with its `instance.start` on `ticket`. */
  | { readonly kind: 'register'; readonly instance: Started; readonly ticket: number | null }
  /** Draining when its process was lost: it is stopped. */
  | { readonly kind: 'stopped'; readonly id: string }
  /** Starting or ready when its process was lost: start it again under the same id. */
  | { readonly kind: 'restart'; readonly start: StartAction };

/**
 * On taking the lead: instances the runtime runs that the store does not know (a crash between
 * spawn and the decision's commit) are registered, with the `instance.start` that commit would
 * have written, on the first of `active` (active tickets, in order) that wants the version;
 * instances the store says run on a host the runtime manages (`manages`) but the runtime lost
 * (they died while no control plane watched) are started again under the same id, or marked
 * stopped if they were draining.
 */
export function recovery(
  running: readonly Pick<RunningInstance, 'id' | 'module' | 'version' | 'address' | 'host'>[],
  stored: readonly Instance[],
  active: readonly Ticket[],
  manages: (host: string) => boolean,
): RecoveryStep[] {
  const known = new Set(stored.map((i) => i.id));
  const runs = new Set(running.map((r) => r.id));
  const steps: RecoveryStep[] = [];
  for (const r of running) {
    if (known.has(r.id)) continue;
    const wanting = active.find((t) =>
      t.items.some((i) => i.module === r.module && i.version === r.version),
    );
    const { id, module, version, address, host } = r;
    steps.push({
      kind: 'register',
      instance: {
        kind: 'start',
        id,
        module,
        version,
        address,
        ...(host === undefined ? {} : { host }),
      },
      ticket: wanting?.id ?? null,
    });
  }
  for (const i of stored) {
    if (!manages(i.host) || runs.has(i.id) || i.state === 'stopped') continue;
    if (i.state === 'draining') steps.push({ kind: 'stopped', id: i.id });
    else
      steps.push({
        kind: 'restart',
        start: { kind: 'start', id: i.id, module: i.module, version: i.version },
      });
  }
  return steps;
}

export interface DrainTiming {
  /** How long a draining instance gets no new requests before it is stopped (at least). */
  readonly drainMs: number;
  /** Past this, it is stopped whether or not every proxy confirmed (a proxy may be down). */
  readonly drainDeadlineMs: number;
  /** Whether proxies confirm which routing snapshot they applied (EngineOptions.proxiesApplied). */
  readonly confirms: boolean;
}

/**
 * Where a draining instance is at `now`: `wait` (drainMs has not passed), `stop` (out of routing
 * long enough), or `confirm` (drainMs passed: stop once every proxy applied the snapshot that
 * took it out of routing). Its drain started when it was last written (`updatedAt`).
 */
export function drainStep(
  i: Pick<Instance, 'state' | 'updatedAt'>,
  now: number,
  t: DrainTiming,
): 'wait' | 'stop' | 'confirm' {
  if (i.state !== 'draining') return 'wait';
  const elapsed = now - Date.parse(i.updatedAt);
  if (elapsed < t.drainMs) return 'wait';
  return !t.confirms || elapsed >= t.drainDeadlineMs ? 'stop' : 'confirm';
}
