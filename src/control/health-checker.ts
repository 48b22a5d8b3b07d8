// The health checker: probes every instance that is not stopped at
// `http://<address><module.health.path>` every `module.health.intervalMs`, and writes what the
// results call for (transitions in health-transition.ts) to the store as actor `health`, only on a
// change. Whoever needs "instance X is ready" (the release engine) watches the store
// (instance-wait.ts); nothing here has to be asked.
//
// Scale: probes run at most `concurrency` at a time over one undici Agent (keep-alive to each
// instance); each instance's schedule has ±`jitter` spread, and when the checker starts, first
// probes are spread over one interval, so hundreds of instances never fire together. An instance
// registered after the start is probed at once (a deploy waits on it). The instance list is re-read
// only when the store's change counter moved (checked every `refreshMs`). Replicas sharing a store
// probe from the leader only (`leading`): one prober per instance, one writer of its health.
//
// A probe succeeds on a 2xx or 3xx answer within min(intervalMs, maxProbeTimeoutMs); a refused
// connection, a reset, another status or no answer in time is a failure.

import { Agent, request } from 'undici';
import { listAll } from '../store/cursor.js';
import type { Health, Instance } from '../store/model.js';
import type { Store } from '../store/store.js';
import type { ProbeCounters } from './health-transition.js';
import { healthStep, NO_PROBES, patchFor, verdictOf } from './health-transition.js';
import { updateInstanceIfStill } from './instance-update.js';
import type { ControlLogger } from './logger.js';

export const HEALTH_ACTOR = 'health';

export interface HealthCheckerOptions {
  readonly store: Store;
  /** Most probes in flight at once. Default 32. */
  readonly concurrency?: number;
  /** How often to look for registered, changed or removed instances. Default 500. */
  readonly refreshMs?: number;
  /** Scheduling granularity. Default 50. */
  readonly tickMs?: number;
  /** Upper bound of a probe's timeout (which is otherwise the module's interval). Default 2000. */
  readonly maxProbeTimeoutMs?: number;
  /** Spread of each interval, as a fraction (0.1 = ±10 %). Default 0.1. */
  readonly jitter?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly logger?: ControlLogger;
  /** Called after each instance the checker changed in the store. */
  readonly onChange?: (instance: Instance) => void;
  /**
   * Whether this replica leads (holds the release engine's lease): replicas sharing a store probe
   * from the leader only, so instances get one prober and the store one writer of health.
   * Default: always (a single control plane).
   */
  readonly leading?: () => boolean;
  /**
   * Which instances this checker probes, given the names of the hosts agents registered (read with
   * the instances). In a fleet the agent on each host probes its own instances and reports their
   * health, so the control plane never opens connections into hosts. Default: every instance.
   */
  readonly filter?: (instance: Instance, agentHosts: ReadonlySet<string>) => boolean;
}

/** The control plane's filter in a fleet: instances on a host an agent registered are its agent's. */
export const notOnAgentHosts = (i: Instance, agentHosts: ReadonlySet<string>): boolean =>
  !agentHosts.has(i.host);

export interface ProbeResult {
  readonly ok: boolean;
  /** `200`, `503`, `timeout`, or the connection error's code. */
  readonly detail: string;
}

interface Target {
  instance: Instance;
  health: Health;
  counters: ProbeCounters;
  dueMs: number;
  probing: boolean;
}

/** One probe over `agent`; never throws. */
export async function probeOnce(
  agent: Agent,
  url: string,
  timeoutMs: number,
  cancel?: AbortSignal,
): Promise<ProbeResult> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const onCancel = () => abort.abort();
  cancel?.addEventListener('abort', onCancel, { once: true });
  try {
    const res = await request(url, {
      dispatcher: agent,
      signal: abort.signal,
      headers: { 'user-agent': 'turnout-health' },
    });
    await res.body.dump().catch(() => {});
    return { ok: res.statusCode >= 200 && res.statusCode < 400, detail: String(res.statusCode) };
  } catch (error) {
    if (abort.signal.aborted) return { ok: false, detail: 'timeout' };
    const e = error as { code?: string; message?: string };
    return { ok: false, detail: e.code ?? e.message ?? 'error' };
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', onCancel);
  }
}

export class HealthChecker {
  private readonly store: Store;
  private readonly concurrency: number;
  private readonly refreshMs: number;
  private readonly tickMs: number;
  private readonly maxProbeTimeoutMs: number;
  private readonly jitter: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly logger: ControlLogger | undefined;
  private readonly onChange: ((instance: Instance) => void) | undefined;
  private readonly leading: () => boolean;
  private readonly filter: HealthCheckerOptions['filter'];
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 4 });
  private readonly targets = new Map<string, Target>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private seenVersion: number | null = null;
  private lastRefreshMs = -Infinity;
  private refreshing: Promise<void> | null = null;
  private started = false;
  private stopped = false;
  private closed: Promise<void> | null = null;

  constructor(options: HealthCheckerOptions) {
    this.store = options.store;
    this.concurrency = options.concurrency ?? 32;
    this.refreshMs = options.refreshMs ?? 500;
    this.tickMs = options.tickMs ?? 50;
    this.maxProbeTimeoutMs = options.maxProbeTimeoutMs ?? 2000;
    this.jitter = options.jitter ?? 0.1;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.logger = options.logger;
    this.onChange = options.onChange;
    this.leading = options.leading ?? (() => true);
    this.filter = options.filter;
  }

  /** Reads the instances, schedules their first probes, and starts ticking. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.tick();
  }

  /** Stops probing: cancels probes in flight (nothing is written after), closes connections. */
  stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.closed ??= (async () => {
      await Promise.all([...this.inFlight]);
      await this.agent.close();
    })();
    return this.closed;
  }

  /** The consecutive counts for an instance the checker follows (for the dashboard and tests). */
  counters(id: string): ProbeCounters | null {
    return this.targets.get(id)?.counters ?? null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  /**
   * One round now: re-read the instances (if the store changed) and start the probes that are due;
   * resolves when those probes have ended. Nothing happens while another replica leads.
   */
  async checkNow(): Promise<void> {
    if (this.stopped || !this.follow()) return;
    this.lastRefreshMs = -Infinity;
    await this.refresh();
    this.launchDue();
    await Promise.all([...this.inFlight]);
  }

  /** Whether to probe now; a replica that stops leading forgets what it followed. */
  private follow(): boolean {
    if (this.leading()) return true;
    this.targets.clear();
    this.seenVersion = null;
    return false;
  }

  private async tick(): Promise<void> {
    try {
      if (!this.follow()) return;
      if (this.now() - this.lastRefreshMs >= this.refreshMs) await this.refresh();
      this.launchDue();
    } catch (error) {
      this.logger?.error(
        { event: 'health_refresh_failed', reason: (error as Error).message },
        'health checker could not read the instances; retrying',
      );
    } finally {
      this.schedule();
    }
  }

  /** Re-reads instances and modules when the store changed (or joins the read under way). */
  private refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** One read; keeps the counters of instances already known. */
  private async read(): Promise<void> {
    {
      this.lastRefreshMs = this.now();
      const version = await this.store.changeVersion();
      if (version === this.seenVersion) return;
      const [instances, modules, hosts] = await Promise.all([
        listAll((p) => this.store.listInstances(p)),
        listAll((p) => this.store.listModules(p)),
        this.filter === undefined ? [] : listAll((p) => this.store.listHosts(p)),
      ]);
      const agentHosts = new Set(hosts.map((h) => h.name));
      const probed = (i: Instance) => this.filter?.(i, agentHosts) ?? true;
      const healthOf = new Map(modules.map((m) => [m.name, m.health]));
      const firstRead = this.seenVersion === null;
      this.seenVersion = version;
      const nowMs = this.now();
      const live = new Set<string>();
      for (const instance of instances) {
        const health = healthOf.get(instance.module);
        if (instance.state === 'stopped' || health === undefined || !probed(instance)) continue;
        live.add(instance.id);
        const known = this.targets.get(instance.id);
        if (known !== undefined) {
          known.instance = instance;
          known.health = health;
          continue;
        }
        // At start, spread first probes over one interval; later arrivals are probed now.
        const dueMs = firstRead ? nowMs + this.random() * health.intervalMs : nowMs;
        this.targets.set(instance.id, {
          instance,
          health,
          counters: NO_PROBES,
          dueMs,
          probing: false,
        });
      }
      for (const id of this.targets.keys()) if (!live.has(id)) this.targets.delete(id);
    }
  }

  /** Starts due probes, earliest due first, so an overloaded checker still takes turns fairly. */
  private launchDue(): void {
    const nowMs = this.now();
    const due = [...this.targets.values()]
      .filter((t) => !t.probing && t.dueMs <= nowMs)
      .sort((a, b) => a.dueMs - b.dueMs);
    for (const target of due) {
      if (this.inFlight.size >= this.concurrency || this.stopped) return;
      target.probing = true;
      const spread = 1 + this.jitter * (2 * this.random() - 1);
      target.dueMs = nowMs + target.health.intervalMs * spread;
      const run: Promise<void> = this.probe(target)
        .catch((error: unknown) => {
          this.logger?.error(
            {
              event: 'health_write_failed',
              instance: target.instance.id,
              reason: (error as Error).message,
            },
            'could not record an instance health change; will retry on the next probe',
          );
        })
        .finally(() => {
          target.probing = false;
          this.inFlight.delete(run);
        });
      this.inFlight.add(run);
    }
  }

  private async probe(target: Target): Promise<void> {
    const { instance, health } = target;
    const timeoutMs = Math.min(health.intervalMs, this.maxProbeTimeoutMs);
    const url = `http://${instance.address}${health.path}`;
    const result = await probeOnce(this.agent, url, timeoutMs, this.stopping.signal);
    if (this.stopped || this.targets.get(instance.id) !== target) return;
    const step = healthStep(target.counters, result.ok, instance, health, this.now());
    target.counters = step.counters;
    if (!result.ok)
      this.logger?.debug({ event: 'health_probe_failed', instance: instance.id, ...result });
    // The listed record may hold a lease renewed since (renewals do not bump the change counter),
    // so decide ignoring the lease here and let the write path decide on the fresh record.
    const verdict = verdictOf(step.counters, health);
    if (step.patch === null && patchFor(instance, verdict, -Infinity) === null) return;
    const r = await updateInstanceIfStill(
      this.store,
      instance.id,
      (fresh) => patchFor(fresh, verdict, this.now()),
      HEALTH_ACTOR,
    );
    if (r === null) return;
    target.instance = r.instance;
    if (!r.changed) return;
    this.logger?.info(
      {
        event: 'instance_health_changed',
        instance: instance.id,
        health: r.instance.health,
        state: r.instance.state,
        probe: result.detail,
      },
      `instance ${instance.id} is ${r.instance.health}`,
    );
    this.onChange?.(r.instance);
  }
}
