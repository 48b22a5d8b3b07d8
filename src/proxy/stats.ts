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
  /** A WebSocket tunnel was established (its handshake counts as a request, 1xx). */
  tunnelOpened(labels: RequestLabels): void;
  tunnelClosed(labels: RequestLabels): void;
  /** A connection closed on accept because its listener was at its connection cap. */
  connectionRefused(listener: string): void;
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

  const tunnels = new Gauge({
    name: 'turnout_websocket_tunnels_open',
    help: 'WebSocket tunnels currently open, by product, lane, module and version',
    labelNames: ['product', 'lane', 'module', 'version'],
    registers: [registry],
  });
  const refused = new Counter({
    name: 'turnout_connections_refused_total',
    help: 'Client connections closed on accept because the listener was at its connection cap',
    labelNames: ['listener'],
    registers: [registry],
  });
  const tunnelLabels = (l: RequestLabels) => ({
    product: l.product,
    lane: l.lane,
    module: l.module,
    version: l.version,
  });

  /** prom-client hashes label objects on every call; children are cached per label set instead. */
  interface Children {
    readonly inflight: ReturnType<typeof inflight.labels>;
    readonly latency: ReturnType<typeof latency.labels>;
    readonly byClass: Map<string, ReturnType<typeof requests.labels>>;
    readonly labels: RequestLabels;
  }
  const children = new Map<string, Children>();
  const MAX_CHILDREN = 50_000; // label sets are bounded by config; this only guards a runaway

  function childrenOf(l: RequestLabels): Children {
    const key = `${l.product}\n${l.lane}\n${l.module}\n${l.version}\n${l.endpoint}`;
    let c = children.get(key);
    if (c === undefined) {
      if (children.size >= MAX_CHILDREN) children.clear();
      c = {
        inflight: inflight.labels(l.product, l.lane, l.module, l.version, l.endpoint),
        latency: latency.labels(l.product, l.lane, l.module, l.version),
        byClass: new Map(),
        labels: l,
      };
      children.set(key, c);
    }
    return c;
  }

  return {
    registry,
    started: (l) => childrenOf(l).inflight.inc(),
    finished(l, status, seconds) {
      const c = childrenOf(l);
      c.inflight.dec();
      c.latency.observe(seconds);
      const cls = statusClass(status);
      let counter = c.byClass.get(cls);
      if (counter === undefined) {
        counter = requests.labels(l.product, l.lane, l.module, l.version, l.endpoint, cls);
        c.byClass.set(cls, counter);
      }
      counter.inc();
    },
    rejected: (code, listener) => proxyErrors.inc({ code, listener }),
    configApplied: (version) => configVersion.set(version),
    tunnelOpened: (l) => tunnels.inc(tunnelLabels(l)),
    tunnelClosed: (l) => tunnels.dec(tunnelLabels(l)),
    connectionRefused: (listener) => refused.inc({ listener }),
  };
}
