// The stats scraper: every `intervalMs` it pulls each proxy admin's `/stats` (all targets at once,
// each bounded by `timeoutMs`) and feeds the StatsWindow. A proxy that does not answer is skipped
// and logged once, until it answers again; one that leaves the targets is forgotten. Scrapes never
// overlap: a round still running when the next is due makes that one a no-op.
//
// Agents push their host proxy's `/stats` instead (the control plane never connects into hosts):
// `push(host, json)` feeds the same window and the same applied-version and in-flight bookkeeping,
// keyed by host name. A host whose pushes stop counts no more after 3× the push interval (so a dead
// host does not hold up `allApplied` for ever), and is forgotten at the next round then, or as
// soon as a round finds it down.

import { Agent, request } from 'undici';
import { parseProxySample } from '../release/stats-sample.js';
import type { StatsWindow } from '../release/stats-window.js';
import type { ControlLogger } from './logger.js';

export interface StatsScraperOptions {
  readonly window: StatsWindow;
  /** Admin base URLs of the proxies, e.g. `http://127.0.0.1:9990` (read each round). */
  readonly targets: () => readonly string[];
  /** Default 1000. */
  readonly intervalMs?: number;
  /** Per scrape. Default: the interval, at most 2000. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
  readonly logger?: ControlLogger;
  /** How often agents push their proxy's stats. Default 1000; 3× this without one: stale. */
  readonly pushIntervalMs?: number;
  /** Whether a host that pushes is down (its lease ran out); asked each round. None: never. */
  readonly isHostDown?: (host: string) => Promise<boolean>;
}

/** The bookkeeping key of a pushing host: apart from every scrape target (those are URLs). */
const pushKey = (host: string) => `host:${host}`;

/** How long a proxy that never answered may be unreachable before it is logged as down. */
const STARTUP_GRACE_MS = 10_000;

export class StatsScraper {
  private readonly window: StatsWindow;
  private readonly targets: () => readonly string[];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly logger: ControlLogger | undefined;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 1 });
  private readonly down = new Set<string>();
  private readonly firstSeen = new Map<string, number>();
  private readonly answered = new Set<string>();
  /** Each target's applied snapshot version at its last successful scrape. */
  private readonly versions = new Map<string, number | null>();
  /** Each target's requests under way per endpoint address, at its last successful scrape. */
  private readonly inFlightOf = new Map<string, ReadonlyMap<string, number>>();
  private known = new Set<string>();
  /** When each pushing host's last sample came (this.now()). */
  private readonly pushedAt = new Map<string, number>();
  private readonly pushIntervalMs: number;
  private readonly isHostDown: ((host: string) => Promise<boolean>) | undefined;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;

  constructor(options: StatsScraperOptions) {
    this.window = options.window;
    this.targets = options.targets;
    this.intervalMs = options.intervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? Math.min(this.intervalMs, 2000);
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.pushIntervalMs = options.pushIntervalMs ?? 1000;
    this.isHostDown = options.isHostDown;
  }

  /**
   * A sample an agent pushed for its host's proxy (the proxy admin's `/stats` JSON). Throws an
   * Error naming the problem when it is not that shape; then nothing is recorded.
   */
  push(host: string, json: unknown): void {
    const sample = parseProxySample(json);
    const key = pushKey(host);
    const at = this.now();
    this.window.ingest(key, sample, at);
    this.versions.set(key, sample.configVersion);
    this.inFlightOf.set(key, new Map(sample.inFlight ?? []));
    this.pushedAt.set(host, at);
  }

  /** Drops a pushing host's bookkeeping (it went down); its traffic already counted stays. */
  forgetHost(host: string): void {
    if (!this.pushedAt.delete(host)) return;
    const key = pushKey(host);
    this.window.forget(key);
    this.versions.delete(key);
    this.inFlightOf.delete(key);
  }

  /** Hosts whose last push is recent enough to count: within 3× the push interval. */
  private livePushKeys(): string[] {
    const now = this.now();
    const live: string[] = [];
    for (const [host, at] of this.pushedAt)
      if (now - at <= 3 * this.pushIntervalMs) live.push(pushKey(host));
    return live;
  }

  start(): void {
    if (this.timer !== null || this.stopped !== null) return;
    this.timer = setInterval(() => void this.scrape(), this.intervalMs);
    this.timer.unref();
    void this.scrape();
  }

  /** Stops the timer, waits for a round in progress, closes connections. */
  stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.stopped ??= (async () => {
      await this.running;
      await this.agent.close();
    })();
    return this.stopped;
  }

  /** Scrapes every target now (or joins the round running). */
  scrape(): Promise<void> {
    if (this.stopped !== null) return Promise.resolve();
    if (this.running !== null) return this.running;
    this.running = this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Whether every proxy has applied snapshot `version` or later, as of its last scrape (a proxy
   * that never answered, or that reports no version, has not). True with no proxies at all.
   */
  allApplied(version: number): boolean {
    for (const target of [...this.known, ...this.livePushKeys()]) {
      const v = this.versions.get(target);
      if (v === undefined || v === null || v < version) return false;
    }
    return true;
  }

  /** Requests under way per endpoint address, summed over every proxy's last scrape or push. */
  inFlight(): Map<string, number> {
    const sum = new Map<string, number>();
    const pushed = new Set(this.livePushKeys());
    for (const [target, byAddress] of this.inFlightOf) {
      const scraped = this.known.has(target) && !this.down.has(target);
      if (!scraped && !pushed.has(target)) continue;
      for (const [address, n] of byAddress) sum.set(address, (sum.get(address) ?? 0) + n);
    }
    return sum;
  }

  private async round(): Promise<void> {
    const targets = new Set(this.targets());
    for (const gone of this.known) {
      if (targets.has(gone)) continue;
      this.window.forget(gone);
      this.versions.delete(gone);
      this.inFlightOf.delete(gone);
      this.down.delete(gone);
    }
    this.known = targets;
    await Promise.all([...targets].map((t) => this.scrapeOne(t)));
    await this.prunePushes();
  }

  /** Forgets the pushing hosts that stopped pushing or are down. */
  private async prunePushes(): Promise<void> {
    const live = new Set(this.livePushKeys());
    for (const host of [...this.pushedAt.keys()]) {
      const down = live.has(pushKey(host))
        ? await this.isHostDown?.(host).catch(() => false)
        : true;
      if (down === true) this.forgetHost(host);
    }
  }

  private async scrapeOne(base: string): Promise<void> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      const res = await request(`${base.replace(/\/+$/, '')}/stats`, {
        dispatcher: this.agent,
        signal: abort.signal,
      });
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => {});
        throw new Error(`/stats answered ${res.statusCode}`);
      }
      const sample = parseProxySample(await res.body.json());
      this.window.ingest(base, sample, this.now());
      this.versions.set(base, sample.configVersion);
      this.inFlightOf.set(base, new Map(sample.inFlight ?? []));
      this.answered.add(base);
      if (this.down.delete(base))
        this.logger?.info({ event: 'proxy_stats_back', proxy: base }, 'proxy stats answer again');
    } catch (error) {
      if (this.down.has(base)) return;
      // A proxy started just after the control plane refuses connections at first: not down yet.
      const first = this.firstSeen.get(base) ?? this.now();
      this.firstSeen.set(base, first);
      const refused = (error as { code?: string }).code === 'ECONNREFUSED';
      if (refused && !this.answered.has(base) && this.now() - first < STARTUP_GRACE_MS) return;
      this.down.add(base);
      const reason = abort.signal.aborted ? 'timeout' : (error as Error).message;
      this.logger?.warn(
        { event: 'proxy_stats_unreachable', proxy: base, reason },
        'cannot read proxy stats; skipping it until it answers',
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
