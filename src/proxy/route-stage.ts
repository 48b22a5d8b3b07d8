// Stage 3, route: the bound destination (version and its addresses) for a request on its product
// and lane, or why there is none. Stages 1–3 together (`resolveRequest`) are what every request
// and every upgrade handshake goes through before an endpoint is chosen.

import type { IncomingMessage } from 'node:http';
import type { CompiledSnapshot } from '../config/compile.js';
import type { Bound } from '../routing/index.js';
import { lookup, parsePath } from '../routing/index.js';
import type { ContextInputs, ContextResult, RequestRoute } from './context-stage.js';
import { edgeContext, meshContext } from './context-stage.js';
import type { ListenerKind, ProxyRuntime } from './handler.js';
import type { Target } from './identify.js';
import { identifyTarget } from './identify.js';
import type { ProxyError } from './respond-error.js';

export interface Resolved {
  readonly target: Target;
  readonly route: RequestRoute;
  readonly bound: Bound;
}

/**
 * Stages 1–3: what the request names, on which product and lane, and where that binds. `now` is
 * the request's start on the proxy's clock (`rt.now()`), read once by the caller.
 */
export function resolveRequest(
  kind: ListenerKind,
  req: IncomingMessage,
  rt: ProxyRuntime,
  now: number,
): Resolved | ProxyError {
  const compiled = rt.current();
  if (compiled === null)
    return { code: 'no_endpoints', message: 'the proxy has no configuration yet' };
  const id = identifyTarget(req);
  if (!id.ok) return id.error;
  const inputs = contextInputs(rt, compiled);
  const ctx: ContextResult =
    kind === 'edge' ? edgeContext(req, id.target, inputs) : meshContext(req, id.target, inputs);
  if (!ctx.ok) return ctx.error;
  const bound = routeRequest(compiled, ctx.route, rt, now);
  return 'code' in bound ? bound : { target: id.target, route: ctx.route, bound };
}

/**
 * The context stage's inputs for a runtime and snapshot: built when the snapshot changes, not per
 * request. `nowMs` is read when asked (only a signed override or value asks): override tokens
 * expire at a Unix time — the wall clock, not the monotonic `rt.now()`.
 */
class RuntimeInputs implements ContextInputs {
  constructor(
    readonly rt: ProxyRuntime,
    readonly compiled: CompiledSnapshot,
  ) {}
  get secrets(): readonly Buffer[] {
    return this.rt.secrets;
  }
  get trustedHops(): ProxyRuntime['trustedHops'] {
    return this.rt.trustedHops;
  }
  get nowMs(): number {
    return Date.now();
  }
}

/** The inputs last made: a process runs one proxy (tests with several just make them again). */
let lastInputs: RuntimeInputs | null = null;

function contextInputs(rt: ProxyRuntime, compiled: CompiledSnapshot): ContextInputs {
  if (lastInputs?.compiled !== compiled || lastInputs.rt !== rt)
    lastInputs = new RuntimeInputs(rt, compiled);
  return lastInputs;
}

/** How errors name the request's service: built only when there is an error to name it in. */
function where(route: RequestRoute): string {
  const lane = route.lane === null ? 'stable' : `lane ${route.lane}`;
  return `${route.name} in ${lane} (product ${route.product})`;
}

/** Stage 3: the bound destination for this request, or why there is none. */
export function routeRequest(
  compiled: CompiledSnapshot,
  route: RequestRoute,
  rt: ProxyRuntime,
  now: number,
): Bound | ProxyError {
  const decision = compiled.router.route(route.product, route.lane, route.name, route.override);
  if (decision === null)
    return { code: 'unknown_product', message: `unknown product ${route.product}` };
  if (decision.result.state === 'pending')
    return { code: 'no_endpoints', message: `endpoints for ${where(route)} are not known yet` };
  if (decision.result.state === 'failed') {
    rt.logger.warn({
      event: 'route_failed',
      service: route.name,
      product: route.product,
      lane: route.lane,
      error: decision.result.error.message,
    });
    return { code: 'upstream_failed', message: `routing failed for ${where(route)}` };
  }
  const bound = rt.pickDestination(decision.result.tree, now, rt.random);
  if (bound !== null && bindsToSelf(bound, rt)) {
    // A releaser's overlay or a registered endpoint pointing at the admin (or any) listener of
    // this very proxy: forwarding would expose /config and /explain, or loop.
    rt.logger.warn({ event: 'destination_refused', service: route.name, product: route.product });
    return {
      code: 'destination_refused',
      message: `${where(route)} binds to this proxy's own listener, which is never a destination`,
    };
  }
  if (bound !== null && bound.addrs.length > 0) return bound;
  // A name the product's dtab has a rule for exists; it just has nowhere ready to go right now.
  const dtab = compiled.router.dtabFor(route.product, route.lane, route.override);
  const known = dtab !== null && lookup(dtab, parsePath(route.name)).kind !== 'neg';
  return known
    ? { code: 'no_endpoints', message: `no ready endpoints for ${where(route)}` }
    : { code: 'unknown_service', message: `unknown service ${route.name}` };
}

function bindsToSelf(bound: Bound, rt: ProxyRuntime): boolean {
  for (const a of bound.addrs) if (rt.isSelf(a)) return true;
  return false;
}
