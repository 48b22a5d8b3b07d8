// Wakes the agents' assignment streams when the store changes. Assignments are not in the routing
// snapshot, so the snapshot publisher does not wake for them; one poll of the change counter here
// serves every open stream (and runs only while one waits), and `notify()` checks at once after a
// write through the API. Level-triggered: a stream waits for "a version beyond the one I read",
// so a change between its read and its wait is never missed.

import type { StoreReads } from '../store/store.js';

/** One poll of the change counter: cheap, and fast enough for an agent to start a process. */
export const CHANGE_POLL_MS = 50;

interface Waiter {
  readonly beyond: number;
  readonly wake: () => void;
}

export class ChangeWatch {
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | null = null;
  private latest = -1;
  private checking: Promise<void> | null = null;
  #stopped = false;

  constructor(
    private readonly store: Pick<StoreReads, 'changeVersion'>,
    private readonly pollMs = CHANGE_POLL_MS,
  ) {}

  /**
   * Resolves once the store's change counter is beyond `version` (or the watch stops); `cancel`
   * resolves it at once (the stream closed).
   */
  beyond(version: number): { done: Promise<void>; cancel: () => void } {
    let waiter: Waiter | undefined;
    const done = new Promise<void>((resolve) => {
      waiter = { beyond: version, wake: resolve };
    });
    const w = waiter as Waiter;
    if (this.#stopped || this.latest > version) w.wake();
    else {
      this.waiters.add(w);
      this.timer ??= setInterval(() => void this.notify(), this.pollMs);
      this.timer.unref();
    }
    const cancel = () => {
      this.waiters.delete(w);
      w.wake();
      this.idle();
    };
    return { done, cancel };
  }

  /** True once stopped: a waiter then returns at once, so a stream must end rather than loop. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** The store may have changed: check now (joins a check under way). */
  notify(): Promise<void> {
    if (this.waiters.size === 0) return Promise.resolve();
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  stop(): void {
    this.#stopped = true;
    for (const w of this.waiters) w.wake();
    this.waiters.clear();
    this.idle();
  }

  private async check(): Promise<void> {
    try {
      this.latest = Math.max(this.latest, await this.store.changeVersion());
    } catch {
      return; // the store is unreachable for now: the next poll tries again
    }
    for (const w of [...this.waiters]) {
      if (this.latest <= w.beyond) continue;
      this.waiters.delete(w);
      w.wake();
    }
    this.idle();
  }

  private idle(): void {
    if (this.waiters.size > 0 || this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}
