// Follows a Server-Sent Events stream for as long as it is asked to: one connection at a time,
// reconnecting with backoff (equal jitter) when the server ends it, fails or goes silent past
// idleTimeoutMs (servers send a `: keepalive` comment every 15 s). The one follower behind both
// long-lived streams a host reads: its proxy's config stream (stream-source.ts) and its agent's
// assignment stream (src/agent/assignment-stream.ts). The caller says what each connection asks
// for (a resume point may change between them) and what an event means.
//
// It lives beside the SSE parser in the proxy layer, the lowest that needs it: the proxy may not
// import the client layer (test/architecture/imports.test.ts), and the agent may import both.

import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { SseEvent } from './sse.js';
import { SseParser } from './sse.js';
import { Agent } from './undici-parts.js';

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface SseRequest {
  readonly url: string | URL;
  readonly headers: Record<string, string>;
}

export interface SseFollowerOptions {
  /** PEM CA certificate(s) to trust for https; none: the system's roots. */
  readonly ca?: string | undefined;
  readonly idleTimeoutMs: number;
  readonly backoff: Backoff;
  /** The request of the next connection. */
  readonly connect: () => SseRequest;
  /** Each event; aborting `connection` ends this connection (the next one follows the backoff). */
  readonly onEvent: (event: SseEvent, connection: AbortController) => void;
  /** A connection is about to be made. */
  readonly onConnecting?: () => void;
  /** The server accepted a connection (200, text/event-stream). */
  readonly onOpen?: () => void;
  /** A connection's first sign of life (an event or a comment). */
  readonly onAlive?: () => void;
  /** A connection ended or failed: why, when the next one comes, failures in a row (1 = first). */
  readonly onLost: (reason: string, retryInMs: number, failures: number) => void;
  /** What a refused answer reads as; default `HTTP <status>`, or the content type it got. */
  readonly refusal?: (status: number, contentType: string, body: string) => string;
  /** The follow loop itself failed (a callback threw outside a connection); default: rethrown. */
  readonly onLoopFailed?: (reason: string) => void;
}

/** Equal jitter: a delay drawn from [d/2, d] where d = initial·2^attempt, capped at max. */
export function backoffDelay(
  attempt: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number {
  const d = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + random() * (d / 2));
}

export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  // undici wraps socket errors ("fetch failed"-style); the cause names ECONNREFUSED and the like.
  return cause instanceof Error && !error.message.includes(cause.message)
    ? `${error.message}: ${cause.message}`
    : error.message;
}

function defaultRefusal(status: number, type: string): string {
  return status !== 200
    ? `HTTP ${status}`
    : `expected text/event-stream, got "${type || 'no content type'}"`;
}

export class SseFollower {
  private readonly agent: Agent;
  private loop: Promise<void> | null = null;
  private connection: AbortController | null = null;
  private wake: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly o: SseFollowerOptions) {
    this.agent = new Agent({
      connect: { timeout: 5_000, ...(o.ca === undefined ? {} : { ca: o.ca }) },
    });
  }

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => {
      if (this.o.onLoopFailed === undefined) throw error;
      this.o.onLoopFailed(errorMessage(error));
    });
  }

  /** Ends the connection and the loop, and waits for both. */
  async stop(reason = 'stopped'): Promise<void> {
    this.stopped = true;
    this.connection?.abort(new Error(reason));
    this.wake?.();
    await this.loop;
    await this.agent.destroy().catch(() => {});
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let failures = 0;
    while (!this.stopped) {
      let alive = false;
      let reason = 'the server ended the stream';
      try {
        await this.connectOnce(() => {
          if (!alive) this.o.onAlive?.();
          alive = true;
        });
      } catch (error) {
        reason = errorMessage(error);
      }
      if (this.stopped) return;
      if (alive) {
        attempt = 0;
        failures = 0;
      }
      failures++;
      const delay = backoffDelay(attempt++, this.o.backoff);
      this.o.onLost(reason, delay, failures);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** One connection, until the server ends it (resolves) or it fails or goes idle (rejects). */
  private async connectOnce(onAlive: () => void): Promise<void> {
    this.o.onConnecting?.();
    const idleMs = this.o.idleTimeoutMs;
    const ac = new AbortController();
    this.connection = ac;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ac.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    };
    arm();
    try {
      const { url, headers } = this.o.connect();
      await new Promise<void>((resolve, reject) => {
        const exchange = new SseExchange(this.o, ac, arm, onAlive, { resolve, reject });
        exchange.send(this.agent, url, headers, idleMs);
      });
    } catch (error) {
      // An abort surfaces as the abort reason (idle, stop, the caller's); anything else as itself.
      throw ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason : error;
    } finally {
      clearTimeout(idle);
      if (this.connection === ac) this.connection = null;
    }
  }
}

interface Settle {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The origin and path undici's dispatch takes, from a URL (http or https only). */
function target(url: string | URL): { origin: string; path: string } {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(`Invalid URL protocol: the URL must start with \`http:\` or \`https:\`.`);
  }
  return { origin: u.origin, path: u.pathname + u.search };
}

/**
 * One connection's exchange over the Agent's raw dispatch API (as the proxy's forward.ts), not
 * undici's `request()`: that one lives in undici's index, which the proxy process does not load
 * (undici-parts.ts). Settles once: resolved when the server ends the stream, rejected on a
 * refusal, a failure, a callback that threw, or `ac` aborting (idle, stop, the caller's).
 * No backpressure: events are small and parsed as they come, nothing is buffered but a partial
 * event (and a refusal's body).
 */
class SseExchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private parser: SseParser | null = null;
  /** A refused answer: its status, content type and body so far. */
  private refused: { status: number; type: string; body: Buffer[] } | null = null;
  private settled = false;

  constructor(
    private readonly o: SseFollowerOptions,
    private readonly ac: AbortController,
    private readonly arm: () => void,
    private readonly onAlive: () => void,
    private readonly settle: Settle,
  ) {}

  send(agent: Agent, url: string | URL, headers: Record<string, string>, idleMs: number): void {
    const onAbort = () => {
      this.controller?.abort(this.ac.signal.reason);
      this.fail(this.ac.signal.reason); // not yet dispatched (connecting): done now, not then
    };
    this.ac.signal.addEventListener('abort', onAbort, { once: true });
    try {
      agent.dispatch(
        {
          ...target(url),
          method: 'GET',
          headers,
          headersTimeout: idleMs + 1_000, // our idle timer fires first
          bodyTimeout: 0,
        },
        this,
      );
    } catch (error) {
      this.fail(error); // undici throws on a request it will not send
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ac.signal.aborted) controller.abort(this.ac.signal.reason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.controller = controller;
    if (status < 200 || this.settled) return; // 1xx: an interim answer, the real one follows
    const type = String(headers['content-type'] ?? '').toLowerCase();
    if (status !== 200 || !type.startsWith('text/event-stream')) {
      this.refused = { status, type, body: [] };
      return;
    }
    this.guard(() => {
      this.o.onOpen?.();
      this.parser = new SseParser({
        onEvent: (event) => {
          this.onAlive();
          this.o.onEvent(event, this.ac);
        },
        onComment: () => this.onAlive(),
      });
    });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (this.refused !== null) {
      this.refused.body.push(chunk);
      return;
    }
    this.arm();
    this.guard(() => this.parser?.push(chunk));
  }

  onResponseEnd(): void {
    if (this.settled) return; // aborted: what the parser holds is moot
    if (this.refused !== null) {
      this.refuse(Buffer.concat(this.refused.body).toString('utf8'));
      return;
    }
    this.guard(() => this.parser?.end());
    this.done();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    // A refusal whose body could not be read reads as the refusal without a body (as before).
    if (this.refused !== null) this.refuse('');
    else this.fail(error);
  }

  private refuse(body: string): void {
    const r = this.refused;
    if (r === null) return;
    this.fail(new Error((this.o.refusal ?? defaultRefusal)(r.status, r.type, body)));
  }

  /** A callback of the caller's that throws ends this connection with its error. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (error) {
      this.controller?.abort(error as Error);
      this.fail(error);
    }
  }

  private done(): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.resolve();
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.reject(error);
  }
}
