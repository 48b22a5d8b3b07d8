// Compiles a validated snapshot into what routing needs per request: parsed dtabs in a router,
// lane rules compiled once, products by host, and ready endpoints by (module, version).

import type { CompiledLaneRules } from '../routing/assign.js';
import { compileLaneRules } from '../routing/assign.js';
import type { EndpointLookup } from '../routing/namers.js';
import { parseDtab } from '../routing/parser.js';
import type { Router } from '../routing/router.js';
import { createRouter } from '../routing/router.js';
import type { Snapshot } from './snapshot.js';

export interface CompiledProduct {
  readonly name: string;
  readonly entry: string;
  readonly hosts: readonly string[];
  readonly rules: CompiledLaneRules;
}

export interface CompiledSnapshot {
  readonly version: number;
  readonly snapshot: Snapshot;
  readonly router: Router;
  readonly products: ReadonlyMap<string, CompiledProduct>;
  readonly productByHost: ReadonlyMap<string, string>;
  readonly endpoints: EndpointLookup;
}

/**
 * Whether the proxy sends an endpoint new requests: ready (starting ones are not yet healthy,
 * draining ones take no new work) with a weight. Half of takesTraffic (src/store/endpoint.ts).
 */
export function routable(e: { readonly state: string; readonly weight: number }): boolean {
  return e.state === 'ready' && e.weight > 0;
}

/** Only routable endpoints are balanced over. */
function readyEndpoints(snapshot: Snapshot): EndpointLookup {
  const map = new Map<string, Map<string, readonly string[]>>();
  for (const m of snapshot.modules) {
    const versions = new Map<string, readonly string[]>();
    for (const v of m.versions) {
      versions.set(
        v.version,
        v.endpoints.filter(routable).map((e) => e.address),
      );
    }
    map.set(m.name, versions);
  }
  return (module, version) => map.get(module)?.get(version);
}

export function compileSnapshot(snapshot: Snapshot): CompiledSnapshot {
  const endpoints = readyEndpoints(snapshot);
  const router = createRouter({
    endpoints,
    products: snapshot.products.map((p) => ({
      name: p.name,
      baseDtab: parseDtab(p.dtab),
      lanes: new Map(p.lanes.map((l) => [l.name, parseDtab(l.overlay)])),
    })),
  });
  const products = new Map<string, CompiledProduct>();
  const productByHost = new Map<string, string>();
  for (const p of snapshot.products) {
    products.set(p.name, {
      name: p.name,
      entry: p.entry,
      hosts: p.hosts,
      rules: compileLaneRules(p.rules),
    });
    for (const h of p.hosts) productByHost.set(h, p.name);
  }
  return { version: snapshot.version, snapshot, router, products, productByHost, endpoints };
}
