// One watcher per API server for the dashboard's event stream (/v1/events), fanned out to every
// listener: no client ever causes a store query of its own.
//
// - change: the store's change counter moved. The snapshot publisher already watches the counter
//   (and every API write wakes it), so a publish is the prompt signal. A snapshot that does not
//   compile is never published, though, and the dashboard must still see ticket and audit changes
//   then: one read of the counter every `changePollMs` covers that case.
// - traffic: every `trafficIntervalMs`, when the stats window's totals differ from the last look
//   (new samples arrived, or old ones aged out), so charts refetch only when there is something new.
//
// The watcher runs only while someone listens.

import type { SnapshotPublisher, Subscriber } from '../control/publisher.js';
import type { StatsWindow } from '../release/stats-window.js';
import type { Store } from '../store/store.js';

export type FeedEvent =
  | { readonly type: 'change'; readonly version: number }
  | { readonly type: 'traffic'; readonly at: number };

export type FeedListener = (event: FeedEvent) => void;

export interface EventFeedOptions {
  readonly store: Store;
  readonly publisher: SnapshotPublisher;
  /** Live proxy traffic; none: no traffic events. */
  readonly statsWindow?: StatsWindow | null;
  /** Default 1000. */
  readonly trafficIntervalMs?: number;
  /** The fallback read of the change counter. Default 1000. */
  readonly changePollMs?: number;
  readonly now?: () => number;
}

export class EventFeed {
  private readonly o: EventFeedOptions;
  private readonly listeners = new Set<FeedListener>();
  private version: number | null = null;
  private sub: Subscriber | null = null;
  private timers: NodeJS.Timeout[] = [];
  private trafficMark = '';
  private polling = false;

  constructor(options: EventFeedOptions) {
    this.o = options;
  }

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a listener; answers the change counter as it stands now. */
  async listen(listener: FeedListener): Promise<{ version: number; close: () => void }> {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    const close = () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.stop();
    };
    try {
      const version = this.version ?? (await this.o.store.changeVersion());
      this.version = Math.max(this.version ?? version, version);
      return { version: this.version, close };
    } catch (error) {
      close();
      throw error;
    }
  }

  /** Stops watching and forgets every listener. */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private emit(event: FeedEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  private moved(version: number): void {
    if (this.version !== null && version <= this.version) return;
    this.version = version;
    this.emit({ type: 'change', version });
  }

  private start(): void {
    const sub = this.o.publisher.subscribe();
    const cur = this.o.publisher.current();
    if (cur !== null) sub.skip(cur);
    this.sub = sub;
    void this.follow(sub);
    this.timers.push(setInterval(() => void this.poll(), this.o.changePollMs ?? 1000));
    const window = this.o.statsWindow;
    if (window !== null && window !== undefined) {
      this.trafficMark = this.mark(window);
      const every = this.o.trafficIntervalMs ?? 1000;
      this.timers.push(setInterval(() => this.lookAtTraffic(window), every));
    }
    for (const t of this.timers) t.unref();
  }

  private stop(): void {
    this.sub?.close();
    this.sub = null;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // Unwatched, the counter moves unseen: the next first listener reads it afresh.
    this.version = null;
  }

  private async follow(sub: Subscriber): Promise<void> {
    try {
      for (;;) this.moved((await sub.next()).version);
    } catch {
      // closed: no listener left, or the publisher stopped
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const version = await this.o.store.changeVersion();
      if (this.listeners.size > 0) this.moved(version);
    } catch {
      // the store is closing or failing; the publisher logs store failures
    } finally {
      this.polling = false;
    }
  }

  /** What the charts would show, in brief: totals over the window and over the last two buckets. */
  private mark(window: StatsWindow): string {
    const nowMs = (this.o.now ?? Date.now)();
    const all = window.summary({}, window.windowMs, nowMs);
    const recent = window.summary({}, 2 * window.bucketMs, nowMs);
    return `${all.requests}/${all.errors}/${recent.requests}/${recent.errors}`;
  }

  private lookAtTraffic(window: StatsWindow): void {
    const mark = this.mark(window);
    if (mark === this.trafficMark) return;
    this.trafficMark = mark;
    this.emit({ type: 'traffic', at: (this.o.now ?? Date.now)() });
  }
}
