// The stream driver of the config source: follows the control plane's Server-Sent Events stream of
// snapshots (protocol at the top of config-source.ts), resuming with `since` after every reconnect.
// With `deltas` it asks for deltas (`delta=1`) and resumes from the tag of the snapshot it holds; a
// delta it cannot apply ends the connection, and the reconnect (without `since`) brings a full one.

import { Agent, request } from 'undici';
import type { DriverContext, SourceDriver } from './config-source.js';
import type { SseEvent } from './sse.js';
import { SseParser } from './sse.js';

export interface StreamDriverOptions {
  readonly token: string | undefined;
  /** PEM CA certificate(s) to trust for an https control plane; none: the system's roots. */
  readonly ca?: string;
  readonly idleTimeoutMs: number;
  /** Ask for deltas (`delta=1`). */
  readonly deltas?: boolean;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
}

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  // undici wraps socket errors ("fetch failed"-style); the cause names ECONNREFUSED and the like.
  return cause instanceof Error && !error.message.includes(cause.message)
    ? `${error.message}: ${cause.message}`
    : error.message;
}

/** Equal jitter: a delay drawn from [d/2, d] where d = initial·2^attempt, capped at max. */
export function backoffDelay(
  attempt: number,
  backoff: { readonly initialMs: number; readonly maxMs: number },
  random: () => number = Math.random,
): number {
  const d = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + random() * (d / 2));
}

/** The URL without credentials, for logs. */
function redact(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  return u.href;
}

export class StreamDriver implements SourceDriver {
  readonly label: string;
  private readonly url: URL;
  private readonly ctx: DriverContext;
  private readonly opts: StreamDriverOptions;
  private readonly agent: Agent;
  private loop: Promise<void> | null = null;
  private connection: AbortController | null = null;
  private wake: (() => void) | null = null;
  private stopped = false;

  constructor(url: string, ctx: DriverContext, opts: StreamDriverOptions) {
    this.url = new URL(url);
    this.label = redact(this.url);
    this.ctx = ctx;
    this.opts = opts;
    this.agent = new Agent({
      connect: { timeout: 5_000, ...(opts.ca === undefined ? {} : { ca: opts.ca }) },
    });
  }

  start(): void {
    this.loop = this.run().catch((error) =>
      this.ctx.logger.error(
        { event: 'config_stream_failed', source: this.label, reason: errorMessage(error) },
        'snapshot stream loop failed',
      ),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connection?.abort(new Error('config source stopped'));
    this.wake?.();
    await this.loop;
    await this.agent.destroy().catch(() => {});
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let failures = 0;
    while (!this.stopped) {
      let healthy = false;
      let reason: string;
      try {
        await this.connectOnce(() => {
          if (!healthy && failures > 0) {
            this.ctx.logger.info(
              { event: 'config_stream_recovered', source: this.label, failures },
              'snapshot stream recovered',
            );
          }
          healthy = true;
          failures = 0;
        });
        reason = 'the server ended the stream';
      } catch (error) {
        reason = errorMessage(error);
      }
      if (this.stopped) break;
      if (healthy) attempt = 0;
      failures++;
      this.ctx.failed(reason);
      const delay = backoffDelay(attempt++, this.opts.backoff);
      // The first failure in a row is worth a warning; the retries after it only a debug line.
      this.ctx.logger[failures === 1 ? 'warn' : 'debug'](
        { event: 'config_stream_disconnected', source: this.label, reason, retryInMs: delay },
        'snapshot stream disconnected; reconnecting',
      );
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
    this.ctx.attempting();
    const ac = new AbortController();
    this.connection = ac;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => ac.abort(new Error(`no data for ${this.opts.idleTimeoutMs} ms`)),
        this.opts.idleTimeoutMs,
      );
    };
    arm();
    try {
      const url = new URL(this.url.href);
      const deltas = this.opts.deltas === true;
      const since = deltas ? this.ctx.sourceTag() : this.ctx.sourceVersion();
      const headers: Record<string, string> = {
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
      };
      if (deltas) url.searchParams.set('delta', '1');
      if (since !== null) {
        url.searchParams.set('since', String(since));
        headers['last-event-id'] = String(since);
      }
      if (this.opts.token !== undefined) headers.authorization = `Bearer ${this.opts.token}`;
      const res = await request(url, {
        method: 'GET',
        headers,
        signal: ac.signal,
        dispatcher: this.agent,
        headersTimeout: this.opts.idleTimeoutMs + 1_000, // our idle timer fires first
        bodyTimeout: 0,
      });
      const type = String(res.headers['content-type'] ?? '').toLowerCase();
      if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        await res.body.dump().catch(() => {});
        throw new Error(
          res.statusCode !== 200
            ? `HTTP ${res.statusCode}`
            : `expected text/event-stream, got "${type || 'no content type'}"`,
        );
      }
      this.ctx.logger.debug({
        event: 'config_stream_connected',
        source: this.label,
        since,
      });
      const parser = new SseParser({
        onEvent: (event) => {
          onAlive();
          this.onEvent(event, ac);
        },
        onComment: () => onAlive(),
      });
      for await (const chunk of res.body) {
        arm();
        parser.push(chunk as Buffer);
      }
      parser.end();
    } catch (error) {
      // An abort surfaces as the abort reason (idle, stop); anything else as itself.
      throw ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason : error;
    } finally {
      clearTimeout(idle);
      if (this.connection === ac) this.connection = null;
    }
  }

  private onEvent(event: SseEvent, connection: AbortController): void {
    if (connection.signal.aborted) return; // resyncing: the rest of this connection is moot
    const deltas = this.opts.deltas === true;
    if (event.type === 'snapshot') {
      this.ctx.offer(event.data, this.label, event.id, deltas && event.id.includes('.'));
      return;
    }
    if (event.type === 'delta' && deltas) {
      const result = this.ctx.offerDelta(event.data, this.label, event.id);
      if (result.kind === 'resync')
        connection.abort(new Error(`resync for a full snapshot: ${result.reason}`));
      return;
    }
    this.ctx.logger.debug({ event: 'config_stream_event_ignored', type: event.type });
  }
}
