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

/** The series an attempt of this request on `address` counts in. */
export function seriesFor(
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
