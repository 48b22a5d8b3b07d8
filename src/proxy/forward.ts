// Stage 5, forward: one attempt to send a request to one endpoint through undici's raw dispatch
// API, streaming both bodies with backpressure (never buffered whole). It reports what happened
// to the caller's sink (no promise per attempt) so the caller can record it and decide on a
// retry; it writes the client's response only once it has decided to commit to this attempt's
// answer.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { DeadlineEntry } from './deadlines.js';
import { type DeadlineList, deadlinesFor } from './deadlines.js';
import { responseHeaders } from './headers.js';

export interface AttemptOptions {
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  /** The client's body stream, or null when the request has none. */
  readonly body: IncomingMessage | null;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  /** When the attempt starts, on the proxy's clock (`performance.now()`): its deadline counts from it. */
  readonly startedAt: number;
  /** When true, a 503 answer is not written to the client: the caller may retry instead. */
  readonly holdBack503: boolean;
}

/** Where an attempt reports its result, once. */
export interface AttemptSink {
  attempted(result: AttemptResult): void;
}

export type AttemptResult =
  | { readonly kind: 'responded'; readonly status: number }
  | { readonly kind: 'held-503' }
  | {
      readonly kind: 'failed';
      readonly error: Error;
      readonly failure: FailureKind;
      readonly responseStarted: boolean;
      /** Whether any of the client's request body was consumed (then it cannot be replayed). */
      readonly bodyRead: boolean;
    };

/** Errors where the connection was never made: the upstream application saw nothing. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Errors where an established connection closed before any response byte. */
const RESET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export type FailureKind = 'connect' | 'reset' | 'timeout' | 'other';

/**
 * How an attempt failed. `connect`: safe to retry any request whose body was not read. `reset`:
 * the upstream may have seen the request, so only idempotent requests are retried.
 */
export function failureKind(error: Error): FailureKind {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (CONNECT_ERRORS.has(code)) return 'connect';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  if (RESET_ERRORS.has(code)) return 'reset';
  return 'other';
}

/** The attempt a client response is waiting on, if any: what its shared listeners act on. */
const PIPE = Symbol('turnout.responsePipe');
type PipedResponse = ServerResponse & { [PIPE]?: ResponsePipe | null };

/**
 * A response's 'close' listener, added once per response however many attempts it sees: one
 * shared function (the emitter is `this`) instead of a closure added and removed per attempt.
 */
function abortOnClientClose(this: PipedResponse): void {
  const pipe = this[PIPE];
  if (pipe != null && !this.writableFinished) pipe.abort(new Error('client closed the connection'));
}

/** A response's 'drain' listener while the upstream is paused for it. */
function resumeOnDrain(this: PipedResponse): void {
  this[PIPE]?.resume();
}

/** A status's 'responded' result: one shared object per status instead of one per attempt. */
const RESPONDED: AttemptResult[] = [];

function responded(status: number): AttemptResult {
  let r = RESPONDED[status];
  if (r === undefined) {
    r = Object.freeze({ kind: 'responded', status });
    if (status >= 100 && status <= 999) RESPONDED[status] = r;
  }
  return r;
}

function hasAny(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

/** A dispatch handler that pipes the upstream response into the client's response. */
class ResponsePipe implements Dispatcher.DispatchHandler, DeadlineEntry {
  private controller: Dispatcher.DispatchController | null = null;
  private started = false;
  private held = false;
  private waitingDrain = false;
  /**
   * The response-headers deadline, on the proxy's shared deadline list (deadlines.ts): undici's
   * own headersTimeout runs on its coarse timers (≈0.5 s ticks), which let a 300 ms timeout fire
   * after a second, and a native timer per attempt costs an object and a timer-list insert each.
   */
  private readonly deadlines: DeadlineList;
  deadlineAt = 0;
  deadlinePrev: DeadlineEntry | null = null;
  deadlineNext: DeadlineEntry | null = null;
  deadlineList: DeadlineList | null = null;
  private timedOut: Error | null = null;
  private reported = false;

  constructor(
    private readonly res: PipedResponse,
    private readonly holdBack503: boolean,
    private readonly body: IncomingMessage | null,
    private readonly sink: AttemptSink,
    timeoutMs: number,
    startedAt: number,
  ) {
    if (res[PIPE] === undefined) res.on('close', abortOnClientClose);
    res[PIPE] = this;
    this.deadlines = deadlinesFor(timeoutMs);
    this.deadlines.add(this, startedAt);
  }

  /** The client has gone (or the attempt timed out): stop the upstream exchange. */
  abort(error: Error): void {
    this.controller?.abort(error);
  }

  /** The client can take more: let the upstream's body flow again. */
  resume(): void {
    this.waitingDrain = false;
    this.controller?.resume();
  }

  /** No response headers in time. */
  expire(): void {
    const ms = this.deadlines.timeoutMs;
    this.timedOut = Object.assign(new Error(`no response headers within ${ms} ms`), {
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    // Not dispatched yet (queued for a connection): aborted as soon as it is.
    this.controller?.abort(this.timedOut);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.timedOut !== null) controller.abort(this.timedOut);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.controller = controller;
    this.clearDeadline();
    if (status < 200) return; // 1xx: Node answers the client's Expect itself; drop interim ones
    this.started = true;
    if (status === 503 && this.holdBack503) {
      this.held = true;
      return;
    }
    this.res.writeHead(status, statusMessage, responseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.held) return;
    if (!this.res.write(chunk) && !this.waitingDrain) {
      controller.pause();
      this.waitingDrain = true;
      this.res.once('drain', resumeOnDrain);
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.cleanup();
    if (this.held) {
      this.report(HELD_503);
      return;
    }
    if (hasAny(trailers)) this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
    this.report(responded(this.res.statusCode));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  /** Ends the attempt as failed (also when dispatch throws before any callback). */
  fail(error: Error): void {
    this.cleanup();
    this.report({
      kind: 'failed',
      error,
      failure: failureKind(error),
      responseStarted: this.started && !this.held,
      bodyRead: this.body?.readableDidRead === true,
    });
  }

  /** The result, to the sink once: as a promise's resolve ignored a second call, so does this. */
  private report(r: AttemptResult): void {
    if (this.reported) return;
    this.reported = true;
    this.sink.attempted(r);
  }

  private clearDeadline(): void {
    this.deadlines.remove(this);
  }

  private cleanup(): void {
    this.clearDeadline();
    if (this.res[PIPE] === this) this.res[PIPE] = null;
    if (this.waitingDrain) {
      this.waitingDrain = false;
      this.res.off('drain', resumeOnDrain);
    }
  }
}

const HELD_503: AttemptResult = { kind: 'held-503' };

/** Sends one attempt; its result goes to `sink` once (also when dispatch throws). */
export function sendAttempt(
  pool: Dispatcher,
  res: ServerResponse,
  opts: AttemptOptions,
  sink: AttemptSink,
): void {
  const handler = new ResponsePipe(
    res,
    opts.holdBack503,
    opts.body,
    sink,
    opts.headersTimeoutMs,
    opts.startedAt,
  );
  try {
    pool.dispatch(
      {
        path: opts.path,
        method: opts.method,
        headers: opts.headers,
        body: opts.body,
        // The response-headers deadline is the proxy's own (ResponsePipe): undici's, a backstop,
        // is given the body timeout's value so its parser refreshes one timer when the headers
        // arrive instead of replacing it with another (a timer object per request).
        headersTimeout: Math.max(opts.headersTimeoutMs, opts.bodyTimeoutMs),
        bodyTimeout: opts.bodyTimeoutMs,
        // The proxy decides on retries itself (budgeted); undici must not replay on its own.
        idempotent: false,
        blocking: true,
      },
      handler,
    );
  } catch (error) {
    // undici throws on a request it will not send: a failed attempt, not a crashed handler.
    handler.fail(error as Error);
  }
}
