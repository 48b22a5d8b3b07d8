// The proxy's metrics, in a prom-client registry the admin listener exposes (and that a cluster
// can aggregate): per (product, lane, module, version, endpoint) request counts by status class,
// latency histograms, in-flight and tunnel gauges. The request path only adds to plain numbers in
// a series it looked up once; prom-client sees them at scrape time (collect() callbacks and a
// histogram that reads its buckets when asked), so no label object is hashed per request.

import type { MetricValueWithName, Registry } from 'prom-client';
import type { MetricsSource } from './admin.js';

export interface RequestLabels {
  readonly product: string;
  readonly lane: string;
  readonly module: string;
  readonly version: string;
  readonly endpoint: string;
}

/** One label set's numbers; obtained once per label set (`series`), then only added to. */
export interface RequestSeries {
  readonly labels: RequestLabels;
  inflight: number;
  /** Responses by status class: index 0 = no response (error), 1–5 = 1xx–5xx. */
  readonly byClass: Float64Array;
  /** Observations per latency bucket (not cumulative); the last slot is above every bound. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
  tunnels: number;
  tunnelsSeen: boolean;
}

export interface ProxyStats {
  /** The metrics, read at scrape time (prom-client is loaded on the first one). */
  readonly registry: MetricsSource;
  /** The series of one label set (the same object for equal labels): look it up once, keep it. */
  series(labels: RequestLabels): RequestSeries;
  started(series: RequestSeries): void;
  finished(series: RequestSeries, status: number, seconds: number): void;
  /** A request answered by the proxy itself (no upstream): counted by error code. */
  rejected(code: string, listener: string): void;
  configApplied(version: number): void;
  /** A WebSocket tunnel was established (its handshake counts as a request, 1xx). */
  tunnelOpened(series: RequestSeries): void;
  tunnelClosed(series: RequestSeries): void;
  /** A connection closed on accept because its listener was at its connection cap. */
  connectionRefused(listener: string): void;
}

export const LATENCY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const CLASSES = ['error', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function classIndex(status: number): number {
  const c = Math.floor(status / 100);
  return c >= 1 && c <= 5 ? c : 0;
}

function bucketIndex(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
  return i;
}

function newSeries(labels: RequestLabels): RequestSeries {
  return {
    labels,
    inflight: 0,
    byClass: new Float64Array(CLASSES.length),
    buckets: new Float64Array(LATENCY_BUCKETS.length + 1),
    sum: 0,
    count: 0,
    tunnels: 0,
    tunnelsSeen: false,
  };
}

type Labels4 = Omit<RequestLabels, 'endpoint'>;

function withoutEndpoint(l: RequestLabels): Labels4 {
  return { product: l.product, lane: l.lane, module: l.module, version: l.version };
}

/**
 * A prom-client histogram read from the series at scrape time, in prom-client's own output shape
 * (so Registry and AggregatorRegistry treat it as theirs). Series that differ only by endpoint
 * are summed: the histogram has no endpoint label.
 */
class SeriesHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly all: () => Iterable<RequestSeries>,
  ) {}

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    values: unknown[];
    aggregator: string;
  }> {
    const merged = new Map<string, { labels: Labels4; buckets: Float64Array; sum: number }>();
    for (const s of this.all()) {
      if (s.count === 0) continue;
      const l = s.labels;
      const key = `${l.product}\n${l.lane}\n${l.module}\n${l.version}`;
      let m = merged.get(key);
      if (m === undefined) {
        m = { labels: withoutEndpoint(l), buckets: new Float64Array(s.buckets.length), sum: 0 };
        merged.set(key, m);
      }
      for (let i = 0; i < s.buckets.length; i++) m.buckets[i]! += s.buckets[i]!;
      m.sum += s.sum;
    }
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, buckets, sum } of merged.values()) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += buckets[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le },
          value: cumulative,
        });
      });
      cumulative += buckets[LATENCY_BUCKETS.length]!;
      const bucket = `${this.name}_bucket`;
      values.push({ metricName: bucket, labels: { ...labels, le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: cumulative });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }
}

/** What the request path counts; prom-client reads it only when metrics are asked for. */
interface Counts {
  readonly all: Map<string, RequestSeries>;
  /** Requests the proxy answered itself, by `code\nlistener`. */
  readonly errors: Map<string, { readonly code: string; readonly listener: string; n: number }>;
  configVersion: number | null;
  /** Connections refused at the cap, by listener. */
  readonly refused: Map<string, number>;
}

/** prom-client's text exposition format (Registry.PROMETHEUS_CONTENT_TYPE). */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const LABEL_NAMES = ['product', 'lane', 'module', 'version', 'endpoint'] as const;

/** The registry over `counts`, built on the first scrape (prom-client is loaded only then). */
function buildRegistry(prom: typeof import('prom-client'), counts: Counts): Registry {
  const { Counter, Gauge, Registry } = prom;
  const registry = new Registry();
  const all = counts.all;
  new Counter({
    name: 'turnout_requests_total',
    help: 'Requests forwarded, by product, lane, module, version, endpoint and status class',
    labelNames: [...LABEL_NAMES, 'class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of all.values())
        s.byClass.forEach((n, i) => {
          if (n > 0) this.inc({ ...s.labels, class: CLASSES[i]! }, n);
        });
    },
  });
  registry.registerMetric(
    new SeriesHistogram(
      'turnout_request_duration_seconds',
      'Time from receiving a request to the end of its response',
      () => all.values(),
    ) as never,
  );
  new Gauge({
    name: 'turnout_requests_in_flight',
    help: 'Requests currently forwarded and not yet finished',
    labelNames: [...LABEL_NAMES],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of all.values()) this.set({ ...s.labels }, s.inflight);
    },
  });
  new Counter({
    name: 'turnout_proxy_errors_total',
    help: 'Requests the proxy answered itself, by error code and listener',
    labelNames: ['code', 'listener'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of counts.errors.values()) this.inc({ code: e.code, listener: e.listener }, e.n);
    },
  });
  new Gauge({
    name: 'turnout_config_version',
    help: 'Version of the routing snapshot in force',
    registers: [registry],
    collect() {
      if (counts.configVersion !== null) this.set(counts.configVersion);
    },
  });
  new Gauge({
    name: 'turnout_websocket_tunnels_open',
    help: 'WebSocket tunnels currently open, by product, lane, module and version',
    labelNames: ['product', 'lane', 'module', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of all.values())
        if (s.tunnelsSeen) this.inc(withoutEndpoint(s.labels), s.tunnels);
    },
  });
  new Counter({
    name: 'turnout_connections_refused_total',
    help: 'Client connections closed on accept because the listener was at its connection cap',
    labelNames: ['listener'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [listener, n] of counts.refused) this.inc({ listener }, n);
    },
  });
  return registry;
}

/**
 * The metrics as the admin listener and a cluster's primary read them. prom-client (~3 MB of a
 * proxy's memory) is loaded on the first scrape, not at start: a proxy never scraped never has it.
 */
function lazyRegistry(counts: Counts): MetricsSource {
  let built: Promise<Registry> | null = null;
  const registry = () => {
    built ??= import('prom-client').then((prom) => buildRegistry(prom, counts));
    return built;
  };
  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    metrics: () => registry().then((r) => r.metrics()),
    getMetricsAsJSON: () => registry().then((r) => r.getMetricsAsJSON()),
  };
}

export function createProxyStats(): ProxyStats {
  const counts: Counts = {
    all: new Map(),
    errors: new Map(),
    configVersion: null,
    refused: new Map(),
  };
  const all = counts.all;
  return {
    registry: lazyRegistry(counts),
    series(l) {
      // Label sets are bounded by the configuration, as prom-client's own storage was.
      const key = `${l.product}\n${l.lane}\n${l.module}\n${l.version}\n${l.endpoint}`;
      let s = all.get(key);
      if (s === undefined) {
        s = newSeries(l);
        all.set(key, s);
      }
      return s;
    },
    started(s) {
      s.inflight++;
    },
    finished(s, status, seconds) {
      s.inflight--;
      s.byClass[classIndex(status)]! += 1;
      s.buckets[bucketIndex(seconds)]! += 1;
      s.sum += seconds;
      s.count++;
    },
    rejected(code, listener) {
      // Codes come from the closed table in errors.ts and listeners are two: a bounded map.
      const key = `${code}\n${listener}`;
      const e = counts.errors.get(key);
      if (e === undefined) counts.errors.set(key, { code, listener, n: 1 });
      else e.n++;
    },
    configApplied(version) {
      counts.configVersion = version;
    },
    tunnelOpened(s) {
      s.tunnels++;
      s.tunnelsSeen = true;
    },
    tunnelClosed(s) {
      s.tunnels--;
    },
    connectionRefused(listener) {
      counts.refused.set(listener, (counts.refused.get(listener) ?? 0) + 1);
    },
  };
}
