// Live traffic per (product, lane, module, version) over the last minute, for canary analysis and
// the dashboard. Pure: samples and times come in as arguments.
//
// Proxies report cumulative counters (since each started). The window keeps, per proxy, the last
// sample as a baseline, and stores per-`bucketMs` deltas per key: requests, errors, and latency
// histogram counts per bucket bound. Rules:
// - A proxy's first sample is only a baseline (its history before we looked is not "this second").
// - A key that appears in a later sample counted from zero (it is new traffic).
// - A counter reset — any count lower than before, or a key gone (prom-client never drops a
//   series) — means the proxy restarted: the sample's counts are all new since then.
// - A delta lands in the bucket of the sample's time; buckets older than `windowMs` are dropped.
// - Percentiles interpolate linearly inside the histogram bucket holding the rank (as Prometheus'
//   histogram_quantile); a rank in the +Inf bucket answers the highest finite bound.

import type { KeySample, ProxySample } from './stats-sample.js';
import { keyId } from './stats-sample.js';

export type { ProxySample } from './stats-sample.js';

export interface TrafficKey {
  product: string;
  lane: string;
  module: string;
  version: string;
}

export interface TrafficSummary {
  requests: number;
  errors: number;
  /** 0..1, 0 when no requests. */
  errorRate: number;
  rps: number;
  /** Interpolated from histogram buckets; null with no requests. */
  p50Ms: number | null;
  p99Ms: number | null;
}

interface Delta {
  requests: number;
  errors: number;
  /** Non-cumulative: requests whose latency fell in (previous bound, bound]. */
  hist: Map<number, number>;
}

interface Series {
  readonly key: TrafficKey;
  /** By bucket index (floor(atMs / bucketMs)). */
  readonly buckets: Map<number, Delta>;
}

const emptyDelta = (): Delta => ({ requests: 0, errors: 0, hist: new Map() });

/** `current - previous` for one key, or null when a count went down (a reset). */
function deltaOf(current: KeySample, previous: KeySample | undefined): Delta | null {
  const prevRequests = previous?.requests ?? 0;
  const prevErrors = previous?.errors ?? 0;
  if (current.requests < prevRequests || current.errors < prevErrors) return null;
  const prevBuckets = new Map(previous?.buckets ?? []);
  const hist = new Map<number, number>();
  let below = 0;
  for (const [le, cumulative] of current.buckets) {
    const d = cumulative - (prevBuckets.get(le) ?? 0);
    if (d < 0) return null;
    hist.set(le, Math.max(0, d - below)); // empty bounds too: +Inf answers the highest finite one
    below = d;
  }
  return { requests: current.requests - prevRequests, errors: current.errors - prevErrors, hist };
}

function matches(key: TrafficKey, filter: Partial<TrafficKey>): boolean {
  return (
    (filter.product === undefined || filter.product === key.product) &&
    (filter.lane === undefined || filter.lane === key.lane) &&
    (filter.module === undefined || filter.module === key.module) &&
    (filter.version === undefined || filter.version === key.version)
  );
}

function add(into: Delta, d: Delta): void {
  into.requests += d.requests;
  into.errors += d.errors;
  for (const [le, n] of d.hist) into.hist.set(le, (into.hist.get(le) ?? 0) + n);
}

/** The q-quantile (0..1) of a non-cumulative histogram, in its bounds' unit; null when empty. */
export function quantile(hist: ReadonlyMap<number, number>, q: number): number | null {
  const bounds = [...hist].sort((a, b) => a[0] - b[0]);
  const total = bounds.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return null;
  const finite = bounds.filter(([le]) => Number.isFinite(le));
  const highestFinite = finite.length === 0 ? 0 : finite[finite.length - 1]![0];
  const rank = q * total;
  let below = 0;
  let lower = 0;
  for (const [le, n] of bounds) {
    if (n > 0 && below + n >= rank) {
      if (!Number.isFinite(le)) return highestFinite;
      return lower + ((le - lower) * (rank - below)) / n;
    }
    below += n;
    lower = le;
  }
  return highestFinite;
}

function summarize(d: Delta, spanMs: number): TrafficSummary {
  return {
    requests: d.requests,
    errors: d.errors,
    errorRate: d.requests === 0 ? 0 : d.errors / d.requests,
    rps: d.requests / (spanMs / 1000),
    p50Ms: d.requests === 0 ? null : quantile(d.hist, 0.5),
    p99Ms: d.requests === 0 ? null : quantile(d.hist, 0.99),
  };
}

export class StatsWindow {
  readonly windowMs: number;
  readonly bucketMs: number;
  private readonly baselines = new Map<string, Map<string, KeySample>>();
  private readonly byKey = new Map<string, Series>();
  /** Each proxy's last sample time: how much time its next sample's deltas cover. */
  private readonly sampledAt = new Map<string, number>();
  /**
   * Per bucket, per proxy: the time (ms) its samples landing in the bucket cover. A bucket no
   * sample landed in is missing (a late scrape), not a second without traffic; one two samples
   * landed in holds two seconds of counts, so its rate divides by the time they cover.
   */
  private readonly coverage = new Map<number, Map<string, number>>();

  constructor(options: { windowMs?: number; bucketMs?: number } = {}) {
    this.bucketMs = options.bucketMs ?? 1000;
    this.windowMs = Math.max(options.windowMs ?? 60_000, this.bucketMs);
  }

  /** A cumulative sample from one proxy (its counters since it started), at time atMs. */
  ingest(proxyId: string, sample: ProxySample, atMs: number): void {
    const current = new Map(sample.keys.map((k) => [keyId(k.key), k]));
    const previous = this.baselines.get(proxyId);
    this.baselines.set(proxyId, current);
    const since = this.sampledAt.get(proxyId);
    this.sampledAt.set(proxyId, atMs);
    this.prune(atMs);
    if (previous === undefined) return;
    this.cover(proxyId, atMs, since);
    let deltas = this.deltas(current, previous);
    if (deltas === null) deltas = this.deltas(current, new Map()) ?? new Map();
    const index = Math.floor(atMs / this.bucketMs);
    for (const [id, d] of deltas) {
      if (d.requests === 0) continue;
      const key = current.get(id)?.key;
      if (key === undefined) continue;
      let s = this.byKey.get(id);
      if (s === undefined) {
        s = { key: { ...key }, buckets: new Map() };
        this.byKey.set(id, s);
      }
      const bucket = s.buckets.get(index) ?? emptyDelta();
      add(bucket, d);
      s.buckets.set(index, bucket);
    }
  }

  /** Forgets a proxy's baseline (it left the targets); its traffic already counted stays. */
  forget(proxyId: string): void {
    this.baselines.delete(proxyId);
    this.sampledAt.delete(proxyId);
  }

  /** Records that `proxyId`'s sample at atMs covers the time since its previous one. */
  private cover(proxyId: string, atMs: number, since: number | undefined): void {
    const index = Math.floor(atMs / this.bucketMs);
    const span = since === undefined ? this.bucketMs : atMs - since;
    const ms = Math.min(Math.max(span, 1), this.windowMs);
    const byProxy = this.coverage.get(index) ?? new Map<string, number>();
    byProxy.set(proxyId, (byProxy.get(proxyId) ?? 0) + ms);
    this.coverage.set(index, byProxy);
  }

  /** The time a bucket's samples cover: the most any one proxy's do (0: no sample landed). */
  private covered(index: number): number {
    let most = 0;
    for (const ms of this.coverage.get(index)?.values() ?? []) most = Math.max(most, ms);
    return most;
  }

  /** Sums over every key matching the filter (absent fields match all), over the last windowMs up to nowMs. */
  summary(filter: Partial<TrafficKey>, windowMs: number, nowMs: number): TrafficSummary {
    const { total, span } = this.sum(filter, windowMs, nowMs);
    return summarize(total, span);
  }

  /**
   * The latency histogram (non-cumulative, [bound ms, requests], ascending, +Inf last) over the
   * same keys and span as summary(): what canary analysis compares between lane and stable.
   */
  histogram(filter: Partial<TrafficKey>, windowMs: number, nowMs: number): Array<[number, number]> {
    return [...this.sum(filter, windowMs, nowMs).total.hist].sort((a, b) => a[0] - b[0]);
  }

  /** Every matching key's deltas added up over the last windowMs (at least a bucket) up to nowMs. */
  private sum(filter: Partial<TrafficKey>, windowMs: number, nowMs: number) {
    const span = Math.min(Math.max(windowMs, this.bucketMs), this.windowMs);
    const last = Math.floor(nowMs / this.bucketMs);
    const first = last - Math.ceil(span / this.bucketMs) + 1;
    const total = emptyDelta();
    for (const s of this.byKey.values()) {
      if (!matches(s.key, filter)) continue;
      for (const [index, d] of s.buckets) if (index >= first && index <= last) add(total, d);
    }
    return { total, span };
  }

  /**
   * Per-bucket points for charts, oldest first, one per bucket of the window (empty ones too).
   * `sampled` is false where no proxy sample landed (missing, not zero); a bucket's rate is over
   * the time its samples cover, so one late and one on-time sample in a bucket is no spike.
   */
  series(
    filter: Partial<TrafficKey>,
    nowMs: number,
  ): Array<{ atMs: number; sampled: boolean } & TrafficSummary> {
    const last = Math.floor(nowMs / this.bucketMs);
    const count = Math.ceil(this.windowMs / this.bucketMs);
    const points = Array.from({ length: count }, emptyDelta);
    for (const s of this.byKey.values()) {
      if (!matches(s.key, filter)) continue;
      for (const [index, d] of s.buckets) {
        const at = index - (last - count + 1);
        if (at >= 0 && at < count) add(points[at]!, d);
      }
    }
    return points.map((d, i) => {
      const index = last - count + 1 + i;
      const covered = this.covered(index);
      return {
        atMs: index * this.bucketMs,
        sampled: covered > 0,
        ...summarize(d, covered > 0 ? covered : this.bucketMs),
      };
    });
  }

  /** Keys with traffic in the window, sorted. */
  keys(): TrafficKey[] {
    return [...this.byKey.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, s]) => ({ ...s.key }));
  }

  /** Per-key deltas, or null when the proxy reset (some count went down or a key vanished). */
  private deltas(
    current: Map<string, KeySample>,
    previous: Map<string, KeySample>,
  ): Map<string, Delta> | null {
    for (const id of previous.keys()) if (!current.has(id)) return null;
    const out = new Map<string, Delta>();
    for (const [id, k] of current) {
      const d = deltaOf(k, previous.get(id));
      if (d === null) return null;
      out.set(id, d);
    }
    return out;
  }

  private prune(nowMs: number): void {
    const oldest = Math.floor(nowMs / this.bucketMs) - Math.ceil(this.windowMs / this.bucketMs) + 1;
    for (const index of this.coverage.keys()) if (index < oldest) this.coverage.delete(index);
    for (const [id, s] of this.byKey) {
      for (const index of s.buckets.keys()) if (index < oldest) s.buckets.delete(index);
      if (s.buckets.size === 0) this.byKey.delete(id);
    }
  }
}
