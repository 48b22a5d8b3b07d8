// The lease sweeper: every `intervalMs` it marks instances whose lease has expired unhealthy in the
// store, and sets hosts whose lease has expired `down` (decisions in lease-sweep.ts), audited as
// actor `registry`. Cheap when nothing happens: it
// re-reads the instance list only when the store changed or a lease it saw is due (heartbeats only
// move leases later, so an unchanged store with no due lease has nothing to sweep). Replicas
// sharing a store sweep on the leader only (`leading`).

import { listAll } from '../store/cursor.js';
import type { Instance } from '../store/model.js';
import type { Store } from '../store/store.js';
import { updateInstanceIfStill } from './instance-update.js';
import type { HostLeaseView } from './lease-sweep.js';
import {
  expiredLeases,
  hostLost,
  nextExpiryMs,
  nextHostExpiryMs,
  sweepPatch,
} from './lease-sweep.js';
import type { ControlLogger } from './logger.js';

export const REGISTRY_ACTOR = 'registry';

export interface LeaseSweeperOptions {
  readonly store: Store;
  /** Default 1000. */
  readonly intervalMs?: number;
  /** The clock (ms since the epoch); tests move it. */
  readonly now?: () => number;
  readonly logger?: ControlLogger;
  /** Called after each instance the sweep changed (e.g. to wake the snapshot publisher). */
  readonly onChange?: (instance: Instance) => void;
  /** Called after each host the sweep set down (e.g. to kick the release engine). */
  readonly onHostDown?: (host: string) => void;
  /**
   * Whether this replica leads (holds the release engine's lease): replicas sharing a store sweep
   * on the leader only, so one registry writes. Default: always (a single control plane).
   */
  readonly leading?: () => boolean;
}

export class LeaseSweeper {
  private readonly store: Store;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly logger: ControlLogger | undefined;
  private readonly onChange: ((instance: Instance) => void) | undefined;
  private readonly onHostDown: ((host: string) => void) | undefined;
  private readonly leading: () => boolean;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<string[]> | null = null;
  private seenVersion: number | null = null;
  private dueMs: number | null = null;

  constructor(options: LeaseSweeperOptions) {
    this.store = options.store;
    this.intervalMs = options.intervalMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.onChange = options.onChange;
    this.onHostDown = options.onHostDown;
    this.leading = options.leading ?? (() => true);
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
    void this.sweep();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep now (or the one running); answers the ids it marked unhealthy. */
  sweep(): Promise<string[]> {
    if (this.running !== null) return this.running;
    this.running = this.sweepOnce()
      .catch((error: unknown) => {
        this.logger?.error(
          { event: 'lease_sweep_failed', reason: (error as Error).message },
          'lease sweep failed; retrying at the next interval',
        );
        return [];
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async sweepOnce(): Promise<string[]> {
    if (!this.leading()) {
      // Read everything afresh when leadership comes (the leader swept meanwhile).
      this.seenVersion = null;
      return [];
    }
    const version = await this.store.changeVersion();
    const nowMs = this.now();
    const due = this.dueMs !== null && nowMs >= this.dueMs;
    if (version === this.seenVersion && !due) return [];
    const [instances, hosts] = await Promise.all([
      listAll((p) => this.store.listInstances(p)),
      listAll((p) => this.store.listHosts(p)),
    ]);
    this.seenVersion = version;
    this.dueMs = earliest(nextExpiryMs(instances, nowMs), nextHostExpiryMs(hosts, nowMs));
    const marked: string[] = [];
    for (const host of hosts.filter((h) => hostLost(h, nowMs))) await this.hostDown(host, nowMs);
    for (const id of expiredLeases(instances, nowMs)) {
      const r = await updateInstanceIfStill(
        this.store,
        id,
        (fresh) => sweepPatch(fresh, this.now()),
        REGISTRY_ACTOR,
      );
      if (r === null || !r.changed) {
        // Renewed since the list was read: look again next time, with its new lease.
        this.dueMs = nowMs;
        continue;
      }
      marked.push(id);
      this.logger?.info(
        { event: 'lease_expired', instance: id, leaseExpiresAt: r.instance.leaseExpiresAt },
        'instance lease expired; marked unhealthy',
      );
      this.onChange?.(r.instance);
    }
    return marked;
  }

  /** Sets a host whose lease ran out `down`, if it is still so under the writer lock. */
  private async hostDown(seen: HostLeaseView, nowMs: number): Promise<void> {
    const down = await this.store.transaction(async (tx) => {
      const fresh = await tx.getHost(seen.name);
      if (fresh === null || !hostLost(fresh, this.now())) return false;
      await tx.setHostState(seen.name, 'down', REGISTRY_ACTOR);
      return true;
    });
    if (!down) {
      // Renewed since the list was read: look again next time, with its new lease.
      this.dueMs = nowMs;
      return;
    }
    this.logger?.info(
      { event: 'host_lost', host: seen.name, leaseExpiresAt: seen.leaseExpiresAt },
      `host ${seen.name} lease expired; marked down`,
    );
    this.onHostDown?.(seen.name);
  }
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}
