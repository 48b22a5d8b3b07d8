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
import type { AttemptOptions, AttemptResult, AttemptSink } from './forward.js';
import { sendAttempt } from './forward.js';
import { upstreamHeaders } from './headers.js';
import type { Target } from './identify.js';
import type { ProxyError } from './respond-error.js';
import { respondError } from './respond-error.js';
import type { ProxyResponse } from './response-close.js';
import type { RetryBudget } from './retry-budget.js';
import type { Attempted } from './retry-stage.js';
import { Attempts } from './retry-stage.js';
import type { Resolved } from './route-stage.js';
import { resolveRequest } from './route-stage.js';
import type { ProxyStats } from './stats.js';
import type { Upstream, Upstreams } from './upstreams.js';

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
 * One request, start to answer. Not async (no promise per request): what throws in stages 1–3
 * reaches the caller; from stage 4 on, a defect is answered 500 here (`ForwardedRequest`).
 */
export function handleRequest(
  kind: ListenerKind,
  req: IncomingMessage,
  res: ProxyResponse,
  rt: ProxyRuntime,
): void {
  const now = rt.now();
  const resolved = resolveRequest(kind, req, rt, now);
  if ('code' in resolved) fail(rt, kind, req, res, resolved);
  else forwardRequest(kind, req, res, rt, resolved, now);
}

/** Stages 4–6 and the answer; a defect after `resolved` is answered 500, never thrown. */
function forwardRequest(
  kind: ListenerKind,
  req: IncomingMessage,
  res: ProxyResponse,
  rt: ProxyRuntime,
  resolved: Resolved,
  now: number,
): void {
  let forwarded: ForwardedRequest;
  try {
    forwarded = new ForwardedRequest(kind, req, res, rt, resolved);
  } catch (error) {
    handlerCrashed(rt, res, error as Error);
    return;
  }
  forwarded.start(now);
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
  const extra: string[] = [];
  if (baggage !== '') extra.push('baggage', baggage);
  if (route.overrideToken !== undefined) extra.push('x-turnout-override', route.overrideToken);
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
 * Stages 4–6 for a request, then its answer: the upstream's, or the proxy's own error. One object
 * per request is the retry loop, each attempt's options and the sink its result comes back to:
 * no promise, closure or plan per request (they were about 2 KB of each request's allocation).
 * A defect is answered 500 here; nothing reaches the caller after `handleRequest` returns.
 */
class ForwardedRequest extends Attempts<AttemptResult> implements AttemptOptions, AttemptSink {
  readonly path: string;
  readonly headers: string[];
  readonly body: IncomingMessage | null;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  /** This attempt's: set before each is sent. */
  holdBack503 = false;

  constructor(
    private readonly kind: ListenerKind,
    private readonly req: IncomingMessage,
    private readonly res: ProxyResponse,
    rt: ProxyRuntime,
    { target, route, bound }: Resolved,
  ) {
    const body = hasBody(req) ? req : null;
    super(rt, route, bound, req.method ?? 'GET', body !== null);
    this.path = target.path;
    this.body = body;
    this.headers = upstreamHeaderList(req, target, route);
    this.headersTimeoutMs = rt.options.requestTimeoutMs;
    this.bodyTimeoutMs = rt.options.bodyTimeoutMs;
  }

  start(now: number): void {
    this.begin(now);
  }

  protected send(up: Upstream, holdBack503: boolean): void {
    this.holdBack503 = holdBack503;
    sendAttempt(up.pool, this.res, this, this);
  }

  protected outcome(result: AttemptResult): AttemptResult {
    return result;
  }

  protected clientGone(): boolean {
    return this.res.destroyed;
  }

  protected crashed(error: Error): void {
    handlerCrashed(this.rt, this.res, error);
  }

  protected finished(done: Attempted<AttemptResult>): void {
    const error = this.errorFor(done);
    if (error !== null) fail(this.rt, this.kind, this.req, this.res, error);
  }

  /** The proxy's own answer for the final attempt; null when the client already has one. */
  private errorFor(done: Attempted<AttemptResult>): ProxyError | null {
    const route = this.route;
    if (done.kind === 'overloaded')
      return {
        code: 'overloaded',
        message: `every endpoint for ${route.name} is at its pending limit`,
      };
    const r = done.outcome;
    if (r.kind === 'responded') return null;
    if (r.kind === 'held-503')
      return {
        code: 'upstream_unavailable',
        message: `${route.name} answered 503 Service Unavailable`,
      };
    if (r.responseStarted) {
      this.res.destroy(r.error); // the client already has a status line: all we can do is cut it short
      return null;
    }
    this.rt.logger.info({
      event: 'upstream_failed',
      endpoint: done.up.address,
      service: route.name,
      error: r.error.message,
      attempts: done.attempts,
    });
    return failedError(route, r.failure === 'timeout');
  }
}

function failedError(route: RequestRoute, timeout: boolean): ProxyError {
  return timeout
    ? { code: 'upstream_timeout', message: `${route.name} did not answer in time` }
    : { code: 'upstream_failed', message: `${route.name} failed: no usable response` };
}
