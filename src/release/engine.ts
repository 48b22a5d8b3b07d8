// The release engine: a reconcile loop. Each tick, the replica holding the `release-engine` lease
// observes the store, asks reconcile() what each active ticket needs, and carries it out —
// instance starts through the runtime, every store change of one ticket in one transaction. Then
// reclaim drains and stops instances no product needs. Nothing lives only in memory, so a replica
// killed mid-rollout is replaced by the next tick of another (or of itself, restarted).

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TurnoutError } from '../errors.js';
import { Rerun } from '../rerun.js';
import type { InstanceHealth, InstanceSpec, Runtime } from '../runtime/runtime.js';
import { isLive } from '../store/endpoint.js';
import type { Instance, InstancePatch, Ticket } from '../store/model.js';
import { processRunOf } from '../store/run-spec.js';
import type { Store, StoreTx } from '../store/store.js';
import { CRASH_LOOP_EXITS } from './crash-loop.js';
import type { RecoveryStep, StartAction, Started } from './decide.js';
import { drainStep, recovery, startEvent, startFailed } from './decide.js';
import type { HostStepOps } from './engine-hosts.js';
import { carryOut } from './engine-hosts.js';
import { FleetRuntime } from './fleet-runtime.js';
import { hostSteps } from './host-failure.js';
import type { Observed } from './observe.js';
import { observe, ticketViews } from './observe.js';
import { keptVersions, toReclaim } from './reclaim.js';
import type { Action, Decision, TicketView } from './reconcile.js';
import { isReady, reconcile } from './reconcile.js';
import { withStable } from './routes.js';
import { instanceTransition } from './state-machine.js';
import type { StatsWindow } from './stats-window.js';

export const ENGINE_ACTOR = 'engine';
export const ENGINE_LEASE = 'release-engine';

export interface EngineOptions {
  readonly store: Store;
  /** Runs instances on this host; null: the engine starts nothing (instances come from elsewhere). */
  readonly runtime: Runtime | null;
  /** The `host` recorded on instances this engine's runtime runs. */
  readonly host?: string;
  /** Live traffic for canary analysis; null: no analysis (steps advance on time or approval). */
  readonly traffic: StatsWindow | null;
  /** Called after the engine wrote to the store, so proxies hear of it at once. */
  readonly onChange?: () => void;
  readonly logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly tickMs?: number;
  readonly leaseTtlMs?: number;
  /** How long a draining instance gets no new requests before it is stopped (at least). */
  readonly drainMs?: number;
  /**
   * Whether every proxy has applied the routing snapshot of this store version (so none sends a
   * draining instance new requests). A drain waits for it, up to drainDeadlineMs (a proxy that is
   * down must not keep an instance alive forever); absent: drainMs alone.
   */
  readonly proxiesApplied?: (version: number) => boolean;
  readonly drainDeadlineMs?: number;
  /** SIGTERM → SIGKILL deadline when stopping an instance. */
  readonly stopDeadlineMs?: number;
  /** This replica's name in the lease. */
  readonly holder?: string;
  /**
   * With a fleet runtime: how long a down host (lease expired) has to come back before its
   * instances are started elsewhere (host-failure.ts). Default 30 000.
   */
  readonly hostLostGraceMs?: number;
  /**
   * Exits after which an instance that is not ready counts as crash-looping: a level whose every
   * instance does fails at once (crash-loop.ts). Default 3.
   */
  readonly crashLoopExits?: number;
  readonly now?: () => number;
}

export class ReleaseEngine {
  private readonly o: Required<
    Omit<EngineOptions, 'logger' | 'onChange' | 'runtime' | 'traffic' | 'proxiesApplied'>
  > &
    Pick<EngineOptions, 'logger' | 'onChange' | 'runtime' | 'traffic' | 'proxiesApplied'>;
  /** The store version at which each draining instance left routing. */
  private readonly drainedAt = new Map<string, number>();
  /** Per ticket, the error its last tick failed with (logged once while it stays the same). */
  private readonly ticketErrors = new Map<number, string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly ticks = new Rerun(
    () => this.tick(),
    () => this.stopped,
  );
  private stopped = false;
  private leader = false;
  /** Stops in progress, so a slow stop is not started twice. */
  private readonly stopping = new Set<string>();

  constructor(options: EngineOptions) {
    this.o = {
      host: 'local',
      tickMs: 250,
      leaseTtlMs: 5000,
      drainMs: 2000,
      drainDeadlineMs: 30_000,
      stopDeadlineMs: 10_000,
      hostLostGraceMs: 30_000,
      crashLoopExits: CRASH_LOOP_EXITS,
      holder: `engine-${randomUUID()}`,
      now: () => Date.now(),
      ...options,
    };
    const exits = this.o.crashLoopExits;
    if (!Number.isInteger(exits) || exits < 1)
      throw new TurnoutError(
        'invalid_argument',
        `crashLoopExits must be a whole number of at least 1, not ${exits}`,
        'crashLoopExits',
      );
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** The runtime when it places instances across the fleet's hosts, else null. */
  private get fleet(): FleetRuntime | null {
    return this.o.runtime instanceof FleetRuntime ? this.o.runtime : null;
  }

  /**
   * Whether the runtime runs the instances recorded on `host`: this control plane's own host, and
   * with a fleet runtime every host an agent registered (reclaim and recovery cover them all).
   */
  private manages(observed: Observed): (host: string) => boolean {
    const fleet = new Set(this.fleet === null ? [] : observed.hosts.map((h) => h.name));
    return (host) => host === this.o.host || fleet.has(host);
  }

  /** Lost and draining hosts (host-failure.ts): replacements elsewhere, then the old ones out. */
  private async hostFailure(observed: Observed, now: number): Promise<boolean> {
    if (this.fleet === null || observed.hosts.length === 0) return false;
    const keep = keptVersions(observed.products, observed.lanes, observed.tickets);
    const steps = hostSteps(observed.hosts, observed.instances, now, {
      graceMs: this.o.hostLostGraceMs,
      keep,
    });
    const ops = this.hostOps(this.fleet, observed);
    let wrote = false;
    for (const step of steps) wrote = (await carryOut(ops, step)) || wrote;
    if (wrote) this.o.onChange?.();
    return wrote;
  }

  /** The engine's fenced operations a host-failure step uses (engine-hosts.ts). */
  private hostOps(fleet: FleetRuntime, observed: Observed): HostStepOps {
    return {
      fleet,
      ...(this.o.logger === undefined ? {} : { logger: this.o.logger }),
      spawn: (action) => this.spawn(action, observed),
      move: (i, to) => this.moveInstance(i, to),
      record: (started, old, retire) =>
        this.fenced(async (tx) => {
          await this.register(tx, started);
          const stored = await tx.getInstance(old.id);
          if (!retire || stored === null || stored.state === 'stopped') return false;
          await tx.updateInstance(
            old.id,
            instanceTransition(stored.state, 'stopped'),
            ENGINE_ACTOR,
          );
          return true;
        }),
      drainedNow: async (old) => {
        this.drainedAt.set(old.id, await this.o.store.changeVersion());
      },
    };
  }

  /** Re-registers what the runtime adopted, then ticks every tickMs. */
  async start(): Promise<void> {
    if (this.timer !== null || this.stopped) return;
    // Through kick(), so a stop() meanwhile waits for this tick before it gives the lease up.
    await this.kick();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.kick(), this.o.tickMs);
    this.timer.unref();
  }

  /** Stops ticking (instances keep running) and gives the lease up for another replica. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.ticks.idle();
    if (this.leader) await this.o.store.releaseLease(ENGINE_LEASE, this.o.holder).catch(() => {});
    this.leader = false;
  }

  /** Something changed (a command): tick now. Resolves when that tick (or the running one) ends. */
  kick(): Promise<void> {
    return this.ticks.run();
  }

  private async tick(): Promise<void> {
    try {
      const was = this.leader;
      this.leader = await this.o.store.acquireLease(ENGINE_LEASE, this.o.holder, this.o.leaseTtlMs);
      if (!this.leader) return;
      if (!was)
        this.o.logger?.info(
          { event: 'engine_leader', holder: this.o.holder },
          'release engine leading',
        );
      let observed = await observe(this.o.store);
      if (!was) observed = (await this.recover(observed)) ? await observe(this.o.store) : observed;
      const now = this.o.now();
      let wrote = await this.hostFailure(observed, now);
      if (wrote) observed = await observe(this.o.store);
      for (const view of ticketViews(observed, now, this.o.traffic)) {
        wrote = (await this.advanceOne(view, observed)) || wrote;
      }
      if (wrote) observed = await observe(this.o.store);
      await this.reclaim(observed, now);
      if (this.fleet !== null) await this.fleet.sweepStopped();
    } catch (error) {
      if (error instanceof LostLease) {
        this.leader = false;
        this.o.logger?.warn(
          { event: 'engine_lease_lost', holder: this.o.holder },
          'release engine lost its lease mid-tick; its decision is not written',
        );
        return;
      }
      this.o.logger?.error(
        { event: 'engine_tick_failed', err: error },
        'release engine tick failed',
      );
    }
  }

  /**
   * A transaction that writes only while this replica still holds the lease, renewed first in the
   * same transaction. A replica paused past its TTL (GC, a slow disk or start) would otherwise
   * write a decision taken before another replica took over — events twice, progress set back.
   * The renewal holds the lease row until commit, so a rival's acquire waits for it.
   */
  private fenced<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.o.store.transaction(async (tx) => {
      if (!(await tx.acquireLease(ENGINE_LEASE, this.o.holder, this.o.leaseTtlMs))) {
        throw new LostLease();
      }
      return fn(tx);
    });
  }

  /**
   * The view with the runtime's health of the ticket's instances that are live but not ready, on
   * hosts it manages: what a failed deploy names, and how a crash loop is seen (crash-loop.ts).
   */
  private async withHealth(view: TicketView, observed: Observed): Promise<TicketView> {
    const runtime = this.o.runtime;
    if (runtime === null || view.ticket.state === 'failed') return view;
    const manages = this.manages(observed);
    const of = new Map<string, InstanceHealth>();
    for (const i of view.instances) {
      if (!isLive(i) || isReady(i, view.now) || !manages(i.host)) continue;
      const health = await runtime.health(i.id).catch(() => null);
      if (health !== null) of.set(i.id, health);
    }
    return { ...view, health: { of, crashLoopExits: this.o.crashLoopExits } };
  }

  /**
   * advance(), with one ticket's failure kept to that ticket: the others still move (a canary
   * whose lane the store refused once stalled every product's releases until it was aborted). Its
   * error is logged when it first occurs and when it changes, not on every tick. A lost lease
   * still ends the tick.
   */
  private async advanceOne(view: TicketView, observed: Observed): Promise<boolean> {
    const id = view.ticket.id;
    try {
      const wrote = await this.advance(await this.withHealth(view, observed), observed);
      this.ticketErrors.delete(id);
      return wrote;
    } catch (error) {
      if (error instanceof LostLease) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      if (this.ticketErrors.get(id) !== reason)
        this.o.logger?.error(
          { event: 'ticket_tick_failed', ticket: id, err: error },
          `ticket ${id}: the engine could not move it (${reason}); other tickets move on`,
        );
      this.ticketErrors.set(id, reason);
      return true; // it may have written part of its move: observe again
    }
  }

  /**
   * One ticket: start what it needs, then write its decision — the started instances' records
   * with it — in one transaction. So a crash leaves either both or a process and no record, which
   * recover() registers with the ticket's `instance.start` on the next lead: never a record
   * without its event (the event was lost so) nor a second start.
   */
  private async advance(view: TicketView, observed: Observed): Promise<boolean> {
    const decision = reconcile(view);
    if (decision.actions.length === 0 && decision.patch === null && decision.events.length === 0) {
      return false;
    }
    // The decision's starts run together (the plan's surge bounds them). On a fleet each start
    // waits until its host reports the instance running, its artifact download included: one after
    // the other, a release would take the sum of its hosts' starts, and the fleet's download
    // throttle (--max-concurrent-downloads) would never see two hosts at once.
    const starts = decision.actions.filter((a): a is StartAction => a.kind === 'start');
    const spawned = await Promise.all(starts.map((action) => this.spawn(action, observed)));
    const started = spawned.flatMap((r) => (r.failure === undefined ? [r.ok] : []));
    const failed = spawned.find((r) => r.failure !== undefined);
    if (failed?.failure !== undefined) {
      await this.failTicket(view, failed.failure, started);
      return true;
    }
    await this.commit(view, decision, started);
    return true;
  }

  private async commit(view: TicketView, decision: Decision, started: Started[]): Promise<void> {
    const id = view.ticket.id;
    const written = await this.fenced(async (tx) => {
      if (!(await this.unchangedSince(tx, view, started))) return false;
      for (const s of started) await this.register(tx, s);
      for (const action of decision.actions) await applyStoreAction(tx, action, view);
      if (decision.patch !== null) await tx.updateTicket(id, decision.patch, ENGINE_ACTOR);
      for (const e of decision.events) {
        await tx.appendTicketEvent(id, { type: e.type, data: e.data as never }, ENGINE_ACTOR);
      }
      return true;
    });
    this.o.onChange?.();
    if (!written) return;
    for (const e of decision.events) {
      this.o.logger?.info(
        { event: `ticket_${e.type}`, ticket: id, ...e.data },
        `ticket ${id}: ${e.type}`,
      );
    }
  }

  /**
   * Whether the ticket is as observed, read under the writer lock. A command recorded since (an
   * abort, an amend) makes the decision stale: writing it would undo the command — a promotion
   * after an accepted abort. Then only the instances already started are registered, with their
   * `instance.start`, and the next tick (the command kicked it) decides again.
   */
  private async unchangedSince(tx: StoreTx, view: TicketView, started: Started[]) {
    const now = await tx.getTicketForUpdate(view.ticket.id, ENGINE_ACTOR);
    if (now !== null && intentOf(now) === intentOf(view.ticket)) return true;
    for (const s of started) {
      await this.register(tx, s);
      await tx.appendTicketEvent(view.ticket.id, startEvent(s), ENGINE_ACTOR);
    }
    this.o.logger?.info(
      { event: 'engine_decision_stale', ticket: view.ticket.id },
      `ticket ${view.ticket.id} changed since it was observed; deciding again`,
    );
    return false;
  }

  /** A start failed: the ticket fails (decide.ts, startFailed), the started ones recorded. */
  private async failTicket(view: TicketView, message: string, started: Started[]): Promise<void> {
    await this.commit(view, startFailed(view, started, message), started);
    this.o.logger?.warn(
      { event: 'ticket_deploy_failed', ticket: view.ticket.id, reason: message },
      message,
    );
  }

  /** Spawns (or finds) the process; where it runs, or why it did not start. */
  private async spawn(
    action: StartAction,
    observed: Observed,
  ): Promise<{ ok: Started; failure?: undefined } | { failure: string }> {
    const runtime = this.o.runtime;
    if (runtime === null)
      return { failure: `no runtime on this control plane can start ${action.id}` };
    const spec = await this.specOf(action, observed);
    if (typeof spec === 'string') return { failure: spec };
    try {
      const { address, host } = await runtime.start(spec);
      return { ok: { ...action, address, ...(host === undefined ? {} : { host }) } };
    } catch (error) {
      return {
        failure: `${action.module}@${action.version} did not start: ${(error as Error).message}`,
      };
    }
  }

  /** Spawns (or finds) the process, then registers it: `starting` until health checks pass. */
  private async startInstance(action: StartAction, observed: Observed): Promise<string | null> {
    const spawned = await this.spawn(action, observed);
    if (spawned.failure !== undefined) return spawned.failure;
    await this.fenced((tx) => this.register(tx, spawned.ok));
    this.o.onChange?.();
    return null;
  }

  /** The version's process spec: its module's with the version's overrides. */
  private async specOf(action: StartAction, observed: Observed): Promise<InstanceSpec | string> {
    const module = observed.modules.find((m) => m.name === action.module);
    const version = await this.o.store.getVersion(action.module, action.version);
    if (module === undefined || version === null) {
      return `${action.module}@${action.version} does not exist`;
    }
    const run = processRunOf(module.run, version.run);
    if (run === null) {
      return `${action.module} runs on Kubernetes, which this control plane does not drive`;
    }
    return { id: action.id, module: action.module, version: action.version, run };
  }

  /**
   * Records the instance as `starting` (health checks, or in a fleet its agent's reports, make it
   * ready), in `tx`. A fleet instance's lease is its host's (the agent's heartbeat renews both),
   * so a host that stops heartbeating takes its endpoints out of routing when its lease runs out.
   */
  private async register(tx: StoreTx, s: Started): Promise<void> {
    const { id, module, version, address } = s;
    const host = s.host ?? this.o.host;
    let before = await tx.getInstance(id);
    if (before !== null && before.host !== host) {
      // A stopped instance's id reused on another host: the record starts afresh there.
      await tx.deleteInstance(id, ENGINE_ACTOR);
      before = null;
    }
    const moved = instanceTransition(before?.state ?? null, 'starting');
    const leaseExpiresAt =
      s.host === undefined ? undefined : ((await tx.getHost(s.host))?.leaseExpiresAt ?? null);
    const lease = leaseExpiresAt === undefined ? {} : { leaseExpiresAt };
    const reported = s.host === undefined ? {} : await reportedHealth(tx, id);
    if (before === null) {
      await tx.createInstance(
        { id, module, version, host, address, ...moved, ...lease },
        ENGINE_ACTOR,
      );
      // Created `starting`; the agent's verdict (if any) is one more step, as its report makes it.
      if (reported.health !== undefined) await tx.updateInstance(id, reported, ENGINE_ACTOR);
    } else {
      await tx.updateInstance(
        id,
        { address, ...moved, ...lease, health: 'unknown', ...reported },
        ENGINE_ACTOR,
      );
    }
  }

  /**
   * Moves an instance to `to` (state-machine.ts), fenced by the lease like every write. Skipped
   * when the stored instance is no longer as observed: the next tick decides again.
   */
  private async moveInstance(i: Instance, to: Instance['state']): Promise<boolean> {
    return this.fenced(async (tx) => {
      const stored = await tx.getInstance(i.id);
      if (stored === null || stored.state !== i.state) return false;
      await tx.updateInstance(i.id, instanceTransition(stored.state, to), ENGINE_ACTOR);
      return true;
    });
  }

  /** On taking the lead: registers, restarts or stops what the runtime and the store disagree on. */
  private async recover(observed: Observed): Promise<boolean> {
    const runtime = this.o.runtime;
    if (runtime === null) return false;
    const active = ticketViews(observed, this.o.now(), null).map((v) => v.ticket);
    if (this.fleet !== null) await this.fleet.refresh();
    const steps = recovery(runtime.list(), observed.instances, active, this.manages(observed));
    for (const step of steps) await this.recoverOne(step, observed);
    if (steps.length > 0) this.o.onChange?.();
    return steps.length > 0;
  }

  private async recoverOne(step: RecoveryStep, observed: Observed): Promise<void> {
    switch (step.kind) {
      case 'register':
        return this.fenced(async (tx) => {
          await this.register(tx, step.instance);
          if (step.ticket !== null) {
            const e = startEvent(step.instance);
            await tx.appendTicketEvent(
              step.ticket,
              { type: e.type, data: { ...e.data, recovered: true } },
              ENGINE_ACTOR,
            );
          }
        });
      case 'stopped': {
        const i = observed.instances.find((x) => x.id === step.id);
        if (i !== undefined) await this.moveInstance(i, 'stopped');
        return;
      }
      case 'restart': {
        const failure = await this.startInstance(step.start, observed);
        if (failure !== null)
          this.o.logger?.warn(
            { event: 'instance_restart_failed', instance: step.start.id, reason: failure },
            failure,
          );
        return;
      }
    }
  }

  /** Drains what no product needs, then stops what has drained for drainMs. */
  private async reclaim(observed: Observed, now: number): Promise<void> {
    const runtime = this.o.runtime;
    if (runtime === null) return;
    const manages = this.manages(observed);
    const mine = observed.instances.filter((i) => manages(i.host));
    const keep = keptVersions(observed.products, observed.lanes, observed.tickets);
    const drain: Instance[] = [];
    for (const i of toReclaim(mine, keep)) {
      if (!(await this.moveInstance(i, 'draining'))) continue;
      drain.push(i);
      this.o.logger?.info(
        { event: 'instance_draining', instance: i.id },
        `reclaim: draining ${i.id}`,
      );
    }
    if (drain.length > 0) {
      this.o.onChange?.();
      const version = await this.o.store.changeVersion();
      for (const i of drain) this.drainedAt.set(i.id, version);
    }
    for (const i of mine) {
      if (i.state !== 'draining' || this.stopping.has(i.id)) continue;
      if (!(await this.drained(i, now))) continue;
      this.stopping.add(i.id);
      void this.stopInstance(runtime, i).finally(() => {
        this.stopping.delete(i.id);
        this.drainedAt.delete(i.id);
      });
    }
  }

  /** Out of routing long enough (decide.ts, drainStep): confirmed by every proxy if they confirm. */
  private async drained(i: Instance, now: number): Promise<boolean> {
    const step = drainStep(i, now, {
      drainMs: this.o.drainMs,
      drainDeadlineMs: this.o.drainDeadlineMs,
      confirms: this.o.proxiesApplied !== undefined,
    });
    if (step !== 'confirm') return step === 'stop';
    let version = this.drainedAt.get(i.id);
    if (version === undefined) {
      // Draining since before this replica led: the current version is a safe upper bound.
      version = await this.o.store.changeVersion();
      this.drainedAt.set(i.id, version);
    }
    return this.o.proxiesApplied?.(version) ?? true;
  }

  private async stopInstance(runtime: Runtime, i: Instance): Promise<void> {
    try {
      await runtime.stop(i.id, { deadlineMs: this.o.stopDeadlineMs });
      await this.moveInstance(i, 'stopped');
      this.o.logger?.info(
        { event: 'instance_stopped', instance: i.id },
        `reclaim: stopped ${i.id}`,
      );
      this.o.onChange?.();
    } catch (error) {
      if (error instanceof LostLease) {
        this.o.logger?.warn(
          { event: 'engine_lease_lost', holder: this.o.holder, instance: i.id },
          'release engine lost its lease: the stopped instance is recorded by the next leader',
        );
        return;
      }
      this.o.logger?.error(
        { event: 'instance_stop_failed', instance: i.id, err: error },
        'stop failed',
      );
    }
  }
}

/** What a command can change on a ticket, as one comparable string. */
function intentOf(t: Ticket): string {
  return JSON.stringify([t.state, t.goal, t.items, t.plan, t.progress]);
}

/** Another replica holds the engine's lease now: the transaction is rolled back. */
class LostLease extends Error {
  constructor() {
    super(`the ${ENGINE_LEASE} lease is held by another replica`);
  }
}

async function applyStoreAction(
  tx: Parameters<Parameters<Store['transaction']>[0]>[0],
  action: Action,
  view: TicketView,
): Promise<void> {
  switch (action.kind) {
    case 'start':
      return; // done through the runtime before the transaction
    case 'drain': {
      // As reclaim drains: the snapshot stops routing to it, reclaim stops it once drained.
      const i = await tx.getInstance(action.id);
      if (i !== null && (i.state === 'starting' || i.state === 'ready'))
        await tx.updateInstance(action.id, { state: 'draining' }, ENGINE_ACTOR);
      return;
    }
    case 'putLane':
      if ((await tx.getLane(action.lane.product, action.lane.name)) === null) {
        await tx.createLane(action.lane, ENGINE_ACTOR);
      } else {
        await tx.updateLane(action.lane, ENGINE_ACTOR);
      }
      return;
    case 'deleteLane':
      if ((await tx.getLane(action.product, action.name)) !== null) {
        await tx.deleteLane(action.product, action.name, ENGINE_ACTOR);
      }
      return;
    case 'setStable': {
      // Read inside the transaction: another ticket of this tick may have just promoted.
      const p = (await tx.getProduct(action.product)) ?? view.product;
      const { createdAt: _c, updatedAt: _u, ...input } = p;
      await tx.updateProduct(
        { ...input, baseDtab: withStable(p.baseDtab, action.items) },
        ENGINE_ACTOR,
      );
      return;
    }
  }
}

/**
 * The health an agent already reported for a fleet instance, as the report route would have
 * written it: the agent reports each verdict once, and one sent before the engine recorded the
 * instance found no row to change (issue 13: on a busy host a fast probe wins that race, and the
 * instance stayed `starting` for ever, failing the deploy).
 */
async function reportedHealth(tx: StoreTx, id: string): Promise<InstancePatch> {
  const health = (await tx.getAssignment(id))?.status.health;
  if (health === 'healthy') return { health: 'healthy', state: 'ready' };
  if (health === 'unhealthy') return { health: 'unhealthy' };
  return {};
}
