// Stage 5, forward: one attempt to send a request to one endpoint through undici's raw dispatch
// API, streaming both bodies with backpressure (never buffered whole). It reports what happened
// to the caller's sink (no promise per attempt) so the caller can record it and decide on a
// retry; it writes the client's response only once it has decided to commit to this attempt's
// answer.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { DeadlineEntry } from './deadlines.js';
import { type DeadlineList, deadlinesFor } from './deadlines.js';
import { contentLengthOf, responseHeaderList } from './headers.js';
import type { ProxyResponse, ResponseCloseWatcher } from './response-close.js';

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

/**
 * A dispatch handler that pipes the upstream response into the client's response. It speaks
 * undici's raw handler protocol (onConnect, onHeaders with the header block as Buffers, onData,
 * onComplete, onError) — the one undici's Request itself calls — rather than the controller API,
 * which undici implements as a wrapper on top: per response that wrapper is two more objects and
 * parses the headers and trailers into objects, which the proxy then copied again to drop
 * hop-by-hop ones. Here the raw block becomes the client's header list in one pass.
 */
class ResponsePipe implements Dispatcher.DispatchHandler, DeadlineEntry, ResponseCloseWatcher {
  /** undici's abort for this exchange (from onConnect); null until it is dispatched. */
  private abortUpstream: ((error: Error) => void) | null = null;
  /** undici's resume for a paused response body (from onHeaders). */
  private resumeUpstream: (() => void) | null = null;
  private started = false;
  private held = false;
  /** Body bytes still to come by the answer's Content-Length; -1 without one (chunked, or none). */
  private bodyLeft = -1;
  /** The body's last bytes, held for `end()` (onComplete follows in the same parser run). */
  private lastChunk: Buffer | null = null;
  /** The response's 'drain' listener while the upstream is paused for it (slow clients only). */
  private onDrain: (() => void) | null = null;
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
    private readonly res: ProxyResponse,
    private readonly holdBack503: boolean,
    private readonly body: IncomingMessage | null,
    private readonly sink: AttemptSink,
    timeoutMs: number,
    startedAt: number,
  ) {
    // The response tells this attempt if it closes first (response-close.ts).
    res.closeAttempt = this;
    this.deadlines = deadlinesFor(timeoutMs);
    this.deadlines.add(this, startedAt);
  }

  /** The client's response closed while this attempt was piping into it: the client has gone. */
  responseClosed(res: ServerResponse): void {
    if (!res.writableFinished) this.abortUpstream?.(new Error('client closed the connection'));
  }

  /** No response headers in time. */
  expire(): void {
    const ms = this.deadlines.timeoutMs;
    this.timedOut = Object.assign(new Error(`no response headers within ${ms} ms`), {
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    // Not dispatched yet (queued for a connection): aborted as soon as it is.
    this.abortUpstream?.(this.timedOut);
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.timedOut !== null) abort(this.timedOut);
  }

  /** Returns false to pause the body (never here: a body is paused from onData). */
  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    this.resumeUpstream = resume;
    this.clearDeadline();
    if (status < 200) return true; // 1xx: Node answers the client's Expect itself; drop interim ones
    this.started = true;
    if (status === 503 && this.holdBack503) {
      this.held = true;
      return true;
    }
    const headers = responseHeaderList(raw);
    this.bodyLeft = contentLengthOf(headers);
    this.res.writeHead(status, statusText, headers);
    return true;
  }

  /**
   * Returns false to pause the upstream until the client's side drains. The chunk that completes
   * a Content-Length body is not written but kept for `res.end(chunk)` in onComplete, which
   * undici's parser calls right after it, in the same run: so a small answer goes out as head
   * and body in one socket write, with no cork and no tick per response (`write` corks the
   * socket and uncorks it on the next tick). No chunk is ever held waiting for more bytes.
   */
  onData(chunk: Buffer): boolean {
    if (this.held) return true;
    if (this.bodyLeft >= 0) {
      this.bodyLeft -= chunk.length;
      if (this.bodyLeft === 0) {
        this.lastChunk = chunk;
        return true;
      }
    }
    if (this.res.write(chunk)) return true;
    if (this.onDrain === null) {
      this.onDrain = () => {
        this.onDrain = null;
        this.resumeUpstream?.();
      };
      this.res.once('drain', this.onDrain);
    }
    return false;
  }

  /** `raw`: the trailer block as [name, value, …] (Buffers from the parser; nearly always empty). */
  onComplete(raw: readonly (Buffer | string)[] | null): void {
    this.cleanup();
    if (this.held) {
      this.report(HELD_503);
      return;
    }
    if (raw !== null && raw.length > 0) this.res.addTrailers(trailerPairs(raw));
    if (this.lastChunk === null) this.res.end();
    else this.res.end(this.lastChunk);
    this.report(responded(this.res.statusCode));
  }

  onError(error: Error): void {
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
    if (this.res.closeAttempt === this) this.res.closeAttempt = null;
    if (this.onDrain !== null) {
      this.res.off('drain', this.onDrain);
      this.onDrain = null;
    }
  }
}

/** A raw trailer block as the [name, value] pairs `addTrailers` takes. */
function trailerPairs(raw: readonly (Buffer | string)[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([latin1(raw[i]!), latin1(raw[i + 1]!)]);
  return pairs;
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

const HELD_503: AttemptResult = { kind: 'held-503' };

/** Sends one attempt; its result goes to `sink` once (also when dispatch throws). */
export function sendAttempt(
  pool: Dispatcher,
  res: ProxyResponse,
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
