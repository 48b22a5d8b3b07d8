// The snapshot publisher: watches the store, recompiles the routing snapshot when it changes and
// hands the newest one to every subscriber.
//
// Watching: `changeVersion()` is polled every `pollIntervalMs` (default 15 ms, one cheap query),
// and `notify()` (called by a writer after a commit) checks at once. A compile also reruns when the
// earliest lease among the endpoints expires, because that changes the endpoint set without a
// store change; the result is republished under the same version (the proxy accepts the same
// version with new content) and counts as a new `revision`.
//
// Fan-out is drop-to-latest: a subscriber pulls with `next()`, which resolves with the newest
// snapshot it has not had yet. A subscriber that is slow (its socket is full) simply pulls later
// and skips every snapshot published meanwhile; nobody waits for it.
//
// Heartbeats renew leases without a store change; `leasesRenewed()` recompiles when the snapshot
// in force left instances out for an expired lease (one of them may be back).
//
// A compile error is logged and remembered (`lastError()`); the snapshot in force stays published.
// The same store version is not recompiled again until the store changes (or a lease expires).

import type { Logger } from 'pino';
import { Rerun } from '../rerun.js';
import { listAll } from '../store/cursor.js';
import type { Store, StoreReads } from '../store/store.js';
import type { SnapshotCompileError, StoreState } from './compile-snapshot.js';
import { compileStoreSnapshot } from './compile-snapshot.js';

export interface PublishedSnapshot {
  /** The snapshot's `version` (the store's change counter when it was read). */
  readonly version: number;
  /** 0 for the first compile at this version; +1 for each republish after a lease expiry. */
  readonly revision: number;
  /** One-line JSON, ready for an SSE `data:` line. */
  readonly json: string;
  /** A sequence number over all publishes of this publisher (for subscribers' bookkeeping). */
  readonly seq: number;
}

/** A pino logger, or Fastify's (`app.log`). */
export type PublisherLogger = Pick<Logger, 'error' | 'debug'>;

export interface PublisherOptions {
  readonly pollIntervalMs?: number;
  readonly logger?: PublisherLogger;
  /** The clock for lease expiry; tests move it. */
  readonly now?: () => Date;
}

export interface Subscriber {
  /** Resolves with the newest snapshot this subscriber has not had (the current one first). */
  next(): Promise<PublishedSnapshot>;
  /** Marks the snapshot as already held, so `next()` waits for a newer one. */
  skip(snapshot: PublishedSnapshot): void;
  close(): void;
}

/** Everything the snapshot is compiled from, read in one transaction so it is consistent. */
export async function readStoreState(store: Store): Promise<StoreState> {
  return store.transaction(async (tx: StoreReads) => {
    const changeVersion = await tx.changeVersion();
    const [products, lanes, modules, versions, instances, hosts] = await Promise.all([
      listAll((p) => tx.listProducts(p)),
      listAll((p) => tx.listLanes(p)),
      listAll((p) => tx.listModules(p)),
      listAll((p) => tx.listVersions(p)),
      listAll((p) => tx.listInstances(p)),
      listAll((p) => tx.listHosts(p)),
    ]);
    return { changeVersion, products, lanes, modules, versions, instances, hosts };
  });
}

export class SnapshotPublisher {
  private readonly store: Store;
  private readonly pollIntervalMs: number;
  private readonly logger: PublisherLogger | undefined;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | null = null;
  private currentSnapshot: PublishedSnapshot | null = null;
  private compiledVersion: number | null = null;
  private nextLeaseExpiryMs: number | null = null;
  private expiredLeases = 0;
  private renewed = false;
  private error: SnapshotCompileError | null = null;
  private readonly checks = new Rerun(
    () => this.checkLogged(),
    () => this.stopped,
  );
  private stopped = false;
  private seq = 0;
  private readonly waiters = new Set<() => void>();

  constructor(store: Store, options: PublisherOptions = {}) {
    this.store = store;
    this.pollIntervalMs = options.pollIntervalMs ?? 15;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
  }

  /** Compiles the first snapshot and starts polling. */
  async start(): Promise<void> {
    if (this.timer !== null || this.stopped) return;
    await this.check();
    this.timer = setInterval(() => this.notify(), this.pollIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** The store may have changed: check now. Returns when that check (or the one running) ends. */
  notify(): Promise<void> {
    return this.check();
  }

  /** Leases were renewed (a heartbeat): recompile if an expired lease kept an instance out. */
  leasesRenewed(): Promise<void> {
    if (this.expiredLeases === 0) return Promise.resolve();
    this.renewed = true;
    return this.check();
  }

  current(): PublishedSnapshot | null {
    return this.currentSnapshot;
  }

  /** The last compile error, cleared by the next successful compile. */
  lastError(): SnapshotCompileError | null {
    return this.error;
  }

  subscribe(): Subscriber {
    let lastSeq = 0;
    let wake: (() => void) | null = null;
    let closed = false;
    const publisher = this;
    return {
      async next(): Promise<PublishedSnapshot> {
        for (;;) {
          if (closed || publisher.stopped) throw new Error('subscription closed');
          const cur = publisher.currentSnapshot;
          if (cur !== null && cur.seq > lastSeq) {
            lastSeq = cur.seq;
            return cur;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            publisher.waiters.add(resolve);
          });
          if (wake !== null) publisher.waiters.delete(wake);
          wake = null;
        }
      },
      skip(snapshot: PublishedSnapshot): void {
        if (snapshot.seq > lastSeq) lastSeq = snapshot.seq;
      },
      close(): void {
        closed = true;
        if (wake !== null) {
          publisher.waiters.delete(wake);
          (wake as () => void)();
        }
      },
    };
  }

  private check(): Promise<void> {
    return this.checks.run();
  }

  private async checkLogged(): Promise<void> {
    try {
      await this.checkOnce();
    } catch (error) {
      this.logger?.error(
        { event: 'snapshot_publish_failed', reason: (error as Error).message },
        'could not read the store for the routing snapshot',
      );
    }
  }

  private async checkOnce(): Promise<void> {
    const version = await this.store.changeVersion();
    const nowMs = this.now().getTime();
    const leaseDue = this.nextLeaseExpiryMs !== null && nowMs >= this.nextLeaseExpiryMs;
    const renewed = this.renewed;
    this.renewed = false;
    if (version === this.compiledVersion && !leaseDue && !renewed) return;
    const state = await readStoreState(this.store);
    const result = compileStoreSnapshot(state, this.now());
    this.compiledVersion = state.changeVersion;
    if (!result.ok) {
      this.error = result.error;
      this.nextLeaseExpiryMs = null;
      this.expiredLeases = 0;
      this.logger?.error(
        {
          event: 'snapshot_compile_failed',
          version: state.changeVersion,
          reason: result.error.message,
        },
        'routing snapshot does not compile; keeping the one in force',
      );
      return;
    }
    this.error = null;
    this.nextLeaseExpiryMs = result.nextLeaseExpiryMs;
    this.expiredLeases = result.expiredLeases;
    const cur = this.currentSnapshot;
    if (cur !== null && cur.json === result.json) return;
    if (cur !== null && result.snapshot.version < cur.version) return; // never go back
    const revision = cur !== null && cur.version === result.snapshot.version ? cur.revision + 1 : 0;
    this.currentSnapshot = {
      version: result.snapshot.version,
      revision,
      json: result.json,
      seq: ++this.seq,
    };
    this.logger?.debug({ event: 'snapshot_published', version: result.snapshot.version, revision });
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}
