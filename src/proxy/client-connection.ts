// What a client connection still owes, and how it ends when the client misbehaves: a parse error
// or a timeout is answered only after every response owed to requests read before it (pipelined
// requests each get their own answer, in order), and a stalled request body gets 408, not a 504.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import { rawErrorResponse } from './respond-error.js';

/** Limits on what a client may make the proxy wait for (per listener). */
export interface ClientLimits {
  /** The whole request head must arrive within this, from the connection or the request's start. */
  readonly headerTimeoutMs: number;
  /** A request body may be silent this long. */
  readonly bodyTimeoutMs: number;
  /** Open client connections per listener; more are closed as soon as they are accepted. */
  readonly maxConnections: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  maxConnections: 4_096,
};

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/** One client connection's requests whose responses are not finished yet, in request order. */
class Owed {
  readonly open = new Set<Exchange>();
  /** Set once the connection's last word (an error answer) is decided. */
  ending = false;
  private whenSettled: (() => void) | null = null;

  add(x: Exchange): void {
    this.open.add(x);
    x.res.once('close', () => {
      this.open.delete(x);
      if (this.open.size > 0 || this.whenSettled === null) return;
      const then = this.whenSettled;
      this.whenSettled = null;
      then();
    });
  }

  /** Runs `then` once every response owed now has finished (or at once if none is). */
  afterOwed(then: () => void): void {
    if (this.open.size === 0) then();
    else this.whenSettled = then;
  }

  /** The request whose body is still being read, if any. */
  reading(): Exchange | undefined {
    for (const x of this.open) if (!x.req.complete) return x;
    return undefined;
  }
}

const owedBySocket = new WeakMap<Duplex, Owed>();

function owedOf(socket: Duplex): Owed {
  let owed = owedBySocket.get(socket);
  if (owed === undefined) {
    owed = new Owed();
    owedBySocket.set(socket, owed);
  }
  return owed;
}

/** Counts a request read from `req.socket` until its response has finished. */
export function trackExchange(req: IncomingMessage, res: ServerResponse): void {
  owedOf(req.socket).add({ req, res });
}

export type ClientErrorReport = (code: ErrorCode) => void;

/** Writes the connection's last answer once what it owes is out, then closes it. */
function endWith(socket: Duplex, owed: Owed, code: ErrorCode, message: string): void {
  owed.ending = true;
  // Nothing more is read: the bytes after the error are not requests we can trust.
  socket.pause();
  owed.afterOwed(() => {
    if (socket.writable) socket.end(rawErrorResponse(code, message));
    else socket.destroy();
  });
}

/** 408 in place of a request whose body stalled, if its answer has not begun; else a cut. */
function endStalledBody(socket: Duplex, owed: Owed, stalled: Exchange): void {
  owed.ending = true;
  const first = owed.open.values().next().value;
  if (first !== stalled || stalled.res.headersSent || !socket.writable) {
    socket.destroy();
    return;
  }
  // Written past the response object, which is abandoned: the socket's close ends it, and that
  // aborts the upstream attempt still waiting for the rest of the body.
  socket.end(rawErrorResponse('request_timeout', 'the request body did not arrive in time'), () =>
    socket.destroy(),
  );
}

/** The listener's `clientError`: malformed requests, heads too large, Node's request timeouts. */
export function onClientError(
  error: NodeJS.ErrnoException,
  socket: Duplex,
  report: ClientErrorReport,
): void {
  const owed = owedOf(socket);
  if (owed.ending) return;
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    report('request_timeout');
    const stalled = owed.reading();
    if (stalled !== undefined) endStalledBody(socket, owed, stalled);
    else endWith(socket, owed, 'request_timeout', 'the request head did not arrive in time');
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const code: ErrorCode = tooLarge ? 'headers_too_large' : 'bad_request';
  report(code);
  const reason = tooLarge
    ? 'request headers are too large'
    : `malformed request: ${(error as { reason?: string }).reason ?? error.message}`;
  endWith(socket, owed, code, reason);
}

/**
 * The listener's socket `timeout` (no bytes either way for `bodyTimeoutMs`): a request body that
 * stalled gets 408; a connection with nothing owed is closed (idle keep-alive also ends here);
 * one that only waits for an upstream's answer is left alone.
 */
export function onSocketIdle(socket: Duplex, report: ClientErrorReport): void {
  const owed = owedOf(socket);
  if (owed.ending) return;
  const stalled = owed.reading();
  if (stalled !== undefined) {
    report('request_timeout');
    endStalledBody(socket, owed, stalled);
  } else if (owed.open.size === 0) socket.destroy();
}
