// The request path, top to bottom: identify → context → route → balance → forward → record.
// Each stage lives in its own file; this one composes them and owns nothing but the order.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CompiledSnapshot } from '../config/compile.js';
import { withTurnoutContext } from '../routing/baggage.js';
import type { Cidr } from '../routing/cidr.js';
import type { Bound } from '../routing/index.js';
import { lookup, parsePath } from '../routing/index.js';
import { chooseUpstream, recordOutcome } from './balance-stage.js';
import type { ContextResult, RequestRoute } from './context-stage.js';
import { edgeContext, meshContext } from './context-stage.js';
import type { DestinationPicker } from './destination.js';
import type { AttemptResult } from './forward.js';
import { attempt } from './forward.js';
import { upstreamHeaders } from './headers.js';
import type { Target } from './identify.js';
import { identifyTarget } from './identify.js';
import type { ProxyError } from './respond-error.js';
import { respondError } from './respond-error.js';
import type { RetryBudget } from './retry-budget.js';
import { backoffMs } from './retry-budget.js';
import type { ProxyStats, RequestLabels } from './stats.js';
import type { Upstream, Upstreams } from './upstreams.js';

export type ListenerKind = 'edge' | 'outbound';

export interface HandlerOptions {
  readonly requestTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly maxAttempts: number;
  readonly maxPendingPerEndpoint: number;
}

export interface ProxyRuntime {
  readonly options: HandlerOptions;
  current(): CompiledSnapshot | null;
  readonly upstreams: Upstreams;
  readonly retryBudget: RetryBudget;
  readonly stats: ProxyStats;
  readonly secrets: readonly Buffer[];
  /** Edge clients in these CIDRs are trusted hops (src/proxy/trusted-hops.ts). */
  readonly trustedHops: readonly Cidr[];
  /** Whether `host:port` is one of this proxy's own listeners: never a destination. */
  isSelf(address: string): boolean;
  readonly logger: Logger;
  readonly pickDestination: DestinationPicker;
  now(): number;
  random(): number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Headers the proxy sets from the request's context instead of copying them. */
const CONTEXT_HEADERS: ReadonlySet<string> = new Set([
  'baggage',
  'x-turnout-lane',
  'x-turnout-override',
  'x-turnout-product',
]);

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

export function fail(
  rt: ProxyRuntime,
  kind: ListenerKind,
  req: IncomingMessage,
  res: ServerResponse,
  error: ProxyError,
): void {
  rt.stats.rejected(error.code, kind);
  respondError(res, error, req.headers.accept);
  // An unread request body would otherwise be parsed as the next request on this connection.
  if (!req.complete) req.resume();
}

export async function handleRequest(
  kind: ListenerKind,
  req: IncomingMessage,
  res: ServerResponse,
  rt: ProxyRuntime,
): Promise<void> {
  const resolved = resolveRequest(kind, req, rt);
  if ('code' in resolved) return fail(rt, kind, req, res, resolved);
  await forwardWithRetries(kind, req, res, rt, resolved);
}

export interface Resolved {
  readonly target: Target;
  readonly route: RequestRoute;
  readonly bound: Bound;
}

/** Stages 1–3: what the request names, on which product and lane, and where that binds. */
export function resolveRequest(
  kind: ListenerKind,
  req: IncomingMessage,
  rt: ProxyRuntime,
): Resolved | ProxyError {
  const compiled = rt.current();
  if (compiled === null)
    return { code: 'no_endpoints', message: 'the proxy has no configuration yet' };
  const id = identifyTarget(req);
  if (!id.ok) return id.error;
  // Override tokens expire at a Unix time: the wall clock, not the monotonic `rt.now()`.
  const inputs = {
    compiled,
    secrets: rt.secrets,
    nowMs: Date.now(),
    trustedHops: rt.trustedHops,
  };
  const ctx: ContextResult =
    kind === 'edge' ? edgeContext(req, id.target, inputs) : meshContext(req, id.target, inputs);
  if (!ctx.ok) return ctx.error;
  const bound = routeRequest(compiled, ctx.route, rt);
  return 'code' in bound ? bound : { target: id.target, route: ctx.route, bound };
}

function laneText(route: RequestRoute): string {
  return route.lane === null ? 'stable' : `lane ${route.lane}`;
}

/** Stage 3: the bound destination for this request, or why there is none. */
function routeRequest(
  compiled: CompiledSnapshot,
  route: RequestRoute,
  rt: ProxyRuntime,
): Bound | ProxyError {
  const decision = compiled.router.route(route.product, route.lane, route.name, route.override);
  if (decision === null)
    return { code: 'unknown_product', message: `unknown product ${route.product}` };
  const where = `${route.name} in ${laneText(route)} (product ${route.product})`;
  if (decision.result.state === 'pending')
    return { code: 'no_endpoints', message: `endpoints for ${where} are not known yet` };
  if (decision.result.state === 'failed') {
    rt.logger.warn({
      event: 'route_failed',
      service: route.name,
      product: route.product,
      lane: route.lane,
      error: decision.result.error.message,
    });
    return { code: 'upstream_failed', message: `routing failed for ${where}` };
  }
  const bound = rt.pickDestination(decision.result.tree, rt.now(), rt.random);
  if (bound?.addrs.some((a) => rt.isSelf(a))) {
    // A releaser's overlay or a registered endpoint pointing at the admin (or any) listener of
    // this very proxy: forwarding would expose /config and /explain, or loop.
    rt.logger.warn({ event: 'destination_refused', service: route.name, product: route.product });
    return {
      code: 'destination_refused',
      message: `${where} binds to this proxy's own listener, which is never a destination`,
    };
  }
  if (bound !== null && bound.addrs.length > 0) return bound;
  // A name the product's dtab has a rule for exists; it just has nowhere ready to go right now.
  const dtab = compiled.router.dtabFor(route.product, route.lane, route.override);
  const known = dtab !== null && lookup(dtab, parsePath(route.name)).kind !== 'neg';
  return known
    ? { code: 'no_endpoints', message: `no ready endpoints for ${where}` }
    : { code: 'unknown_service', message: `unknown service ${route.name}` };
}

export function labelsFor(route: RequestRoute, bound: Bound, address: string): RequestLabels {
  const isVersion = bound.id[0] === 'v' && bound.id.length >= 3;
  return {
    product: route.product,
    lane: route.lane ?? 'stable',
    module: isVersion ? bound.id[1]! : '',
    version: isVersion ? bound.id[2]! : '',
    endpoint: address,
  };
}

export function upstreamHeaderList(
  req: IncomingMessage,
  target: Target,
  route: RequestRoute,
): string[] {
  const baggage = withTurnoutContext(
    Array.isArray(req.headers.baggage) ? req.headers.baggage.join(',') : req.headers.baggage,
    route.lane === null ? { product: route.product } : { product: route.product, lane: route.lane },
  );
  const extra: [string, string][] = [];
  if (baggage !== '') extra.push(['baggage', baggage]);
  if (route.overrideToken !== undefined) extra.push(['x-turnout-override', route.overrideToken]);
  return upstreamHeaders(req, {
    clientAddress: req.socket.remoteAddress ?? '',
    proto: 'http',
    host: target.authority,
    replace: CONTEXT_HEADERS,
    extra,
    edge: route.edge,
  });
}

/** Stages 4–6: pick an endpoint, forward, record; retry within the budget when it is safe. */
async function forwardWithRetries(
  kind: ListenerKind,
  req: IncomingMessage,
  res: ServerResponse,
  rt: ProxyRuntime,
  { target, route, bound }: Resolved,
): Promise<void> {
  const opts = rt.options;
  const method = req.method ?? 'GET';
  const body = hasBody(req) ? req : null;
  const idempotent = IDEMPOTENT.has(method);
  const headers = upstreamHeaderList(req, target, route);
  const tried = new Set<string>();
  rt.retryBudget.deposit(rt.now());
  for (let n = 1; ; n++) {
    const up: Upstream | null = chooseUpstream(rt, bound.addrs, tried);
    if (up === null)
      return fail(rt, kind, req, res, {
        code: 'overloaded',
        message: `every endpoint for ${route.name} is at its pending limit`,
      });
    tried.add(up.address);
    const labels = labelsFor(route, bound, up.address);
    // Hold a 503 back only when a retry can actually follow; otherwise the client gets it as is.
    const canRetry =
      n < opts.maxAttempts && idempotent && body === null && rt.retryBudget.balance(rt.now()) >= 1;
    const startedAt = rt.now();
    rt.stats.started(labels);
    const r: AttemptResult = await attempt(up.pool, res, {
      method,
      path: target.path,
      headers,
      body,
      headersTimeoutMs: opts.requestTimeoutMs,
      bodyTimeoutMs: opts.bodyTimeoutMs,
      holdBack503: canRetry,
    });
    const elapsed = rt.now() - startedAt;
    recordOutcome(rt, up, r, elapsed, bound.addrs);
    rt.stats.finished(
      labels,
      r.kind === 'responded' ? r.status : r.kind === 'held-503' ? 503 : 0,
      elapsed / 1000,
    );
    if (r.kind === 'responded') return;
    if (r.kind === 'failed' && r.responseStarted) {
      res.destroy(r.error); // the client already has a status line: all we can do is cut it short
      return;
    }
    const retryable =
      r.kind === 'held-503' ||
      (r.failure === 'connect' && !r.bodyRead) ||
      (r.failure === 'reset' && idempotent && !r.bodyRead);
    if (
      retryable &&
      n < opts.maxAttempts &&
      !res.destroyed &&
      rt.retryBudget.tryWithdraw(rt.now())
    ) {
      await delay(backoffMs(n - 1, rt.random));
      continue;
    }
    if (r.kind === 'held-503')
      return fail(rt, kind, req, res, {
        code: 'upstream_unavailable',
        message: `${route.name} answered 503 Service Unavailable`,
      });
    const timeout = r.failure === 'timeout';
    rt.logger.info({
      event: 'upstream_failed',
      endpoint: up.address,
      service: route.name,
      error: r.error.message,
      attempts: n,
    });
    return fail(rt, kind, req, res, {
      code: timeout ? 'upstream_timeout' : 'upstream_failed',
      message: timeout
        ? `${route.name} did not answer in time`
        : `${route.name} failed: no usable response`,
    });
  }
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
