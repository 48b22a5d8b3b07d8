// The agent's decision, pure: this host's assignments × what runs here → what to do. Level-
// triggered: the same inputs give the same actions, so a missed stream message, an agent restart
// or a host that comes back after being lost all end in the same place.
//
// Rules, per assignment id:
// - desired run, not running here, not being started → start (unless a failed start is still
//   backing off: then its failure is what is reported).
// - desired run, running here as another module/version → stop it (the next round starts it).
// - desired stop, running here → stop.
// - running here and named by no assignment → stop: it was placed elsewhere while this host was
//   lost, or deleted; nothing runs twice.
// - desired run, running here bound to another address than the one this host advertises (the
//   agent was restarted with another --advertise and adopted it) → stop it (the next round starts
//   it on the advertised address, and its report moves the instance's address on the server).
// - the status this host should report differs from the last one reported (or, before any, from
//   the one the server holds) → report it. Reports are of changes only, never of every round.

import type { RunningInstance } from '../runtime/runtime.js';
import type { Assignment, HealthVerdict, StatusReport } from './assignment.js';

/** What the agent remembers of an instance beyond the runtime's list: exits and failed starts. */
export interface InstanceNote {
  readonly lastExit: StatusReport['lastExit'];
  /**
   * The last lines of its log: kept from an exit or a failed start, and read again when a running
   * instance's status is sent again (once a ttl), so `turnout logs` has a recent tail.
   */
  readonly logTail: readonly string[];
  /** Why its start failed; null when it did not. */
  readonly error: string | null;
  /** A failed start is tried again at this time (ms since the epoch). */
  readonly retryAtMs: number | null;
  /** The step a failed start failed at (download, unpack, start); null: none said. */
  readonly step?: StatusReport['step'];
}

export interface LocalView {
  readonly running: readonly RunningInstance[];
  readonly health: ReadonlyMap<string, HealthVerdict>;
  readonly notes: ReadonlyMap<string, InstanceNote>;
  /** The status this agent last reported successfully, per id. */
  readonly reported: ReadonlyMap<string, StatusReport>;
  /** Starts and stops under way (not to be asked for twice). */
  readonly starting: ReadonlySet<string>;
  readonly stopping: ReadonlySet<string>;
  readonly nowMs: number;
  /** The address this host advertises (instances listen on it); none: not checked. */
  readonly advertise?: string;
}

export type StopReason = 'desired_stop' | 'unassigned' | 'other_version' | 'moved';

/** The host part of `host:port` or `[v6]:port`. */
export function addressHost(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'));
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export type Action =
  | { readonly kind: 'start'; readonly assignment: Assignment }
  | { readonly kind: 'stop'; readonly id: string; readonly reason: StopReason }
  | { readonly kind: 'report'; readonly id: string; readonly status: StatusReport };

export function reconcile(assignments: readonly Assignment[], local: LocalView): Action[] {
  const running = new Map(local.running.map((r) => [r.id, r]));
  const actions: Action[] = [];
  const named = new Set<string>();
  for (const assignment of assignments) {
    named.add(assignment.id);
    actions.push(...forAssignment(assignment, running.get(assignment.id), local));
  }
  for (const instance of local.running) {
    if (!named.has(instance.id) && !local.stopping.has(instance.id)) {
      actions.push({ kind: 'stop', id: instance.id, reason: 'unassigned' });
    }
  }
  return actions;
}

function forAssignment(
  a: Assignment,
  instance: RunningInstance | undefined,
  local: LocalView,
): Action[] {
  const busy = local.starting.has(a.id) || local.stopping.has(a.id);
  if (a.desired === 'stop') {
    if (instance !== undefined)
      return busy ? [] : [{ kind: 'stop', id: a.id, reason: 'desired_stop' }];
    return busy ? [] : report(a, stoppedStatus(local.notes.get(a.id)), local);
  }
  if (instance !== undefined && (instance.module !== a.module || instance.version !== a.version)) {
    return busy ? [] : [{ kind: 'stop', id: a.id, reason: 'other_version' }];
  }
  if (
    instance !== undefined &&
    local.advertise !== undefined &&
    addressHost(instance.address) !== local.advertise
  ) {
    return busy ? [] : [{ kind: 'stop', id: a.id, reason: 'moved' }];
  }
  if (instance !== undefined) {
    const health = local.health.get(a.id) ?? 'unknown';
    return report(a, runningStatus(instance, health, local.notes.get(a.id)), local);
  }
  if (busy) return [];
  const note = local.notes.get(a.id);
  if (note?.error != null && note.retryAtMs !== null && local.nowMs < note.retryAtMs) {
    return report(a, failedStatus(note), local);
  }
  return [{ kind: 'start', assignment: a }];
}

/** A report when `status` is news: unlike the last one reported (or, before any, the server's). */
function report(a: Assignment, status: StatusReport, local: LocalView): Action[] {
  const last = local.reported.get(a.id) ?? withoutReportedAt(a.status);
  return sameStatus(last, status) ? [] : [{ kind: 'report', id: a.id, status }];
}

function withoutReportedAt(status: Assignment['status']): StatusReport {
  const { reportedAt: _, ...rest } = status;
  return rest;
}

export function sameStatus(a: StatusReport, b: StatusReport): boolean {
  return (
    a.phase === b.phase &&
    a.address === b.address &&
    a.pid === b.pid &&
    a.startedAt === b.startedAt &&
    a.restarts === b.restarts &&
    a.health === b.health &&
    a.error === b.error &&
    a.step === b.step &&
    JSON.stringify(a.download) === JSON.stringify(b.download) &&
    JSON.stringify(a.lastExit) === JSON.stringify(b.lastExit) &&
    JSON.stringify(a.logTail) === JSON.stringify(b.logTail)
  );
}

export function runningStatus(
  instance: RunningInstance,
  health: HealthVerdict,
  note: InstanceNote | undefined,
): StatusReport {
  return {
    phase: 'running',
    address: instance.address,
    pid: instance.pid,
    startedAt: instance.startedAt,
    restarts: instance.restarts,
    health,
    lastExit: note?.lastExit ?? null,
    error: null,
    logTail: [...(note?.logTail ?? [])],
    // Healthy is in routing (the report moves the instance to ready); before that, health checks.
    step: health === 'healthy' ? 'routing' : 'health',
    download: null,
  };
}

export function failedStatus(note: InstanceNote): StatusReport {
  return {
    ...idle('failed'),
    lastExit: note.lastExit,
    error: note.error,
    logTail: [...note.logTail],
    step: note.step ?? 'start',
  };
}

/** Stopped, with the exit and the log tail last noted for it (read when it stopped). */
export function stoppedStatus(note: InstanceNote | undefined): StatusReport {
  return {
    ...idle('stopped'),
    lastExit: note?.lastExit ?? null,
    logTail: [...(note?.logTail ?? [])],
  };
}

/** A status with nothing running: the phase, everything else empty. */
export function idle(phase: 'pending' | 'failed' | 'stopped'): StatusReport {
  return {
    phase,
    address: null,
    pid: null,
    startedAt: null,
    restarts: 0,
    health: 'unknown',
    lastExit: null,
    error: null,
    logTail: [],
    step: null,
    download: null,
  };
}
