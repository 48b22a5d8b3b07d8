// The one metrics view of `turnout proxy --workers N`: the primary asks every worker for its
// prom-client metrics (as JSON) at scrape time and sums them with prom-client's
// AggregatorRegistry, so /metrics and /stats count every request exactly once whichever worker
// served it.
//
// Totals never go down: the control plane reads a lower count as a proxy restart
// (src/release/stats-window.ts) and would count everything again. So when a worker ends, the
// counters and histograms of its last answer are kept in the totals (requests it served after
// that answer are lost with it); its gauges (requests in flight, open tunnels) ended with it.

import type { Registry } from 'prom-client';
import { AggregatorRegistry, register } from 'prom-client';
import type { MetricsSource } from './admin.js';
import type { ToWorker } from './cluster-messages.js';

/** One metric of prom-client's getMetricsAsJSON. */
export interface MetricJson {
  readonly name: string;
  readonly type: string;
  readonly aggregator?: string;
  readonly values: readonly {
    readonly value: number;
    readonly labels: Readonly<Record<string, string | number>>;
    readonly metricName?: string;
  }[];
}

/** Gauges whose sum across workers means nothing, and how they are combined instead. */
const AGGREGATORS: Readonly<Record<string, string>> = {
  // The version every worker has applied (they differ only while a snapshot is on its way).
  turnout_config_version: 'min',
};

/** The workers' metrics summed into one registry (pure apart from prom-client's registry). */
export function aggregateMetrics(perWorker: readonly (readonly MetricJson[])[]): Registry {
  const fixed = perWorker.map((metrics) =>
    metrics.map((m) => {
      const aggregator = AGGREGATORS[m.name];
      return aggregator === undefined ? m : { ...m, aggregator };
    }),
  );
  return AggregatorRegistry.aggregate(fixed);
}

/** What of an ended worker stays in the totals: its cumulative series. */
export function retiredPart(metrics: readonly MetricJson[]): MetricJson[] {
  return metrics.filter((m) => m.type === 'counter' || m.type === 'histogram');
}

type Value = MetricJson['values'][number];

/** Cumulative series summed by name and labels, synchronously (retired workers fold into one). */
export function sumSeries(parts: readonly (readonly MetricJson[])[]): MetricJson[] {
  const byName = new Map<string, { metric: MetricJson; values: Map<string, Value> }>();
  for (const metrics of parts) {
    for (const m of metrics) {
      let entry = byName.get(m.name);
      if (entry === undefined) {
        entry = { metric: m, values: new Map() };
        byName.set(m.name, entry);
      }
      for (const v of m.values) {
        const labels = Object.entries(v.labels).sort(([a], [b]) => (a < b ? -1 : 1));
        const key = JSON.stringify([v.metricName ?? '', labels]);
        const seen = entry.values.get(key);
        entry.values.set(key, seen === undefined ? v : { ...seen, value: seen.value + v.value });
      }
    }
  }
  return [...byName.values()].map(({ metric, values }) => ({
    ...metric,
    values: [...values.values()],
  }));
}

function sumOf(metrics: readonly MetricJson[], name: string): number | null {
  const m = metrics.find((x) => x.name === name);
  return m === undefined ? null : m.values.reduce((sum, v) => sum + v.value, 0);
}

/** A live worker as the metrics view sees it. */
export interface StatsWorker {
  readonly key: number;
  readonly pid: number;
  send(message: ToWorker): void;
}

interface Scrape {
  readonly waiting: Set<number>;
  done(): void;
}

export class ClusterMetrics implements MetricsSource {
  readonly contentType: string = register.contentType;
  private readonly workers: () => readonly StatsWorker[];
  private readonly timeoutMs: number;
  /** Each live worker's last answer. */
  private readonly latest = new Map<number, { pid: number; metrics: MetricJson[] }>();
  /** The cumulative series of every worker that ended, summed. */
  private retired: MetricJson[] = [];
  private readonly scrapes = new Map<number, Scrape>();
  private nextId = 0;

  constructor(workers: () => readonly StatsWorker[], timeoutMs = 5_000) {
    this.workers = workers;
    this.timeoutMs = timeoutMs;
  }

  /** A worker's answer to scrape `id`. */
  received(key: number, pid: number, id: number, metrics: unknown[]): void {
    this.latest.set(key, { pid, metrics: metrics as MetricJson[] });
    this.settle(id, key);
  }

  /** A worker ended: its counters stay in the totals; no scrape waits for it. */
  gone(key: number): void {
    const last = this.latest.get(key);
    if (last !== undefined) this.retired = sumSeries([this.retired, retiredPart(last.metrics)]);
    this.latest.delete(key);
    for (const id of [...this.scrapes.keys()]) this.settle(id, key);
  }

  async metrics(): Promise<string> {
    return (await this.scrape()).metrics();
  }

  async getMetricsAsJSON(): Promise<unknown[]> {
    return (await this.scrape()).getMetricsAsJSON();
  }

  /** `/stats` lists the workers, each with its own request counts and config version. */
  statsExtra(): Record<string, unknown> {
    return {
      workers: [...this.latest.values()].map((w) => ({
        pid: w.pid,
        requests: sumOf(w.metrics, 'turnout_requests_total') ?? 0,
        inFlight: sumOf(w.metrics, 'turnout_requests_in_flight') ?? 0,
        configVersion: sumOf(w.metrics, 'turnout_config_version'),
      })),
    };
  }

  private settle(id: number, key: number): void {
    const scrape = this.scrapes.get(id);
    if (scrape === undefined) return;
    scrape.waiting.delete(key);
    if (scrape.waiting.size === 0) scrape.done();
  }

  /** Asks every live worker; one that does not answer in time counts with its last answer. */
  private async scrape(): Promise<Registry> {
    const id = this.nextId++;
    const live = this.workers();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => scrape.done(), this.timeoutMs);
      const scrape: Scrape = {
        waiting: new Set(live.map((w) => w.key)),
        done: () => {
          clearTimeout(timer);
          this.scrapes.delete(id);
          resolve();
        },
      };
      this.scrapes.set(id, scrape);
      if (live.length === 0) return scrape.done();
      for (const w of live) w.send({ turnout: 'stats', id });
    });
    return aggregateMetrics([this.retired, ...[...this.latest.values()].map((w) => w.metrics)]);
  }
}
