// The proxy's own error responses: status from the one error table, an `x-turnout-error` code
// header, plain text by default and JSON when the client accepts it. Edge clients never see
// internal addresses or dtabs: callers pass a public message for them.

import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import { ERROR_CODES } from '../errors.js';

export interface ProxyError {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * Codes after which the connection is closed: the request was malformed or ambiguous (what follows
 * it on the connection cannot be trusted to be framed as the client meant), or the client is stuck.
 */
const CLOSES_CONNECTION: ReadonlySet<ErrorCode> = new Set(['bad_request', 'request_timeout']);

function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && (accept.includes('application/json') || accept.includes('+json'));
}

export function respondError(
  res: ServerResponse,
  error: ProxyError,
  accept: string | undefined,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = ERROR_CODES[error.code].status;
  const json = wantsJson(accept);
  const body = errorBody(error, json);
  // Node then answers `connection: close` and ends the socket once the response is out.
  if (CLOSES_CONNECTION.has(error.code)) res.shouldKeepAlive = false;
  res.writeHead(status, {
    'content-type': json ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-turnout-error': error.code,
    'cache-control': 'no-store',
  });
  res.end(body);
}

function errorBody(error: ProxyError, json: boolean): string {
  return json
    ? JSON.stringify({ error: { code: error.code, message: error.message } })
    : `${error.message}\n`;
}

/**
 * The raw response for a bare socket (parser errors, timeouts, refused upgrades and CONNECT); it
 * always closes the connection. `accept` is the request's, when there is one.
 */
export function rawErrorResponse(code: ErrorCode, message: string, accept?: string): string {
  const status = ERROR_CODES[code].status;
  const json = wantsJson(accept);
  const body = errorBody({ code, message }, json);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `content-type: ${json ? 'application/json' : 'text/plain; charset=utf-8'}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nx-turnout-error: ${code}\r\n` +
    `cache-control: no-store\r\nconnection: close\r\n\r\n${body}`
  );
}

/** How long a socket may stay half-closed after its last answer before it is cut. */
const LINGER_MS = 5_000;

/**
 * Ends a socket after its last bytes and cuts it if the client has not closed within a few
 * seconds (closing at once could turn unread input into a reset that loses the answer).
 */
export function endLingering(socket: Duplex, last?: string): void {
  socket.end(last);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/**
 * Ends a socket Node no longer reads (an upgrade's or CONNECT's): what the client still sends is
 * read and dropped, so its close is seen.
 */
export function endDetached(socket: Duplex, last?: string): void {
  socket.on('error', () => socket.destroy());
  socket.resume();
  endLingering(socket, last);
}
