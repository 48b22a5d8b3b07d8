// Upgrade requests: WebSocket is routed like any request, then the two sockets are joined;
// `Upgrade: h2c` is refused (a cleartext HTTP/2 upgrade through a proxy is a smuggling vector).

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { rawErrorResponse } from './respond-error.js';

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

export function refuseUpgrade(socket: Duplex, message: string): void {
  socket.end(rawErrorResponse('bad_request', message));
}

function responseHead(
  status: number,
  headers: Record<string, string | string[] | undefined>,
): string {
  let head = `HTTP/1.1 ${status} Switching Protocols\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return `${head}\r\n`;
}

/** Opens the upstream upgrade and joins it to the client socket; resolves false if it failed. */
export function tunnelWebSocket(
  pool: Dispatcher,
  clientSocket: Duplex,
  clientHead: Buffer,
  path: string,
  headers: string[],
): Promise<boolean> {
  return new Promise((resolve) => {
    const handler: Dispatcher.DispatchHandler = {
      // undici takes a handler for its new API only when it has onRequestStart.
      onRequestStart() {},
      onRequestUpgrade(_controller, status, upHeaders, upstream) {
        clientSocket.write(responseHead(status, upHeaders as Record<string, string | string[]>));
        if (clientHead.length > 0) upstream.write(clientHead);
        upstream.pipe(clientSocket).pipe(upstream);
        const closeBoth = () => {
          upstream.destroy();
          clientSocket.destroy();
        };
        upstream.on('error', closeBoth);
        clientSocket.on('error', closeBoth);
        upstream.on('close', closeBoth);
        clientSocket.on('close', closeBoth);
        resolve(true);
      },
      onResponseError() {
        resolve(false);
      },
    };
    try {
      pool.dispatch({ path, method: 'GET', headers, upgrade: 'websocket' }, handler);
    } catch {
      // A request undici refuses to send (it throws): a failed upgrade, not an unhandled
      // rejection that would take the whole proxy down.
      resolve(false);
    }
  });
}
