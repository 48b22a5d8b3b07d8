// The fleet's runtime: runs an instance by writing an assignment for one host (chosen by
// placement.ts) and waiting for that host's agent to report it running; stops one by setting the
// assignment's desired state to stop and waiting for the agent to report it stopped. The agents
// do the process work (ProcessRuntime on their host); this side only reads and writes the store,
// so the control plane never opens a connection into a host (docs/placement.md).
//
// Waiting polls the store (getAssignment every pollMs) on an injected clock: tests and a busy
// machine wait for the event itself, bounded by a timeout in the clock's time.

import { TurnoutError } from '../errors.js';
import type { InstanceHealth, InstanceSpec, RunningInstance, Runtime } from '../runtime/runtime.js';
import { HEALTH_LOG_LINES } from '../runtime/runtime.js';
import { NOTE_PREFIX } from '../runtime/supervised-instance.js';
import type {
  Assignment,
  AssignmentArtifact,
  AssignmentStatus,
} from '../store/assignment-model.js';
import { listAll } from '../store/cursor.js';
import type { Host } from '../store/host-model.js';
import type { Version } from '../store/model.js';
import type { Store } from '../store/store.js';
import { place } from './placement.js';

export const FLEET_ACTOR = 'engine';

export interface FleetRuntimeOptions {
  readonly store: Store;
  /** Who the assignment writes are audited as. Default `engine`. */
  readonly actor?: string;
  /** The label replicas spread across (placement.ts). Default `zone`. */
  readonly spreadLabel?: string;
  /** How often a wait reads the assignment again. Default 100. */
  readonly pollMs?: number;
  /** How long start waits for the agent to report the instance running. Default 60 000. */
  readonly startTimeoutMs?: number;
  /** How long stop waits beyond the stop deadline for the agent to report it stopped. Default 30 000. */
  readonly stopGraceMs?: number;
  /**
   * How long a host may stay down before its stop assignments are forgotten (deleted without a
   * report). Default 3 600 000 (1 h). See sweepStopped.
   */
  readonly forgetStopsAfterMs?: number;
  /** The clock (ms since the epoch) and the pause between reads; tests inject both. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A host placement may use at `now`: its lease is valid (an expired lease is as good as down). */
function leaseValid(h: Host, now: number): boolean {
  return h.leaseExpiresAt !== null && Date.parse(h.leaseExpiresAt) > now;
}

/** The running instance an assignment reports, or null while it does not run. */
export function runningOf(a: Assignment): RunningInstance | null {
  const s = a.status;
  if (a.desired !== 'run' || s.phase !== 'running' || s.address === null) return null;
  return {
    id: a.id,
    module: a.module,
    version: a.version,
    address: s.address,
    host: a.host,
    pid: s.pid ?? 0,
    startedAt: s.startedAt ?? a.createdAt,
    restarts: s.restarts,
  };
}

/**
 * How an assignment's instance fares, from its agent's last report. Each restart followed an exit;
 * the process now reported has exited too when the last exit came after it started.
 */
export function healthOf(a: Assignment): InstanceHealth {
  const s = a.status;
  const exit = s.lastExit;
  const current =
    exit !== null && (s.startedAt === null || Date.parse(exit.at) >= Date.parse(s.startedAt));
  return {
    exits: s.restarts + (current ? 1 : 0),
    restarts: s.restarts,
    lastExit: exit === null ? null : { code: exit.code, signal: exit.signal, at: exit.at },
    logTail: s.logTail.filter((l) => !l.startsWith(NOTE_PREFIX)).slice(-HEALTH_LOG_LINES),
  };
}

/** The version's artifact as the agent downloads it (url null: from this control plane's store). */
export function artifactOf(version: Version | null): AssignmentArtifact | null {
  const a = version?.artifact ?? null;
  if (a === null) return null;
  return { sha256: a.sha256, size: a.size, url: 'url' in a ? a.url : null };
}

/**
 * The stop assignments to delete at `now`: those their agent reported stopped (or failed), and
 * those of a host that is gone or has been down for `forgetMs` (down since its last write). The
 * latter forgets nothing a returning host needs: its agent stops every instance no assignment
 * names, so a stop assignment only keeps a lost host's instances listed and their ids taken.
 */
export function finishedStops(
  stops: readonly Assignment[],
  hosts: readonly Pick<Host, 'name' | 'state' | 'updatedAt'>[],
  now: number,
  forgetMs: number,
): Assignment[] {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  return stops.filter((a) => {
    if (a.desired !== 'stop') return false;
    if (a.status.phase === 'stopped' || a.status.phase === 'failed') return true;
    const host = byName.get(a.host);
    return (
      host === undefined || (host.state === 'down' && now - Date.parse(host.updatedAt) >= forgetMs)
    );
  });
}

/** Why an assignment failed, with what the agent last saw of it. */
function failureOf(a: Assignment): string {
  const s = a.status;
  const parts = [`${a.id} failed on host ${a.host}: ${s.error ?? 'the agent reported it failed'}`];
  if (s.lastExit !== null)
    parts.push(`last exit code ${s.lastExit.code ?? '-'} signal ${s.lastExit.signal ?? '-'}`);
  if (s.logTail.length > 0) parts.push(`log tail:\n${s.logTail.join('\n')}`);
  return parts.join('; ');
}

/** What logs() and logOrigin() read of an agent's report. */
interface ReportOf {
  readonly host: string;
  readonly status: Pick<AssignmentStatus, 'logTail' | 'reportedAt'>;
  readonly stopped: boolean;
}

/** The report in an audited assignment (the store wrote it; checked, not trusted to a cast). */
export function reportIn(before: unknown): ReportOf | null {
  const a = before as { host?: unknown; status?: { logTail?: unknown; reportedAt?: unknown } };
  const tail = a?.status?.logTail;
  const at = a?.status?.reportedAt;
  if (typeof a?.host !== 'string' || !Array.isArray(tail)) return null;
  if (!tail.every((l) => typeof l === 'string')) return null;
  if (at !== null && typeof at !== 'string') return null;
  return { host: a.host, status: { logTail: tail, reportedAt: at }, stopped: true };
}

export class FleetRuntime implements Runtime {
  private readonly store: Store;
  private readonly actor: string;
  private readonly spreadLabel: string;
  private readonly pollMs: number;
  private readonly startTimeoutMs: number;
  private readonly stopGraceMs: number;
  private readonly forgetStopsAfterMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private running: RunningInstance[] = [];
  /** Placements one at a time: each reads where the others went (spread, capacity). */
  private placing: Promise<unknown> = Promise.resolve();

  constructor(o: FleetRuntimeOptions) {
    this.store = o.store;
    this.actor = o.actor ?? FLEET_ACTOR;
    this.spreadLabel = o.spreadLabel ?? 'zone';
    this.pollMs = o.pollMs ?? 100;
    this.startTimeoutMs = o.startTimeoutMs ?? 60_000;
    this.stopGraceMs = o.stopGraceMs ?? 30_000;
    this.forgetStopsAfterMs = o.forgetStopsAfterMs ?? 3_600_000;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async start(spec: InstanceSpec): Promise<RunningInstance> {
    let a = await this.store.getAssignment(spec.id);
    if (a !== null && a.desired === 'stop') {
      // The id is being reused (a stopped instance's): its old assignment must be gone first.
      await this.stop(spec.id);
      a = await this.store.getAssignment(spec.id);
      if (a !== null)
        throw new TurnoutError(
          'conflict',
          `${spec.id} is still assigned to host ${a.host}, which has not reported it stopped`,
        );
    }
    a ??= await this.placed(spec);
    const running = await this.waitRunning(a);
    await this.refresh();
    return running;
  }

  /** assign(), after the placements already under way (starts run together: engine.ts). */
  private placed(spec: InstanceSpec): Promise<Assignment> {
    const next = this.placing.then(() => this.assign(spec));
    this.placing = next.catch(() => {});
    return next;
  }

  /** Places one replica and writes its assignment. */
  private async assign(spec: InstanceSpec): Promise<Assignment> {
    const [hosts, assigned, module, version] = await Promise.all([
      listAll((p) => this.store.listHosts(p)),
      this.store.listAssignments({ desired: 'run' }),
      this.store.getModule(spec.module),
      this.store.getVersion(spec.module, spec.version),
    ]);
    const now = this.now();
    const load = new Map<string, number>();
    for (const a of assigned) load.set(a.host, (load.get(a.host) ?? 0) + 1);
    const placed = place(
      hosts.map((h) => ({
        name: h.name,
        state: leaseValid(h, now) ? h.state : 'down',
        labels: h.labels,
        capacity: h.capacity,
        instances: load.get(h.name) ?? 0,
      })),
      {
        count: 1,
        existing: assigned
          .filter((a) => a.module === spec.module && a.version === spec.version)
          .map((a) => a.host),
        constraints: module?.placement?.labels ?? {},
        spreadLabel: this.spreadLabel,
      },
    );
    const [host] = placed.hosts;
    if (!placed.ok || host === undefined)
      throw new TurnoutError(
        'instance_start_failed',
        `no ready host can take ${spec.module}@${spec.version}: ${placed.ok ? 'none' : placed.reason}`,
      );
    const health =
      module === null ? null : { path: module.health.path, intervalMs: module.health.intervalMs };
    const { id, module: name, run } = spec;
    const artifact = artifactOf(version);
    return this.store.createAssignment(
      { id, host, module: name, version: spec.version, run, health, artifact },
      this.actor,
    );
  }

  /** Waits for the agent to report `a` running; throws on failed, on a lost host, on timeout. */
  private async waitRunning(first: Assignment): Promise<RunningInstance> {
    const deadline = this.now() + this.startTimeoutMs;
    let a: Assignment | null = first;
    for (;;) {
      if (a === null) throw new TurnoutError('conflict', `${first.id}'s assignment was removed`);
      const running = runningOf(a);
      if (running !== null) return running;
      if (a.status.phase === 'failed')
        throw new TurnoutError('instance_start_failed', failureOf(a));
      const host = await this.store.getHost(a.host);
      if (host === null || host.state === 'down' || !leaseValid(host, this.now()))
        throw new TurnoutError(
          'instance_start_failed',
          `host ${a.host} was lost before ${a.id} started (its lease ran out)`,
        );
      if (this.now() >= deadline)
        throw new TurnoutError(
          'instance_start_failed',
          `host ${a.host} did not report ${a.id} running within ${this.startTimeoutMs} ms (phase ${a.status.phase})`,
        );
      await this.sleep(this.pollMs);
      a = await this.store.getAssignment(first.id);
    }
  }

  /**
   * Sets the assignment to stop and waits for the agent to report it stopped (or failed), then
   * deletes it. A host that is down is treated as stopped: its endpoints left routing with its
   * lease, and the stop assignment stays for its agent to carry out should it come back (the
   * engine deletes it once reported stopped, sweepStopped).
   */
  async stop(id: string, options?: { deadlineMs?: number }): Promise<void> {
    let a = await this.store.getAssignment(id);
    if (a === null) return;
    if (a.desired !== 'stop') a = await this.store.setAssignmentDesired(id, 'stop', this.actor);
    const deadline = this.now() + (options?.deadlineMs ?? 10_000) + this.stopGraceMs;
    for (;;) {
      if (a === null) break;
      if (a.status.phase === 'stopped' || a.status.phase === 'failed') {
        await this.store.deleteAssignment(id, this.actor);
        break;
      }
      const host = await this.store.getHost(a.host);
      if (host === null || host.state === 'down' || !leaseValid(host, this.now())) break;
      if (a.status.phase === 'pending' && a.status.reportedAt === null) {
        // Never picked up: nothing runs, so nothing to wait for.
        await this.store.deleteAssignment(id, this.actor);
        break;
      }
      if (this.now() >= deadline)
        throw new TurnoutError(
          'conflict',
          `host ${a.host} did not report ${id} stopped in time (phase ${a.status.phase})`,
        );
      await this.sleep(this.pollMs);
      a = await this.store.getAssignment(id);
    }
    await this.refresh();
  }

  /** Sets the assignment to stop without waiting (its host is lost; its agent stops it if it returns). */
  async release(id: string): Promise<void> {
    const a = await this.store.getAssignment(id);
    if (a !== null && a.desired !== 'stop')
      await this.store.setAssignmentDesired(id, 'stop', this.actor);
  }

  /**
   * Deletes stop assignments their agent reported stopped (or failed): nothing runs for them; and
   * those of a host down for forgetStopsAfterMs (finishedStops): they would otherwise stay for a
   * host that never returns.
   */
  async sweepStopped(): Promise<string[]> {
    const stops = await this.store.listAssignments({ desired: 'stop' });
    if (stops.length === 0) return [];
    const hosts = await listAll((p) => this.store.listHosts(p));
    const done = finishedStops(stops, hosts, this.now(), this.forgetStopsAfterMs);
    for (const a of done) await this.store.deleteAssignment(a.id, this.actor);
    return done.map((a) => a.id);
  }

  /** Re-reads which assignments run, for list(). */
  async refresh(): Promise<RunningInstance[]> {
    const all = await this.store.listAssignments({ desired: 'run' });
    this.running = all.flatMap((a) => runningOf(a) ?? []);
    return this.running;
  }

  /** The assignments last seen running (refreshed by start, stop, adopt and refresh). */
  list(): RunningInstance[] {
    return [...this.running];
  }

  async adopt(): Promise<{ adopted: RunningInstance[]; dead: string[] }> {
    return { adopted: await this.refresh(), dead: [] };
  }

  /** The log tail the agent last reported for `id` (origin: logOrigin). */
  async logs(id: string, options?: { tailLines?: number }): Promise<string> {
    const { status } = await this.lastReport(id);
    return status.logTail.slice(-(options?.tailLines ?? status.logTail.length)).join('\n');
  }

  /** Where logs() comes from: which host's agent reported it, when, and whether it still runs. */
  async logOrigin(id: string): Promise<string | null> {
    const { host, status, stopped } = await this.lastReport(id);
    const when = status.reportedAt ?? 'never';
    return stopped
      ? `the last lines host ${host}'s agent reported for ${id}, at ${when}; it has stopped`
      : `the last lines host ${host}'s agent reported for ${id}, at ${when}`;
  }

  /**
   * The agent's last report of `id`: its assignment's, or once that was deleted (the instance
   * stopped: a failed canary after its abort) the copy the audit log kept of it at deletion.
   */
  private async lastReport(id: string): Promise<ReportOf> {
    const a = await this.store.getAssignment(id);
    if (a !== null) return { host: a.host, status: a.status, stopped: false };
    const audit = await this.store.listAudit({
      target: `assignment/${id}`,
      newestFirst: true,
      limit: 1,
    });
    const last = audit.items[0];
    const kept = last?.action === 'assignment.delete' ? reportIn(last.before) : null;
    if (kept === null)
      throw new TurnoutError('not_found', `no host runs ${id}, and no agent reported logs for it`);
    return kept;
  }

  async health(id: string): Promise<InstanceHealth | null> {
    const a = await this.store.getAssignment(id);
    return a === null ? null : healthOf(a);
  }

  /** The agents report exits in the assignment's status; no event is raised here. */
  on(): void {}

  async close(): Promise<void> {}
}
