// The sum of the workers' metrics (src/proxy/cluster-stats.ts), with real prom-client registries
// standing for the workers: counters and histograms summed, the config version not, and an ended
// worker's totals kept so no count ever goes down.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ToWorker } from '../../src/proxy/cluster-messages.js';
import type { MetricJson, StatsWorker } from '../../src/proxy/cluster-stats.js';
import { ClusterMetrics, sumSeries } from '../../src/proxy/cluster-stats.js';

/** A worker's registry with the proxy's series names. */
function workerRegistry(requests: number, inFlight: number, version: number) {
  const registry = new Registry();
  const total = new Counter({
    name: 'turnout_requests_total',
    help: 'h',
    labelNames: ['product', 'class'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'turnout_request_duration_seconds',
    help: 'h',
    labelNames: ['product'],
    buckets: [0.01, 0.1],
    registers: [registry],
  });
  const flight = new Gauge({
    name: 'turnout_requests_in_flight',
    help: 'h',
    labelNames: ['product'],
    registers: [registry],
  });
  const config = new Gauge({ name: 'turnout_config_version', help: 'h', registers: [registry] });
  for (let i = 0; i < requests; i++) {
    total.inc({ product: 'shop', class: '2xx' });
    latency.observe({ product: 'shop' }, 0.005);
  }
  flight.set({ product: 'shop' }, inFlight);
  config.set(version);
  return { registry, total, latency };
}

/** Workers that answer every scrape from their registries, at once. */
function cluster(registries: Map<number, Registry>) {
  let metrics: ClusterMetrics;
  const workers = (): StatsWorker[] =>
    [...registries.entries()].map(([key, registry]) => ({
      key,
      pid: 1000 + key,
      send: (m: ToWorker) => {
        if (m.turnout !== 'stats') return;
        void registry
          .getMetricsAsJSON()
          .then((json) => metrics.received(key, 1000 + key, m.id, json as unknown[]));
      },
    }));
  metrics = new ClusterMetrics(workers);
  return metrics;
}

function sumOf(text: string, series: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === series) sum += Number(m[2]);
  }
  return sum;
}

describe('ClusterMetrics', () => {
  it('sums counters, histograms and in-flight gauges, and takes the lowest config version', async () => {
    const a = workerRegistry(3, 1, 7);
    const b = workerRegistry(4, 2, 6);
    const metrics = cluster(
      new Map([
        [1, a.registry],
        [2, b.registry],
      ]),
    );
    const text = await metrics.metrics();
    expect(sumOf(text, 'turnout_requests_total')).toBe(7);
    expect(sumOf(text, 'turnout_request_duration_seconds_count')).toBe(7);
    expect(text).toContain('turnout_request_duration_seconds_bucket{le="0.01",product="shop"} 7');
    expect(sumOf(text, 'turnout_requests_in_flight')).toBe(3);
    expect(sumOf(text, 'turnout_config_version')).toBe(6);
    expect(metrics.statsExtra()).toEqual({
      workers: [
        { pid: 1001, requests: 3, inFlight: 1, configVersion: 7 },
        { pid: 1002, requests: 4, inFlight: 2, configVersion: 6 },
      ],
    });
  });

  it("keeps an ended worker's counters and histograms, not its gauges", async () => {
    const a = workerRegistry(3, 1, 7);
    const b = workerRegistry(4, 2, 7);
    const live = new Map([
      [1, a.registry],
      [2, b.registry],
    ]);
    const metrics = cluster(live);
    await metrics.metrics(); // each worker's last answer
    live.delete(2);
    metrics.gone(2);
    a.total.inc({ product: 'shop', class: '2xx' });
    const text = await metrics.metrics();
    expect(sumOf(text, 'turnout_requests_total')).toBe(8);
    expect(sumOf(text, 'turnout_request_duration_seconds_count')).toBe(7);
    expect(sumOf(text, 'turnout_requests_in_flight')).toBe(1);
    expect(sumOf(text, 'turnout_config_version')).toBe(7);
    expect(metrics.statsExtra()).toMatchObject({ workers: [{ pid: 1001, requests: 4 }] });

    // A second ended worker folds into the same totals.
    const c = workerRegistry(5, 0, 7);
    live.set(3, c.registry);
    await metrics.metrics();
    live.delete(3);
    metrics.gone(3);
    expect(sumOf(await metrics.metrics(), 'turnout_requests_total')).toBe(13);
  });

  it('answers with no workers at all (every series empty)', async () => {
    expect(await cluster(new Map()).getMetricsAsJSON()).toEqual([]);
  });

  it('stops waiting for a worker that ends during a scrape', async () => {
    const metrics = new ClusterMetrics(() => [
      { key: 1, pid: 1, send: () => {} }, // never answers
    ]);
    const pending = metrics.metrics();
    metrics.gone(1);
    expect(sumOf(await pending, 'turnout_requests_total')).toBe(0);
  });
});

describe('sumSeries', () => {
  it('adds values with the same series name and labels, whatever the label order', () => {
    const one: MetricJson = {
      name: 'x_total',
      type: 'counter',
      values: [{ value: 2, labels: { a: '1', b: '2' } }],
    };
    const two: MetricJson = {
      name: 'x_total',
      type: 'counter',
      values: [
        { value: 3, labels: { b: '2', a: '1' } },
        { value: 5, labels: { a: '9', b: '2' } },
      ],
    };
    expect(sumSeries([[one], [two]])).toEqual([
      {
        name: 'x_total',
        type: 'counter',
        values: [
          { value: 5, labels: { a: '1', b: '2' } },
          { value: 5, labels: { a: '9', b: '2' } },
        ],
      },
    ]);
  });
});
