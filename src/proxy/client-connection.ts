// What a client connection still owes, and how it ends when the client misbehaves: a parse error
// or a timeout is answered only after every response owed to requests read before it (pipelined
// requests each get their own answer, in order), and a stalled request body gets 408, not a 504.
// (Partial or missing request heads are Node's `headersTimeout`, reported through `clientError`.)

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import { endLingering, rawErrorResponse } from './respond-error.js';
import type { ProxyResponse, ResponseCloseWatcher } from './response-close.js';

/** Limits on what a client may make the proxy wait for (per listener). */
export interface ClientLimits {
  /** The whole request head must arrive within this, from the connection or the request's start. */
  readonly headerTimeoutMs: number;
  /** A request body may be silent this long. */
  readonly bodyTimeoutMs: number;
  /** Open client connections per listener; more are closed as soon as they are accepted. */
  readonly maxConnections: number;
  /** A kept-alive connection waiting for its next request is closed after this. */
  readonly idleTimeoutMs: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  maxConnections: 4_096,
  // Node's default is 5 s, shorter than many clients keep an idle connection (undici 4 s, others
  // a minute): the proxy then closes connections its clients still pool and reopen moments later
  // — a handshake, new socket objects and, measured under a steady 2,000 req/s, V8 re-optimising
  // the socket paths each time — and races their next request. A minute, as nginx's 75 s.
  idleTimeoutMs: 60_000,
};

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

/** A request being answered: its connection's ledger and the listener's in-flight counter. */
class Tracked implements Exchange, ResponseCloseWatcher {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ProxyResponse,
    readonly owed: Owed,
    readonly counter: { count: number } | null,
  ) {}

  /** The response has finished or was cut short: nothing more is owed for it. */
  responseClosed(): void {
    if (this.counter !== null) this.counter.count--;
    this.owed.closed(this);
  }
}

/** One client connection's requests whose responses are not finished yet, in request order. */
class Owed {
  /**
   * In request order. An array, not a Set: a connection nearly always owes one response at a
   * time, and a Set going 0 → 1 → 0 entries per request grew and shrank its table each time
   * (~1 µs a request at 2,000 req/s in a CPU profile).
   */
  readonly open: Exchange[] = [];
  /** Set once the connection's last word (an error answer) is decided. */
  ending = false;
  private whenSettled: (() => void) | null = null;

  add(x: Tracked): void {
    this.open.push(x);
    x.res.closeLedger = x;
  }

  closed(x: Exchange): void {
    const open = this.open;
    if (open[0] === x) open.shift();
    else {
      const i = open.indexOf(x);
      if (i !== -1) open.splice(i, 1);
    }
    if (open.length > 0 || this.whenSettled === null) return;
    const then = this.whenSettled;
    this.whenSettled = null;
    then();
  }

  /** Runs `then` once every response owed now has finished (or at once if none is). */
  afterOwed(then: () => void): void {
    if (this.open.length === 0) then();
    else this.whenSettled = then;
  }

  /** The request whose body is still being read, if any. */
  reading(): Exchange | undefined {
    for (const x of this.open) if (!x.req.complete) return x;
    return undefined;
  }
}

/** Where a connection keeps its ledger: a property of the socket, not a WeakMap lookup per request. */
const OWED = Symbol('turnout.owed');
type OwedSocket = Duplex & { [OWED]?: Owed };

function owedOf(socket: OwedSocket): Owed {
  let owed = socket[OWED];
  if (owed === undefined) {
    owed = new Owed();
    socket[OWED] = owed;
  }
  return owed;
}

/**
 * Counts a request read from `req.socket` until its response has finished (closed), and in
 * `counter` (the listener's in-flight count) meanwhile.
 */
export function trackExchange(
  req: IncomingMessage,
  res: ProxyResponse,
  counter: { count: number } | null = null,
): void {
  if (counter !== null) counter.count++;
  const owed = owedOf(req.socket);
  owed.add(new Tracked(req, res, owed, counter));
}

export type ClientErrorReport = (code: ErrorCode) => void;

/** Writes the connection's last answer once what it owes is out, then closes it. */
function endWith(socket: Duplex, owed: Owed, code: ErrorCode, message: string): void {
  owed.ending = true;
  // Nothing more is read: the bytes after the error are not requests we can trust.
  socket.pause();
  owed.afterOwed(() => {
    if (socket.writable) endLingering(socket, rawErrorResponse(code, message));
    else socket.destroy();
  });
}

/**
 * Ends a connection whose request being read cannot complete (its body stalled or is malformed):
 * the error goes in place of that request's answer if it is the only one owed and its answer has
 * not begun; otherwise the connection is cut.
 */
function endBrokenRequest(
  socket: Duplex,
  owed: Owed,
  broken: Exchange,
  code: ErrorCode,
  message: string,
): void {
  owed.ending = true;
  const first = owed.open[0];
  if (first?.req !== broken.req || broken.res.headersSent || !socket.writable) {
    socket.destroy();
    return;
  }
  // Written past the response object, which is abandoned: the socket's close ends it, and that
  // aborts the upstream attempt still waiting for the rest of the body.
  socket.end(rawErrorResponse(code, message), () => socket.destroy());
}

const BODY_TIMEOUT_MESSAGE = 'the request body did not arrive in time';

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
    if (stalled !== undefined)
      endBrokenRequest(socket, owed, stalled, 'request_timeout', BODY_TIMEOUT_MESSAGE);
    else endWith(socket, owed, 'request_timeout', 'the request head did not arrive in time');
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const code: ErrorCode = tooLarge ? 'headers_too_large' : 'bad_request';
  report(code);
  const reason = tooLarge
    ? 'request headers are too large'
    : `malformed request: ${(error as { reason?: string }).reason ?? error.message}`;
  // A malformed body of the request being read: that request can never complete.
  const broken = owed.reading();
  if (broken !== undefined) endBrokenRequest(socket, owed, broken, code, reason);
  else endWith(socket, owed, code, reason);
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

/**
 * Arms the body timeout while a request body is being read: no byte from the client for
 * `timeoutMs` gets 408 (the socket's idle timer, which Node also uses for keep-alive, so it is
 * disarmed once the body is in). A body the proxy itself is not reading (the upstream is slow to
 * take it: bytes wait in the request's buffer) is not the client's fault and is left alone.
 */
export function watchBody(
  req: IncomingMessage,
  res: ServerResponse,
  timeoutMs: number,
  report: ClientErrorReport,
): void {
  if (req.complete || !hasBody(req)) return;
  const socket = req.socket;
  socket.setTimeout(timeoutMs);
  req.on('timeout', () => {
    const owed = owedOf(socket);
    if (owed.ending || req.complete || req.readableLength > 0) return;
    report('request_timeout');
    endBrokenRequest(socket, owed, { req, res }, 'request_timeout', BODY_TIMEOUT_MESSAGE);
  });
  req.once('end', () => {
    // Once the response is out, Node has set the keep-alive timer on this socket: keep it.
    if (!res.writableFinished) socket.setTimeout(0);
  });
}
