// The artifact collector: like reclaim for instances, it deletes artifacts no version names any
// more, once they are older than a grace (default 1 h, so an artifact pushed a moment before its
// version is created is never taken). It runs on a timer, on the leader only when replicas share a
// store, and audits each deletion as actor `artifact-gc`. The deletions happen inside a store
// transaction holding the writer lock (lockArtifactReferences): a version being created waits for
// it, then finds the artifact gone and is refused, rather than naming bytes that were just deleted.

import type { Store } from '../store/store.js';
import type { ArtifactMeta, ArtifactStore } from './artifact-store.js';

export const ARTIFACT_GC_ACTOR = 'artifact-gc';
export const DEFAULT_ARTIFACT_GRACE_MS = 60 * 60 * 1000;
const DEFAULT_INTERVAL_MS = 60 * 1000;

type Logger = { error(o: object, msg: string): void; info(o: object, msg: string): void };

export interface ArtifactCollectorOptions {
  readonly store: Store;
  readonly artifacts: ArtifactStore;
  /** How old an unnamed artifact must be before it goes. Default 1 h. */
  readonly graceMs?: number;
  /** Default 60 s. */
  readonly intervalMs?: number;
  /** The clock (ms since the epoch); tests move it. */
  readonly now?: () => number;
  /** Whether this replica leads (holds the release engine's lease). Default: always. */
  readonly leading?: () => boolean;
  readonly logger?: Logger;
}

/** Those of `all` that no reference names and that are at least `graceMs` old at `nowMs`. */
export function collectable(
  all: readonly ArtifactMeta[],
  named: ReadonlySet<string>,
  nowMs: number,
  graceMs: number,
): ArtifactMeta[] {
  return all.filter((a) => !named.has(a.sha256) && nowMs - Date.parse(a.createdAt) >= graceMs);
}

export class ArtifactCollector {
  readonly #o: ArtifactCollectorOptions;
  readonly #graceMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<string[]> | null = null;

  constructor(options: ArtifactCollectorOptions) {
    this.#o = options;
    this.#graceMs = options.graceMs ?? DEFAULT_ARTIFACT_GRACE_MS;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.collect(), this.#o.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a collection in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One collection now (or the one running); answers the sha256s it deleted. */
  collect(): Promise<string[]> {
    if (this.#running !== null) return this.#running;
    this.#running = this.#collectOnce()
      .catch((error: unknown) => {
        this.#o.logger?.error(
          { event: 'artifact_gc_failed', reason: (error as Error).message },
          'artifact collection failed; retrying at the next interval',
        );
        return [];
      })
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async #collectOnce(): Promise<string[]> {
    if (!(this.#o.leading?.() ?? true)) return [];
    const nowMs = (this.#o.now ?? Date.now)();
    const { store, artifacts } = this.#o;
    // Outside the lock first: most runs find nothing old enough and take no lock at all.
    const old = collectable(await artifacts.list(), new Set(), nowMs, this.#graceMs);
    if (old.length === 0) return [];
    const deleted = await store.transaction(async (tx) => {
      const refs = await tx.lockArtifactReferences(ARTIFACT_GC_ACTOR);
      const named = new Set(refs.map((r) => r.sha256));
      const gone: string[] = [];
      for (const a of collectable(old, named, nowMs, this.#graceMs)) {
        if (!(await artifacts.delete(a.sha256))) continue;
        await tx.appendAudit({
          actor: ARTIFACT_GC_ACTOR,
          action: 'artifact.delete',
          target: `artifact/${a.sha256}`,
          before: { ...a },
          after: null,
        });
        gone.push(a.sha256);
      }
      return gone;
    });
    if (deleted.length > 0)
      this.#o.logger?.info(
        { event: 'artifacts_collected', artifacts: deleted },
        `deleted ${deleted.length} artifact(s) no version names`,
      );
    return deleted;
  }
}
