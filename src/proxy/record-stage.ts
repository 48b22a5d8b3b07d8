// Stage 6, record: each attempt's outcome goes to the metrics (its label set's series) and back to
// the balancer (latency, failures, ejection). The series is found once per (bound version, product,
// lane, endpoint) and kept beside the snapshot's own objects, so an attempt builds no label keys.

import type { Bound } from '../routing/index.js';
import { innerMap } from '../routing/inner-map.js';
import { recordOutcome } from './balance-stage.js';
import type { RequestRoute } from './context-stage.js';
import type { AttemptResult } from './forward.js';
import type { ProxyRuntime } from './handler.js';
import type { RequestLabels, RequestSeries } from './stats.js';
import type { Upstream } from './upstreams.js';

export function labelsFor(route: RequestRoute, bound: Bound, address: string): RequestLabels {
  const isVersion = bound.id[0] === 'v' && bound.id.length >= 3;
  return {
    product: route.product,
    lane: route.lane ?? 'stable',
    module: isVersion ? bound.id[1]! : '',
    version: isVersion ? bound.id[2]! : '',
    endpoint: address,
  };
}

/** bound → product → lane ('' for stable) → endpoint → series; dropped with the snapshot. */
type SeriesCache = WeakMap<Bound, Map<string, Map<string, Map<string, RequestSeries>>>>;
const cacheByStats = new WeakMap<object, SeriesCache>();

/** An endpoint's last series and what it was found for (a property of its Upstream, reused). */
interface LastSeries {
  stats: object | null;
  bound: Bound | null;
  product: string;
  lane: string | null;
  series: RequestSeries | null;
}
const LAST = Symbol('turnout.lastSeries');
type RecordedUpstream = Upstream & { [LAST]?: LastSeries };

/**
 * The series an attempt of this request on `up` counts in. Nearly every attempt on an endpoint
 * is for the same bound version, product and lane as the one before it: that is checked first
 * (identity compares), before the five map lookups of the cache. The memo is one object per
 * endpoint, updated in place: traffic of several products alternating costs no allocation.
 */
export function seriesFor(
  rt: ProxyRuntime,
  route: RequestRoute,
  bound: Bound,
  up: Upstream,
): RequestSeries {
  let last = (up as RecordedUpstream)[LAST];
  if (
    last !== undefined &&
    last.bound === bound &&
    last.product === route.product &&
    last.lane === route.lane &&
    last.stats === rt.stats
  )
    return last.series!;
  const series = cachedSeries(rt, route, bound, up.address);
  if (last === undefined) {
    last = { stats: null, bound: null, product: '', lane: null, series: null };
    (up as RecordedUpstream)[LAST] = last;
  }
  last.stats = rt.stats;
  last.bound = bound;
  last.product = route.product;
  last.lane = route.lane;
  last.series = series;
  return series;
}

/** The series for this request on `address`, from the cache (built on first use). */
function cachedSeries(
  rt: ProxyRuntime,
  route: RequestRoute,
  bound: Bound,
  address: string,
): RequestSeries {
  let cache = cacheByStats.get(rt.stats);
  if (cache === undefined) {
    cache = new WeakMap();
    cacheByStats.set(rt.stats, cache);
  }
  let byProduct = cache.get(bound);
  if (byProduct === undefined) {
    byProduct = new Map();
    cache.set(bound, byProduct);
  }
  const byEndpoint = innerMap(innerMap(byProduct, route.product), route.lane ?? '');
  let series = byEndpoint.get(address);
  if (series === undefined) {
    series = rt.stats.series(labelsFor(route, bound, address));
    byEndpoint.set(address, series);
  }
  return series;
}

/** The status an attempt is counted under: 0 when nothing usable came back. */
export function statusOf(r: AttemptResult): number {
  return r.kind === 'responded' ? r.status : r.kind === 'held-503' ? 503 : 0;
}

/** An attempt begins: counted in flight. */
export function recordStart(rt: ProxyRuntime, series: RequestSeries): void {
  rt.stats.started(series);
}

/** An attempt ended: its latency and status to the metrics, its outcome to the balancer. */
export function recordEnd(
  rt: ProxyRuntime,
  series: RequestSeries,
  up: Upstream,
  r: AttemptResult,
  startedAt: number,
  siblings: readonly string[],
  now: number,
): void {
  const elapsed = now - startedAt;
  recordOutcome(rt, up, r, elapsed, siblings, now);
  rt.stats.finished(series, statusOf(r), elapsed / 1000);
}
