// Stage 6, record: per (product, lane, module, version, endpoint) request counts by status class,
// latency histograms and in-flight gauges, in a prom-client registry the admin listener exposes.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface RequestLabels {
  readonly product: string;
  readonly lane: string;
  readonly module: string;
  readonly version: string;
  readonly endpoint: string;
}

export interface ProxyStats {
  readonly registry: Registry;
  started(labels: RequestLabels): void;
  finished(labels: RequestLabels, status: number, seconds: number): void;
  /** A request answered by the proxy itself (no upstream): counted by error code. */
  rejected(code: string, listener: string): void;
  configApplied(version: number): void;
}

function statusClass(status: number): string {
  return status === 0 ? 'error' : `${Math.floor(status / 100)}xx`;
}

export function createProxyStats(): ProxyStats {
  const registry = new Registry();
  const labelNames = ['product', 'lane', 'module', 'version', 'endpoint'] as const;
  const requests = new Counter({
    name: 'turnout_requests_total',
    help: 'Requests forwarded, by product, lane, module, version, endpoint and status class',
    labelNames: [...labelNames, 'class'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'turnout_request_duration_seconds',
    help: 'Time from receiving a request to the end of its response',
    labelNames: ['product', 'lane', 'module', 'version'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const inflight = new Gauge({
    name: 'turnout_requests_in_flight',
    help: 'Requests currently forwarded and not yet finished',
    labelNames: [...labelNames],
    registers: [registry],
  });
  const proxyErrors = new Counter({
    name: 'turnout_proxy_errors_total',
    help: 'Requests the proxy answered itself, by error code and listener',
    labelNames: ['code', 'listener'],
    registers: [registry],
  });
  const configVersion = new Gauge({
    name: 'turnout_config_version',
    help: 'Version of the routing snapshot in force',
    registers: [registry],
  });

  return {
    registry,
    started: (l) => inflight.inc(l as unknown as Record<string, string>),
    finished(l, status, seconds) {
      const labels = l as unknown as Record<string, string>;
      inflight.dec(labels);
      requests.inc({ ...labels, class: statusClass(status) });
      latency.observe(
        { product: l.product, lane: l.lane, module: l.module, version: l.version },
        seconds,
      );
    },
    rejected: (code, listener) => proxyErrors.inc({ code, listener }),
    configApplied: (version) => configVersion.set(version),
  };
}
