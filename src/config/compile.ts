// Compiles a validated snapshot into what routing needs per request: parsed dtabs in a router,
// lane rules compiled once, products by host, and ready endpoints by (module, version).

import type { CompiledLaneRules } from '../routing/assign.js';
import { compileLaneRules } from '../routing/assign.js';
import type { EndpointLookup } from '../routing/namers.js';
import { parseDtab } from '../routing/parser.js';
import type { ProductRouting, Router } from '../routing/router.js';
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

// A snapshot's parts are immutable, and a delta keeps the base's very objects for the parts it did
// not change (src/config/delta.ts), as the control plane's incremental compile does. So what is
// compiled from one part (a product's parsed dtabs and lane rules, a module's routable endpoints)
// is remembered by the part's identity: applying a one-endpoint delta compiles one module, not
// every product's dtab and every module again. Weak maps: a part's entry goes with the part.
type Module = Snapshot['modules'][number];
type Product = Snapshot['products'][number];
const routableOf = new WeakMap<Module, ReadonlyMap<string, readonly string[]>>();
const routingOf = new WeakMap<Product, ProductRouting>();
const rulesOf = new WeakMap<Product, CompiledLaneRules>();

/** `compile(item)` once per item object (throws, remembering nothing, when `compile` does). */
function memo<K extends object, V>(map: WeakMap<K, V>, item: K, compile: (item: K) => V): V {
  let value = map.get(item);
  if (value === undefined) {
    value = compile(item);
    map.set(item, value);
  }
  return value;
}

/** A module's routable endpoint addresses by version. */
function routableEndpoints(m: Module): ReadonlyMap<string, readonly string[]> {
  const versions = new Map<string, readonly string[]>();
  for (const v of m.versions)
    versions.set(
      v.version,
      v.endpoints.filter(routable).map((e) => e.address),
    );
  return versions;
}

/** Only routable endpoints are balanced over. */
function readyEndpoints(snapshot: Snapshot): EndpointLookup {
  const map = new Map<string, ReadonlyMap<string, readonly string[]>>();
  for (const m of snapshot.modules) map.set(m.name, memo(routableOf, m, routableEndpoints));
  return (module, version) => map.get(module)?.get(version);
}

/** A product's parsed dtabs. */
const productRouting = (p: Product): ProductRouting => ({
  name: p.name,
  baseDtab: parseDtab(p.dtab),
  lanes: new Map(p.lanes.map((l) => [l.name, parseDtab(l.overlay)])),
});

export function compileSnapshot(snapshot: Snapshot): CompiledSnapshot {
  const endpoints = readyEndpoints(snapshot);
  const router = createRouter({
    endpoints,
    products: snapshot.products.map((p) => memo(routingOf, p, productRouting)),
  });
  const products = new Map<string, CompiledProduct>();
  const productByHost = new Map<string, string>();
  for (const p of snapshot.products) {
    products.set(p.name, {
      name: p.name,
      entry: p.entry,
      hosts: p.hosts,
      rules: memo(rulesOf, p, (x) => compileLaneRules(x.rules)),
    });
    for (const h of p.hosts) productByHost.set(h, p.name);
  }
  return { version: snapshot.version, snapshot, router, products, productByHost, endpoints };
}
