// Follows a Server-Sent Events stream for as long as it is asked to: one connection at a time,
// reconnecting with backoff (equal jitter) when the server ends it, fails or goes silent past
// idleTimeoutMs (servers send a `: keepalive` comment every 15 s). The one follower behind both
// long-lived streams a host reads: its proxy's config stream (stream-source.ts) and its agent's
// assignment stream (src/agent/assignment-stream.ts). The caller says what each connection asks
// for (a resume point may change between them) and what an event means.
//
// It lives beside the SSE parser in the proxy layer, the lowest that needs it: the proxy may not
// import the client layer (test/architecture/imports.test.ts), and the agent may import both.

import { Agent, request } from 'undici';
import type { SseEvent } from './sse.js';
import { SseParser } from './sse.js';

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
      const res = await request(url, {
        method: 'GET',
        headers,
        signal: ac.signal,
        dispatcher: this.agent,
        headersTimeout: idleMs + 1_000, // our idle timer fires first
        bodyTimeout: 0,
      });
      const type = String(res.headers['content-type'] ?? '').toLowerCase();
      if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        const body = await res.body.text().catch(() => '');
        throw new Error((this.o.refusal ?? defaultRefusal)(res.statusCode, type, body));
      }
      this.o.onOpen?.();
      const parser = new SseParser({
        onEvent: (event) => {
          onAlive();
          this.o.onEvent(event, ac);
        },
        onComment: () => onAlive(),
      });
      for await (const chunk of res.body) {
        arm();
        parser.push(chunk as Buffer);
      }
      parser.end();
    } catch (error) {
      // An abort surfaces as the abort reason (idle, stop, the caller's); anything else as itself.
      throw ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason : error;
    } finally {
      clearTimeout(idle);
      if (this.connection === ac) this.connection = null;
    }
  }
}
