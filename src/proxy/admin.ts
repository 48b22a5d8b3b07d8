// The admin listener (127.0.0.1 by default): readiness, Prometheus metrics, the configuration in
// force, and a route explainer over HTTP. It never serves traffic.

import type { Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { CompiledSnapshot } from '../config/compile.js';
import { explain } from '../routing/explain.js';
import { parsePath, showDentry, versionNamer } from '../routing/index.js';

/** A prom-client registry, or the aggregate of a cluster's workers (cluster-stats.ts). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
  getMetricsAsJSON(): Promise<unknown[]>;
  /** Extra fields for `/stats` (a cluster's workers). */
  statsExtra?(): Record<string, unknown>;
}

export interface AdminDeps {
  current(): CompiledSnapshot | null;
  readonly metrics: MetricsSource;
  readonly startedAt: number;
  configOrigin(): string;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function explainRoute(
  compiled: CompiledSnapshot,
  params: URLSearchParams,
): { status: number; body: unknown } {
  const product = params.get('product') ?? '';
  const lane = params.get('lane');
  const name = params.get('name') ?? '';
  const dtab = compiled.router.dtabFor(product, lane);
  if (dtab === null)
    return {
      status: 404,
      body: { error: { code: 'unknown_product', message: `unknown product ${product}` } },
    };
  let path: readonly string[];
  try {
    path = parsePath(name);
  } catch (error) {
    return {
      status: 400,
      body: { error: { code: 'dtab_syntax', field: 'name', message: (error as Error).message } },
    };
  }
  const e = explain(dtab, path, { namers: [versionNamer(compiled.endpoints)] });
  return {
    status: 200,
    body: {
      product,
      lane,
      name,
      dtab: dtab.map(showDentry),
      explanation: e.tree,
      result: e.result.state,
    },
  };
}

export function createAdminServer(deps: AdminDeps): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const compiled = deps.current();
    switch (url.pathname) {
      case '/ready':
        return json(res, compiled === null ? 503 : 200, {
          ready: compiled !== null,
          version: compiled?.version ?? null,
        });
      case '/metrics':
        deps.metrics.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': deps.metrics.contentType });
            res.end(text);
          },
          () => json(res, 500, { error: { code: 'internal', message: 'metrics failed' } }),
        );
        return;
      case '/stats':
        // The control plane pulls this (JSON of the same series as /metrics) for canary analysis.
        deps.metrics.getMetricsAsJSON().then(
          (metrics) =>
            json(res, 200, {
              version: compiled?.version ?? null,
              metrics,
              ...deps.metrics.statsExtra?.(),
            }),
          () => json(res, 500, { error: { code: 'internal', message: 'stats failed' } }),
        );
        return;
      case '/config':
        return json(res, compiled === null ? 503 : 200, {
          version: compiled?.version ?? null,
          origin: deps.configOrigin(),
          uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
          products:
            compiled?.snapshot.products.map((p) => ({
              name: p.name,
              hosts: p.hosts,
              lanes: p.lanes.map((l) => l.name),
            })) ?? [],
        });
      case '/explain': {
        if (compiled === null)
          return json(res, 503, {
            error: { code: 'no_endpoints', message: 'no configuration yet' },
          });
        const r = explainRoute(compiled, url.searchParams);
        return json(res, r.status, r.body);
      }
      default:
        return json(res, 404, {
          error: { code: 'not_found', message: `no admin endpoint ${url.pathname}` },
        });
    }
  });
}
