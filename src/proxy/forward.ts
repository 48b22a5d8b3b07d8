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

/** A dispatch handler that pipes the upstream response into the client's response. */
class ResponsePipe implements Dispatcher.DispatchHandler, DeadlineEntry {
  private controller: Dispatcher.DispatchController | null = null;
  private started = false;
  private held = false;
  private readonly onDrain = () => this.controller?.resume();
  private readonly onClientClose = () => {
    if (!this.res.writableFinished)
      this.controller?.abort(new Error('client closed the connection'));
  };
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
    private readonly res: ServerResponse,
    private readonly holdBack503: boolean,
    private readonly body: IncomingMessage | null,
    private readonly sink: AttemptSink,
    timeoutMs: number,
  ) {
    res.on('close', this.onClientClose);
    this.deadlines = deadlinesFor(timeoutMs);
    this.deadlines.add(this);
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
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.cleanup();
    if (this.held) {
      this.report(HELD_503);
      return;
    }
    if (Object.keys(trailers).length > 0) this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
    this.report({ kind: 'responded', status: this.res.statusCode });
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
    this.res.off('close', this.onClientClose);
    this.res.off('drain', this.onDrain);
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
  const handler = new ResponsePipe(res, opts.holdBack503, opts.body, sink, opts.headersTimeoutMs);
  try {
    pool.dispatch(
      {
        path: opts.path,
        method: opts.method,
        headers: opts.headers,
        body: opts.body,
        headersTimeout: opts.headersTimeoutMs,
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
