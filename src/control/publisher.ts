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
//
// Compiles are incremental (SnapshotCompiler): only the modules and products whose rows changed are
// validated and serialised again, and on a store change only the rows the store's change feed
// names are read (readStoreChanges; every row at the first compile, after a gap in the feed, and
// when leases matter: see `compile`). Every publish also keeps the delta from the snapshot before it
// (src/config/delta.ts) in a bounded ring of recent deltas (`deltaHistory` entries, at most
// DELTA_RING_BYTES in all), so a stream client that holds a recent snapshot gets only what changed
// since (`deltaChain`). A delta no smaller than the full snapshot is not kept: it breaks the chain
// and such clients get the full snapshot.

import type { Logger } from 'pino';
import { diffSnapshots } from '../config/delta.js';
import type { Snapshot } from '../config/snapshot.js';
import { Rerun } from '../rerun.js';
import { listAll } from '../store/cursor.js';
import type { Store, StoreReads } from '../store/store.js';
import type { CompileResult, SnapshotCompileError, StoreState } from './compile-snapshot.js';
import { SnapshotCompiler } from './compile-snapshot.js';
import { readStoreChanges } from './store-changes.js';

/** Recent deltas kept for resuming clients, by default. */
export const DELTA_HISTORY = 256;
/** The most bytes of deltas the ring holds, whatever their number. */
export const DELTA_RING_BYTES = 8 * 1024 * 1024;

/** A published snapshot's name on the delta stream: `<version>.<revision>`. */
export function snapshotTag(s: { readonly version: number; readonly revision: number }): string {
  return `${s.version}.${s.revision}`;
}

export interface PublishedSnapshot {
  /** The snapshot's `version` (the store's change counter when it was read). */
  readonly version: number;
  /** 0 for the first compile at this version; +1 for each republish after a lease expiry. */
  readonly revision: number;
  /** One-line JSON, ready for an SSE `data:` line. */
  readonly json: string;
  /** A sequence number over all publishes of this publisher (for subscribers' bookkeeping). */
  readonly seq: number;
  /** `<version>.<revision>`: what a delta names as its base and its result. */
  readonly tag: string;
  /** The snapshot itself (parts shared with the next compile: do not mutate). */
  readonly snapshot: Snapshot;
}

interface RingEntry {
  readonly tag: string;
  /** JSON of the delta from the entry before; null: none kept (first, or not smaller than full). */
  readonly delta: string | null;
}

/** A pino logger, or Fastify's (`app.log`). */
export type PublisherLogger = Pick<Logger, 'error' | 'debug'>;

export interface PublisherOptions {
  readonly pollIntervalMs?: number;
  readonly logger?: PublisherLogger;
  /** The clock for lease expiry; tests move it. */
  readonly now?: () => Date;
  /** How many recent deltas to keep for resuming clients (default DELTA_HISTORY; 0: none). */
  readonly deltaHistory?: number;
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
  private readonly compiler = new SnapshotCompiler();
  private readonly deltaHistory: number;
  private ring: RingEntry[] = [];
  private ringBytes = 0;
  /** How the compiles read the store: every row, or the change feed's rows (tests, the bench). */
  readonly reads = { full: 0, changes: 0 };

  constructor(store: Store, options: PublisherOptions = {}) {
    this.store = store;
    this.pollIntervalMs = options.pollIntervalMs ?? 15;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
    this.deltaHistory = options.deltaHistory ?? DELTA_HISTORY;
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

  /**
   * The deltas (JSON and the tag each leads to, oldest first) that turn the snapshot tagged `from` into the current one: []
   * when `from` is current; null when `from` is unknown, has left the ring, a link is missing, or
   * the deltas together are no smaller than the full snapshot (send that instead).
   */
  deltaChain(from: string): { readonly to: string; readonly json: string }[] | null {
    const cur = this.currentSnapshot;
    if (cur === null) return null;
    if (from === cur.tag) return [];
    const start = this.ring.findIndex((e) => e.tag === from);
    if (start < 0) return null;
    const chain: { to: string; json: string }[] = [];
    let bytes = 0;
    for (const e of this.ring.slice(start + 1)) {
      if (e.delta === null) return null;
      bytes += e.delta.length;
      if (bytes >= cur.json.length) return null;
      chain.push({ to: e.tag, json: e.delta });
    }
    return chain;
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
    // One clock for the decision and the compile: see `compile`.
    const now = this.now();
    const nowMs = now.getTime();
    const leaseDue = this.nextLeaseExpiryMs !== null && nowMs >= this.nextLeaseExpiryMs;
    const renewed = this.renewed;
    this.renewed = false;
    if (version === this.compiledVersion && !leaseDue && !renewed) return;
    const { result, changeVersion } = await this.compile(now, leaseDue || renewed);
    this.compiledVersion = changeVersion;
    if (!result.ok) {
      this.error = result.error;
      this.nextLeaseExpiryMs = null;
      this.expiredLeases = 0;
      this.logger?.error(
        {
          event: 'snapshot_compile_failed',
          version: changeVersion,
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
    const tag = snapshotTag({ version: result.snapshot.version, revision });
    this.currentSnapshot = {
      version: result.snapshot.version,
      revision,
      json: result.json,
      seq: ++this.seq,
      tag,
      snapshot: result.snapshot,
    };
    this.remember(cur, this.currentSnapshot);
    this.logger?.debug({ event: 'snapshot_published', version: result.snapshot.version, revision });
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Reads what changed since the last compile from the store's change feed and patches, or reads
   * every row. Every row is read the first time, when the feed has a gap, and whenever leases
   * matter: heartbeats renew leases without a store change, so the rows the compiler holds may
   * carry older expiries than the store's. That is harmless while every lease it holds is still
   * in the future (an older expiry that has not passed routes the same); once one has passed
   * (`leaseDue`), or instances are out for an expired lease (`expiredLeases`, which a heartbeat
   * on another replica may have renewed), only a full read is exact.
   */
  private async compile(
    now: Date,
    leasesMatter: boolean,
  ): Promise<{ result: CompileResult; changeVersion: number }> {
    const since = this.compiler.version();
    if (since !== null && !leasesMatter && this.expiredLeases === 0) {
      const changes = await readStoreChanges(this.store, since);
      if (changes !== null) {
        this.reads.changes++;
        return {
          result: this.compiler.compileChanges(changes, now),
          changeVersion: changes.changeVersion,
        };
      }
    }
    this.reads.full++;
    const state = await readStoreState(this.store);
    return { result: this.compiler.compile(state, now), changeVersion: state.changeVersion };
  }

  /** Appends the delta prev → next to the ring, dropping the oldest beyond its bounds. */
  private remember(prev: PublishedSnapshot | null, next: PublishedSnapshot): void {
    if (this.deltaHistory <= 0) return;
    let delta: string | null = null;
    if (prev !== null) {
      delta = JSON.stringify(diffSnapshots(prev.snapshot, next.snapshot, prev.tag, next.tag));
      if (delta.length >= next.json.length) delta = null;
    }
    this.ring.push({ tag: next.tag, delta });
    this.ringBytes += delta?.length ?? 0;
    while (this.ring.length > this.deltaHistory + 1 || this.ringBytes > DELTA_RING_BYTES) {
      const old = this.ring.shift()!;
      // The first entry's delta leads to it from one no longer kept: it is never used again.
      this.ringBytes -= old.delta?.length ?? 0;
    }
  }
}
