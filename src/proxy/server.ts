// `turnout proxy`: the outbound (explicit proxy), edge and admin listeners around one handler,
// with a graceful stop — stop accepting, finish in-flight requests up to a deadline, then close.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientLimits } from './client-connection.js';
import {
  DEFAULT_CLIENT_LIMITS,
  onClientError,
  trackExchange,
  watchBody,
} from './client-connection.js';
import { onConnect } from './connect-tunnel.js';
import type { ListenerKind, ProxyRuntime } from './handler.js';
import { handleRequest, handlerCrashed } from './handler.js';
import { ProxyResponse } from './response-close.js';
import type { TrafficState } from './upgrade.js';
import { onUpgrade } from './upgrade.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Listener {
  readonly kind: ListenerKind | 'admin';
  readonly server: Server;
  address(): ListenAddress;
}

/** Node's default, stated: 16 KiB of headers. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** A ceiling on receiving one whole request, however steadily its body trickles in. */
const WHOLE_REQUEST_TIMEOUT_MS = 300_000;

export function listenerAddress(server: Server): ListenAddress {
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}

export interface TrafficListenerOptions {
  readonly kind: ListenerKind;
  readonly runtime: ProxyRuntime;
  readonly inflight: TrafficState;
  readonly limits?: ClientLimits;
}

/** Node checks header and request deadlines on an interval; it must be fine enough for them. */
function checkingIntervalMs(limits: ClientLimits): number {
  return Math.max(10, Math.min(1_000, Math.floor(limits.headerTimeoutMs / 4)));
}

export function createTrafficServer({
  kind,
  runtime,
  inflight,
  limits = DEFAULT_CLIENT_LIMITS,
}: TrafficListenerOptions): Server {
  const report = (code: string) => runtime.stats.rejected(code, kind);
  const server = createServer(
    {
      // The proxy's responses carry its close slots (response-close.ts).
      ServerResponse: ProxyResponse,
      maxHeaderSize: MAX_HEADER_BYTES,
      keepAliveTimeout: limits.idleTimeoutMs,
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: Math.max(WHOLE_REQUEST_TIMEOUT_MS, limits.headerTimeoutMs),
      connectionsCheckingInterval: checkingIntervalMs(limits),
    },
    (req, res) => {
      trackExchange(req, res, inflight);
      watchBody(req, res, limits.bodyTimeoutMs, report);
      if (inflight.draining) res.shouldKeepAlive = false;
      try {
        handleRequest(kind, req, res, runtime);
      } catch (error) {
        handlerCrashed(runtime, res, error as Error);
      }
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
    onClientError(error, socket, report),
  );
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => runtime.stats.connectionRefused(kind));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(kind, req, socket, head, runtime, inflight).catch((error: Error) => {
      runtime.logger.error({ event: 'handler_crashed', error: error.message, stack: error.stack });
      socket.destroy();
    });
  });
  // Without a listener Node destroys a CONNECT's socket without a word.
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    onConnect(server, kind, req, socket, head, () => report('bad_request')),
  );
  return server;
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

/**
 * Stops accepting, lets in-flight requests and upgrade handshakes finish and open WebSocket tunnels
 * run up to `deadlineMs`, then cuts what is left.
 */
export async function drainServers(
  servers: readonly Server[],
  inflight: TrafficState,
  deadlineMs: number,
): Promise<{ leftInFlight: number; upgradesClosed: number }> {
  inflight.draining = true;
  for (const s of servers) {
    s.close();
    s.closeIdleConnections();
  }
  const until = Date.now() + deadlineMs;
  while ((inflight.count > 0 || inflight.upgraded.size > 0) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    for (const s of servers) s.closeIdleConnections();
  }
  const left = inflight.count;
  const upgraded = inflight.upgraded.size;
  for (const s of servers) s.closeAllConnections();
  // Upgraded sockets are no longer the servers' connections: closed here.
  for (const socket of inflight.upgraded) socket.destroy();
  return { leftInFlight: left, upgradesClosed: upgraded };
}

export type { ServerResponse };
