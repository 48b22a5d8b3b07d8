// CONNECT on the outbound listener. undici's ProxyAgent and EnvHttpProxyAgent — how a Node service
// honours `http_proxy` — open a tunnel with CONNECT even for an http:// target. A tunnel to a
// module name on port 80 is accepted and its socket handed back to the same HTTP server, so every
// request inside it (origin-form, `Host: orders`) goes through the same stages as a plainly
// proxied one: routing, baggage, limits, stats. Anything else — another port, a host that is not a
// module name, the edge listener — is refused: the proxy is not a general-purpose tunnel.

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { nameProblem } from '../routing/context.js';
import type { ListenerKind } from './handler.js';
import { endDetached, rawErrorResponse } from './respond-error.js';

/** Why a CONNECT to `authority` on a `kind` listener is refused, or null when it is a tunnel. */
export function tunnelRefusal(kind: ListenerKind, authority: string | undefined): string | null {
  if (kind !== 'outbound') return 'CONNECT is not supported on the edge listener';
  const at = (authority ?? '').toLowerCase();
  const colon = at.lastIndexOf(':');
  const host = colon === -1 ? at : at.slice(0, colon);
  const port = colon === -1 ? '' : at.slice(colon + 1);
  if (port !== '80' || nameProblem(host) !== null) {
    return `CONNECT is accepted only to a module name on port 80 (CONNECT orders:80), not ${JSON.stringify(authority ?? '')}: send plain HTTP requests through the proxy`;
  }
  return null;
}

/** Answers a CONNECT: a tunnel served by `server` itself, or the usual 400 with the reason. */
export function onConnect(
  server: Server,
  kind: ListenerKind,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  rejected: () => void,
): void {
  const refusal = tunnelRefusal(kind, req.url);
  if (refusal !== null) {
    rejected();
    endDetached(socket, rawErrorResponse('bad_request', refusal, req.headers.accept));
    return;
  }
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length > 0) socket.unshift(head);
  // Node's documented way to give a server a connection: a new parser reads the tunnel's requests.
  server.emit('connection', socket);
}
