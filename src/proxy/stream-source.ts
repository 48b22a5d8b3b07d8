// The stream driver of the config source: follows the control plane's Server-Sent Events stream of
// snapshots (protocol at the top of config-source.ts), resuming with `since` after every reconnect.
// With `deltas` it asks for deltas (`delta=1`) and resumes from the tag of the snapshot it holds; a
// delta it cannot apply ends the connection, and the reconnect (without `since`) brings a full one.

import type { DriverContext, SourceDriver } from './config-source.js';
import type { SseEvent } from './sse.js';
import { backoffDelay, SseFollower } from './sse-follower.js';

// Callers imported it from here before the follower had its own file.
export { backoffDelay };

export interface StreamDriverOptions {
  readonly token: string | undefined;
  /** PEM CA certificate(s) to trust for an https control plane; none: the system's roots. */
  readonly ca?: string;
  readonly idleTimeoutMs: number;
  /** Ask for deltas (`delta=1`). */
  readonly deltas?: boolean;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
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
  private readonly follower: SseFollower;
  /** Connections that failed in a row (the follower's count at the last loss). */
  private failures = 0;
  /** The resume point the current connection asked for, for the log. */
  private since: string | number | null = null;

  constructor(url: string, ctx: DriverContext, opts: StreamDriverOptions) {
    this.url = new URL(url);
    this.label = redact(this.url);
    this.ctx = ctx;
    this.opts = opts;
    this.follower = new SseFollower({
      ...(opts.ca === undefined ? {} : { ca: opts.ca }),
      idleTimeoutMs: opts.idleTimeoutMs,
      backoff: opts.backoff,
      connect: () => this.request(),
      onConnecting: () => ctx.attempting(),
      onOpen: () =>
        ctx.logger.debug({
          event: 'config_stream_connected',
          source: this.label,
          since: this.since,
        }),
      onAlive: () => this.onAlive(),
      onEvent: (event, connection) => this.onEvent(event, connection),
      onLost: (reason, retryInMs, failures) => this.onLost(reason, retryInMs, failures),
      onLoopFailed: (reason) =>
        ctx.logger.error(
          { event: 'config_stream_failed', source: this.label, reason },
          'snapshot stream loop failed',
        ),
    });
  }

  start(): void {
    this.follower.start();
  }

  async stop(): Promise<void> {
    await this.follower.stop('config source stopped');
  }

  /** Each connection resumes from the snapshot held now (a tag with deltas, else a version). */
  private request(): { url: URL; headers: Record<string, string> } {
    const url = new URL(this.url.href);
    const deltas = this.opts.deltas === true;
    const since = deltas ? this.ctx.sourceTag() : this.ctx.sourceVersion();
    this.since = since;
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
    return { url, headers };
  }

  private onAlive(): void {
    if (this.failures > 0) {
      this.ctx.logger.info(
        { event: 'config_stream_recovered', source: this.label, failures: this.failures },
        'snapshot stream recovered',
      );
    }
    this.failures = 0;
  }

  private onLost(reason: string, retryInMs: number, failures: number): void {
    this.failures = failures;
    this.ctx.failed(reason);
    // The first failure in a row is worth a warning; the retries after it only a debug line.
    this.ctx.logger[failures === 1 ? 'warn' : 'debug'](
      { event: 'config_stream_disconnected', source: this.label, reason, retryInMs },
      'snapshot stream disconnected; reconnecting',
    );
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
