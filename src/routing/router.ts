// The per-request routing decision, compiled once per configuration: which dtab applies to a
// (product, lane) and what a logical name binds to, cached so a request does a map lookup, never a
// parse. A router is immutable; a new configuration makes a new router (and a cold cache).

import { TurnoutError } from '../errors.js';
import type { BindOptions, BindResult } from './bind.js';
import { bind } from './bind.js';
import type { Dtab } from './dtab.js';
import { innerMap } from './inner-map.js';
import { effectiveDtab } from './lanes.js';
import type { EndpointLookup } from './namers.js';
import { versionNamer } from './namers.js';
import { parsePath } from './parser.js';
import type { Bound, NameTree } from './tree.js';

export interface ProductRouting {
  readonly name: string;
  readonly baseDtab: Dtab;
  /** Lane name → overlay dtab. */
  readonly lanes: ReadonlyMap<string, Dtab>;
}

export interface RouterInput {
  readonly products: readonly ProductRouting[];
  readonly endpoints: EndpointLookup;
  /** Bound on cached decisions; when reached the cache is cleared (default 10,000). */
  readonly maxCacheEntries?: number;
  readonly bindOptions?: Omit<BindOptions, 'namers'>;
}

export interface RouteDecision {
  readonly product: string;
  /** The lane whose overlay applied; null when the request is on stable. */
  readonly lane: string | null;
  /** The lane the request asked for, when the product has no such lane (it was routed on stable). */
  readonly unknownLane: string | null;
  readonly name: string;
  readonly result: BindResult;
}

export interface Router {
  /** Null when the product is unknown. `name` is a path such as `/svc/orders`. */
  route(product: string, lane: string | null, name: string, override?: Dtab): RouteDecision | null;
  /** The dtab a request on (product, lane) is delegated with; null when the product is unknown. */
  dtabFor(product: string, lane: string | null, override?: Dtab): Dtab | null;
  readonly cacheSize: () => number;
}

interface CompiledProduct {
  readonly name: string;
  readonly base: Dtab;
  readonly lanes: ReadonlyMap<string, Dtab>;
}

export function createRouter(input: RouterInput): Router {
  const products = new Map<string, CompiledProduct>();
  for (const p of input.products) {
    const lanes = new Map<string, Dtab>();
    for (const [lane, overlay] of p.lanes) lanes.set(lane, effectiveDtab(p.baseDtab, overlay));
    products.set(p.name, { name: p.name, base: p.baseDtab, lanes });
  }
  const options: BindOptions = { ...input.bindOptions, namers: [versionNamer(input.endpoints)] };
  const maxEntries = input.maxCacheEntries ?? 10_000;
  // product → lane ('' for stable) → name → decision: nested maps, so a hit builds no key string.
  const cache = new Map<string, Map<string, Map<string, RouteDecision>>>();
  let cached = 0;

  /** The lane's precompiled dtab (base ++ overlay), or the base when the lane is not known. */
  function laneDtabOf(p: CompiledProduct, lane: string | null): Dtab | undefined {
    return lane === null ? undefined : p.lanes.get(lane);
  }

  function dtabFor(product: string, lane: string | null, override?: Dtab): Dtab | null {
    const p = products.get(product);
    if (p === undefined) return null;
    return effectiveDtab(laneDtabOf(p, lane) ?? p.base, undefined, override);
  }

  function decide(
    p: CompiledProduct,
    lane: string | null,
    name: string,
    override?: Dtab,
  ): RouteDecision {
    const laneDtab = laneDtabOf(p, lane);
    const dtab = effectiveDtab(laneDtab ?? p.base, undefined, override);
    return {
      product: p.name,
      lane: laneDtab === undefined ? null : lane,
      unknownLane: lane !== null && laneDtab === undefined ? lane : null,
      name,
      result: bindName(dtab, name, options),
    };
  }

  function route(
    product: string,
    lane: string | null,
    name: string,
    override?: Dtab,
  ): RouteDecision | null {
    const p = products.get(product);
    if (p === undefined) return null;
    // Overrides are per request and attacker-chosen in shape: never cached, so they cannot churn it.
    if (override !== undefined && override.length > 0) return decide(p, lane, name, override);
    const hit = cache
      .get(product)
      ?.get(lane ?? '')
      ?.get(name);
    if (hit !== undefined) return hit;
    const decision = decide(p, lane, name);
    if (cached >= maxEntries) {
      cache.clear();
      cached = 0;
    }
    innerMap(innerMap(cache, product), lane ?? '').set(name, decision);
    cached++;
    return decision;
  }

  return { route, dtabFor, cacheSize: () => cached };
}

function bindName(dtab: Dtab, name: string, options: BindOptions): BindResult {
  try {
    return bind(dtab, parsePath(name), options);
  } catch (error) {
    if (error instanceof TurnoutError) return { state: 'failed', error };
    throw error;
  }
}

/**
 * Picks the bound destination for one request: a union branch chosen with probability
 * w / Σw (uniform when all weights are 0), recursively. Null when the tree has no destination.
 */
export function pickBound(tree: NameTree<Bound>, random: () => number): Bound | null {
  switch (tree.kind) {
    case 'leaf':
      return tree.value;
    case 'union': {
      const branches = tree.branches;
      let total = 0;
      for (const b of branches) total += b.weight;
      if (total <= 0)
        return pickBound(branches[Math.floor(random() * branches.length)]!.tree, random);
      let r = random() * total;
      for (const b of branches) {
        r -= b.weight;
        if (r < 0) return pickBound(b.tree, random);
      }
      return pickBound(branches[branches.length - 1]!.tree, random);
    }
    case 'alt':
      // Bound trees have no alternations (binding resolves them); first branch for safety.
      return tree.trees.length > 0 ? pickBound(tree.trees[0]!, random) : null;
    default:
      return null;
  }
}
