// An upgrade request on a traffic listener: routed and balanced like a request, counted in the
// request stats (a 101 as class 1xx), held as in flight until its handshake settles — which it
// always does; its socket is kept in the set the SIGTERM drain closes at its deadline.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { chooseUpstream, recordOutcome } from './balance-stage.js';
import type { AttemptResult } from './forward.js';
import type { ListenerKind, ProxyRuntime } from './handler.js';
import { labelsFor, resolveRequest, upstreamHeaderList } from './handler.js';
import type { ProxyError } from './respond-error.js';
import { endDetached, rawErrorResponse } from './respond-error.js';
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

function statusOf(r: TunnelResult): number {
  return r.kind === 'upgraded' ? 101 : r.kind === 'answered' ? r.status : 0;
}

/** The handshake as an attempt, for the balancer's latency and failure record. */
function attemptOf(r: TunnelResult): AttemptResult {
  if (r.kind !== 'failed') return { kind: 'responded', status: statusOf(r) };
  const failure = r.timeout ? 'timeout' : 'other';
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
  const resolved = resolveRequest(kind, req, rt);
  if ('code' in resolved) return refuse(rt, kind, req, socket, resolved);
  const { route, bound, target } = resolved;
  const up = chooseUpstream(rt, bound.addrs, new Set());
  if (up === null) {
    const message = `every endpoint for ${route.name} is at its pending limit`;
    return refuse(rt, kind, req, socket, { code: 'overloaded', message });
  }
  const labels = labelsFor(route, bound, up.address);
  const startedAt = rt.now();
  rt.stats.started(labels);
  state.count++;
  state.upgraded.add(socket);
  socket.once('close', () => state.upgraded.delete(socket));
  let r: TunnelResult;
  try {
    r = await tunnelWebSocket(up.pool, socket, head, {
      path: target.path,
      headers: upstreamHeaderList(req, target, route),
      timeoutMs: rt.options.requestTimeoutMs,
    });
  } finally {
    state.count--;
  }
  const elapsed = rt.now() - startedAt;
  // The balancer counted the handshake as a request in flight; the tunnel after it is not one.
  recordOutcome(rt, up, attemptOf(r), elapsed, bound.addrs);
  rt.stats.finished(labels, statusOf(r), elapsed / 1000);
  if (r.kind === 'upgraded') {
    rt.stats.tunnelOpened(labels);
    await r.closed;
    rt.stats.tunnelClosed(labels);
    return;
  }
  if (r.kind === 'failed') {
    rt.logger.info({
      event: 'upstream_failed',
      endpoint: up.address,
      service: route.name,
      error: r.error.message,
      upgrade: true,
    });
    const error: ProxyError = r.timeout
      ? { code: 'upstream_timeout', message: `${route.name} did not answer the upgrade in time` }
      : { code: 'upstream_failed', message: `${route.name} failed the WebSocket upgrade` };
    refuse(rt, kind, req, socket, error);
  }
}
