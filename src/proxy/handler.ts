// The request path, top to bottom: identify → context → route (route-stage.ts), then balance →
// forward → record, retried by the one policy (retry-stage.ts). Each stage lives in its own file;
// this one composes them for a request and turns the final attempt into the client's answer.
// Upgrade handshakes go through the same stages (upgrade.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CompiledSnapshot } from '../config/compile.js';
import { withTurnoutContext } from '../routing/baggage.js';
import type { Cidr } from '../routing/cidr.js';
import type { RequestRoute } from './context-stage.js';
import type { DestinationPicker } from './destination.js';
import type { AttemptResult } from './forward.js';
import { attempt } from './forward.js';
import { upstreamHeaders } from './headers.js';
import type { Target } from './identify.js';
import type { ProxyError } from './respond-error.js';
import { respondError } from './respond-error.js';
import type { RetryBudget } from './retry-budget.js';
import { attemptWithRetries } from './retry-stage.js';
import type { Resolved } from './route-stage.js';
import { resolveRequest } from './route-stage.js';
import type { ProxyStats } from './stats.js';
import type { Upstreams } from './upstreams.js';

export type ListenerKind = 'edge' | 'outbound';

export interface HandlerOptions {
  readonly requestTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly maxAttempts: number;
  readonly maxPendingPerEndpoint: number;
  /** This proxy's zone: its endpoints are preferred while one can take a request (locality). */
  readonly zone?: string;
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

/**
 * One request, start to answer. Not async itself (one promise less per request): what throws
 * before the first await reaches the caller; what fails after it is caught in `forward`.
 */
export function handleRequest(
  kind: ListenerKind,
  req: IncomingMessage,
  res: ServerResponse,
  rt: ProxyRuntime,
): void {
  const resolved = resolveRequest(kind, req, rt);
  if ('code' in resolved) fail(rt, kind, req, res, resolved);
  else void forward(kind, req, res, rt, resolved);
}

/** A defect on the request path: logged; the client gets a 500, or its cut-short response. */
export function handlerCrashed(rt: ProxyRuntime, res: ServerResponse, error: Error): void {
  rt.logger.error({ event: 'handler_crashed', error: error.message, stack: error.stack });
  if (!res.headersSent) res.writeHead(500).end();
  else res.destroy();
}

/** The request's headers for the upstream: the client's, by the header rules, plus its context. */
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

/**
 * Stages 4–6 for a request, then its answer: the upstream's, or the proxy's own error. Never
 * rejects: a defect is answered 500 here (no `.catch` closure per request at the caller).
 */
async function forward(
  kind: ListenerKind,
  req: IncomingMessage,
  res: ServerResponse,
  rt: ProxyRuntime,
  { target, route, bound }: Resolved,
): Promise<void> {
  try {
    const opts = rt.options;
    const method = req.method ?? 'GET';
    const body = hasBody(req) ? req : null;
    const headers = upstreamHeaderList(req, target, route);
    const done = await attemptWithRetries(rt, route, bound, {
      method,
      hasBody: body !== null,
      send: (up, holdBack503) =>
        attempt(up.pool, res, {
          method,
          path: target.path,
          headers,
          body,
          headersTimeoutMs: opts.requestTimeoutMs,
          bodyTimeoutMs: opts.bodyTimeoutMs,
          holdBack503,
        }),
      outcome: asIs,
      clientGone: () => res.destroyed,
    });
    if (done.kind === 'overloaded')
      return fail(rt, kind, req, res, {
        code: 'overloaded',
        message: `every endpoint for ${route.name} is at its pending limit`,
      });
    const r = done.outcome;
    if (r.kind === 'responded') return;
    if (r.kind === 'held-503')
      return fail(rt, kind, req, res, {
        code: 'upstream_unavailable',
        message: `${route.name} answered 503 Service Unavailable`,
      });
    if (r.responseStarted) {
      res.destroy(r.error); // the client already has a status line: all we can do is cut it short
      return;
    }
    rt.logger.info({
      event: 'upstream_failed',
      endpoint: done.up.address,
      service: route.name,
      error: r.error.message,
      attempts: done.attempts,
    });
    return fail(rt, kind, req, res, failedError(route, r.failure === 'timeout'));
  } catch (error) {
    handlerCrashed(rt, res, error as Error);
  }
}

/** A forwarded request's attempt result is its outcome (one function, not a closure each). */
function asIs(r: AttemptResult): AttemptResult {
  return r;
}

function failedError(route: RequestRoute, timeout: boolean): ProxyError {
  return timeout
    ? { code: 'upstream_timeout', message: `${route.name} did not answer in time` }
    : { code: 'upstream_failed', message: `${route.name} failed: no usable response` };
}
