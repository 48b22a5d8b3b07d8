// One proxy's traffic counters as the control plane reads them: the JSON of the proxy admin's
// `/stats` (prom-client's getMetricsAsJSON, see src/proxy/stats.ts) reduced to cumulative
// per-(product, lane, module, version) counts. Stable traffic carries the proxy's lane label
// `stable`; traffic bound to something other than a version (`/$/inet/…`) has module and version ''.

import { z } from 'zod';
import type { TrafficKey } from './stats-window.js';

/** The lane label the proxy gives traffic outside any lane (src/proxy/handler.ts). */
export const STABLE_LANE = 'stable';

export interface KeySample {
  readonly key: TrafficKey;
  /** Requests finished since the proxy started, every status class. */
  readonly requests: number;
  /** Of those: 5xx answers and connection errors (class `error`). */
  readonly errors: number;
  /** The latency histogram, cumulative: [upper bound in ms (last: Infinity), count ≤ bound]. */
  readonly buckets: readonly (readonly [number, number])[];
}

/** A cumulative sample from one proxy: every key it has counted since it started. */
export interface ProxySample {
  readonly keys: readonly KeySample[];
  /** The routing snapshot version the proxy has applied, or null when it reports none. */
  readonly configVersion: number | null;
  /** Requests this proxy has under way to each endpoint address (those with any). */
  readonly inFlight?: readonly (readonly [string, number])[];
}

export const REQUESTS_METRIC = 'turnout_requests_total';
export const LATENCY_METRIC = 'turnout_request_duration_seconds';
export const CONFIG_VERSION_METRIC = 'turnout_config_version';
export const IN_FLIGHT_METRIC = 'turnout_requests_in_flight';

const statsSchema = z.looseObject({
  metrics: z.array(
    z.looseObject({
      name: z.string(),
      values: z.array(
        z.looseObject({
          value: z.number(),
          metricName: z.string().optional(),
          labels: z.record(z.string(), z.union([z.string(), z.number()])),
        }),
      ),
    }),
  ),
});

export function keyId(k: TrafficKey): string {
  return `${k.product}\n${k.lane}\n${k.module}\n${k.version}`;
}

function keyOf(labels: Record<string, string | number>): TrafficKey {
  const s = (name: string) => String(labels[name] ?? '');
  return { product: s('product'), lane: s('lane'), module: s('module'), version: s('version') };
}

interface Building {
  key: TrafficKey;
  requests: number;
  errors: number;
  buckets: Map<number, number>;
}

/** Parses `/stats` JSON; throws an Error naming the problem when it is not that shape. */
export function parseProxySample(json: unknown): ProxySample {
  const parsed = statsSchema.safeParse(json);
  if (!parsed.success) throw new Error(`not a proxy /stats document: ${parsed.error.message}`);
  const byKey = new Map<string, Building>();
  const entry = (labels: Record<string, string | number>): Building => {
    const key = keyOf(labels);
    const id = keyId(key);
    let b = byKey.get(id);
    if (b === undefined) {
      b = { key, requests: 0, errors: 0, buckets: new Map() };
      byKey.set(id, b);
    }
    return b;
  };
  for (const metric of parsed.data.metrics) {
    if (metric.name === REQUESTS_METRIC) {
      for (const v of metric.values) {
        const b = entry(v.labels);
        b.requests += v.value;
        const cls = String(v.labels.class ?? '');
        if (cls === '5xx' || cls === 'error') b.errors += v.value;
      }
    } else if (metric.name === LATENCY_METRIC) {
      for (const v of metric.values) {
        if (v.metricName !== `${LATENCY_METRIC}_bucket`) continue;
        const le = v.labels.le;
        const leMs = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le) * 1000;
        if (Number.isNaN(leMs)) continue;
        const b = entry(v.labels);
        b.buckets.set(leMs, (b.buckets.get(leMs) ?? 0) + v.value);
      }
    }
  }
  const config = parsed.data.metrics.find((m) => m.name === CONFIG_VERSION_METRIC)?.values[0];
  const inFlight = new Map<string, number>();
  for (const v of parsed.data.metrics.find((m) => m.name === IN_FLIGHT_METRIC)?.values ?? []) {
    const endpoint = String(v.labels.endpoint ?? '');
    if (endpoint !== '' && v.value > 0)
      inFlight.set(endpoint, (inFlight.get(endpoint) ?? 0) + v.value);
  }
  return {
    configVersion: config === undefined ? null : config.value,
    inFlight: [...inFlight],
    keys: [...byKey.values()].map((b) => ({
      key: b.key,
      requests: b.requests,
      errors: b.errors,
      buckets: [...b.buckets].sort((x, y) => x[0] - y[0]),
    })),
  };
}
