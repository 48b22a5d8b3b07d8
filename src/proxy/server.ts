// `turnout proxy`: the outbound (explicit proxy), edge and admin listeners around one handler,
// with a graceful stop — stop accepting, finish in-flight requests up to a deadline, then close.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { chooseUpstream } from './balance-stage.js';
import { recordRelease } from './endpoint-state.js';
import type { ListenerKind, ProxyRuntime } from './handler.js';
import { handleRequest, resolveRequest, upstreamHeaderList } from './handler.js';
import { rawErrorResponse } from './respond-error.js';
import { isWebSocketUpgrade, refuseUpgrade, tunnelWebSocket } from './websocket.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Listener {
  readonly kind: ListenerKind | 'admin';
  readonly server: Server;
  address(): ListenAddress;
}

/** Node's defaults, stated: 16 KiB of headers; idle keep-alive closed after 5 s. */
export const MAX_HEADER_BYTES = 16 * 1024;

function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const reason = tooLarge
    ? 'request headers are too large'
    : `malformed request: ${(error as { reason?: string }).reason ?? error.message}`;
  socket.end(rawErrorResponse(tooLarge ? 'headers_too_large' : 'bad_request', reason));
}

export function listenerAddress(server: Server): ListenAddress {
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}

export interface TrafficListenerOptions {
  readonly kind: ListenerKind;
  readonly runtime: ProxyRuntime;
  readonly inflight: { count: number; draining: boolean };
}

export function createTrafficServer({ kind, runtime, inflight }: TrafficListenerOptions): Server {
  const server = createServer(
    { maxHeaderSize: MAX_HEADER_BYTES, keepAliveTimeout: 5_000 },
    (req, res) => {
      inflight.count++;
      res.once('close', () => inflight.count--);
      if (inflight.draining) res.shouldKeepAlive = false;
      handleRequest(kind, req, res, runtime).catch((error: Error) => {
        runtime.logger.error({
          event: 'handler_crashed',
          error: error.message,
          stack: error.stack,
        });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    },
  );
  server.on('clientError', onClientError);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void onUpgrade(kind, req, socket, head, runtime);
  });
  return server;
}

async function onUpgrade(
  kind: ListenerKind,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  rt: ProxyRuntime,
) {
  if (!isWebSocketUpgrade(req))
    return refuseUpgrade(socket, `upgrade to ${req.headers.upgrade} is not supported`);
  const resolved = resolveRequest(kind, req, rt);
  if ('code' in resolved) return socket.end(rawErrorResponse(resolved.code, resolved.message));
  const up = chooseUpstream(rt, resolved.bound.addrs, new Set());
  if (up === null)
    return socket.end(rawErrorResponse('overloaded', 'every endpoint is at its pending limit'));
  const headers = upstreamHeaderList(req, resolved.target, resolved.route);
  let ok = false;
  try {
    ok = await tunnelWebSocket(up.pool, socket, head, resolved.target.path, headers);
  } finally {
    // The balancer counted the handshake as a request in flight; the tunnel after it is not one.
    recordRelease(up.state);
  }
  if (!ok)
    socket.end(
      rawErrorResponse('upstream_failed', `${resolved.route.name} refused the WebSocket upgrade`),
    );
}

export function listen(server: Server, at: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, lets in-flight requests finish up to `deadlineMs`, then cuts what is left. */
export async function drainServers(
  servers: readonly Server[],
  inflight: { count: number; draining: boolean },
  deadlineMs: number,
): Promise<{ leftInFlight: number }> {
  inflight.draining = true;
  for (const s of servers) {
    s.close();
    s.closeIdleConnections();
  }
  const until = Date.now() + deadlineMs;
  while (inflight.count > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    for (const s of servers) s.closeIdleConnections();
  }
  const left = inflight.count;
  for (const s of servers) s.closeAllConnections();
  return { leftInFlight: left };
}

export type { ServerResponse };
