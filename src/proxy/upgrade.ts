// An upgrade request on a traffic listener: through the same stages as a request (route, balance,
// record, the one retry policy), counted in the request stats (a 101 as class 1xx), held as in
// flight until its handshake settles — which it always does; its socket is kept in the set the
// SIGTERM drain closes at its deadline.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AttemptResult } from './forward.js';
import { failureKind } from './forward.js';
import type { ListenerKind, ProxyRuntime } from './handler.js';
import { upstreamHeaderList } from './handler.js';
import type { ProxyError } from './respond-error.js';
import { endDetached, rawErrorResponse } from './respond-error.js';
import type { Attempted } from './retry-stage.js';
import { attemptWithRetries } from './retry-stage.js';
import { resolveRequest } from './route-stage.js';
import type { TunnelResult } from './websocket.js';
import { isWebSocketUpgrade, tunnelWebSocket } from './websocket.js';

/** What the listeners share with the graceful stop. */
export interface TrafficState {
  /** Requests and upgrade handshakes in progress. */
  count: number;
  draining: boolean;
  /** Client sockets taken over by an upgrade (handshake or tunnel): no longer Node's to close. */
  readonly upgraded: Set<Duplex>;
}

export function newTrafficState(): TrafficState {
  return { count: 0, draining: false, upgraded: new Set() };
}

function refuse(
  rt: ProxyRuntime,
  kind: ListenerKind,
  req: IncomingMessage,
  socket: Duplex,
  error: ProxyError,
): void {
  rt.stats.rejected(error.code, kind);
  endDetached(socket, rawErrorResponse(error.code, error.message, req.headers.accept));
}

/** The handshake as an attempt, for the balancer, the metrics and the retry policy. */
function attemptOf(r: TunnelResult): AttemptResult {
  if (r.kind === 'upgraded') return { kind: 'responded', status: 101 };
  if (r.kind === 'answered') return { kind: 'responded', status: r.status };
  if (r.kind === 'held-503') return r;
  const failure = r.timeout ? 'timeout' : failureKind(r.error);
  return { kind: 'failed', error: r.error, failure, responseStarted: false, bodyRead: false };
}

export async function onUpgrade(
  kind: ListenerKind,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  rt: ProxyRuntime,
  state: TrafficState,
): Promise<void> {
  // Node took its own error listener off this socket with the upgrade: a reset must not crash us.
  socket.on('error', () => socket.destroy());
  if (state.draining)
    return refuse(rt, kind, req, socket, {
      code: 'shutting_down',
      message: 'the proxy is stopping',
    });
  if (!isWebSocketUpgrade(req)) {
    const message = `upgrade to ${req.headers.upgrade} is not supported`;
    return refuse(rt, kind, req, socket, { code: 'bad_request', message });
  }
  const resolved = resolveRequest(kind, req, rt, rt.now());
  if ('code' in resolved) return refuse(rt, kind, req, socket, resolved);
  const { route, bound, target } = resolved;
  state.count++;
  state.upgraded.add(socket);
  socket.once('close', () => state.upgraded.delete(socket));
  const headers = upstreamHeaderList(req, target, route);
  let done: Attempted<TunnelResult>;
  try {
    // The same stages as a request: balance, forward (the handshake), record, and the retry
    // policy (a handshake is a GET without a body, retried like one).
    done = await attemptWithRetries(rt, route, bound, {
      method: 'GET',
      hasBody: false,
      send: (up, holdBack503) =>
        tunnelWebSocket(up.pool, socket, head, {
          path: target.path,
          headers,
          timeoutMs: rt.options.requestTimeoutMs,
          holdBack503,
        }),
      outcome: attemptOf,
      clientGone: () => socket.destroyed,
    });
  } finally {
    state.count--;
  }
  if (done.kind === 'overloaded') {
    const message = `every endpoint for ${route.name} is at its pending limit`;
    return refuse(rt, kind, req, socket, { code: 'overloaded', message });
  }
  const r = done.result;
  if (r.kind === 'upgraded') {
    // The balancer counted the handshake as a request in flight; the tunnel after it is not one.
    rt.stats.tunnelOpened(done.series);
    await r.closed;
    rt.stats.tunnelClosed(done.series);
    return;
  }
  if (r.kind === 'held-503') {
    const message = `${route.name} answered 503 Service Unavailable`;
    return refuse(rt, kind, req, socket, { code: 'upstream_unavailable', message });
  }
  if (r.kind === 'failed') {
    rt.logger.info({
      event: 'upstream_failed',
      endpoint: done.up.address,
      service: route.name,
      error: r.error.message,
      upgrade: true,
      attempts: done.attempts,
    });
    const error: ProxyError = r.timeout
      ? { code: 'upstream_timeout', message: `${route.name} did not answer the upgrade in time` }
      : { code: 'upstream_failed', message: `${route.name} failed the WebSocket upgrade` };
    refuse(rt, kind, req, socket, error);
  }
}
