// GET /v1/events: what changed, as Server-Sent Events, so the dashboard refetches when something
// moved and never polls. Frames (each ends with a blank line):
//
//   event: change            the store's change counter moved (any write: catalog, lanes,
//   data: {"version":N}      instances, tickets and their events, audit); the first frame, sent at
//                            once, is the counter as it stands, so a client that reconnects
//                            compares it with the last one it saw
//   event: traffic           the live traffic window has new data (at most one a second): refetch
//   data: {"at":<unix ms>}   /v1/traffic and /v1/traffic/series
//   : keepalive              a comment every `keepaliveMs` (15 s), so proxies keep the stream open
//
// The browser reads it with fetch() and the body's stream reader, not EventSource: EventSource
// cannot send an Authorization header, and a bearer token must never go in the URL (URLs end up in
// logs, history and Referer headers). So the token travels as `Authorization: Bearer <token>`.
//
// The plugin's one EventFeed (src/api/event-feed.ts) watches for every client. At most
// `maxClients` streams are open at once; one more answers 503 `overloaded` with Retry-After. Each
// token holds at most `slots.perToken` of these and /v1/stream's together
// (src/api/stream-slots.ts); one more answers 503 `too_many_streams`. A slow client skips frames
// while its socket is full and gets only the latest change and traffic frames when it drains (each
// frame says "refetch", so the latest is all it needs).

import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { TurnoutError } from '../../errors.js';
import type { EventFeedOptions, FeedEvent } from '../event-feed.js';
import { EventFeed } from '../event-feed.js';
import type { StreamSlots } from '../stream-slots.js';

export interface EventsPluginOptions extends EventFeedOptions {
  /** Interval of the `: keepalive` comment. Default 15000. */
  keepaliveMs?: number;
  /** Streams open at once. Default 100. */
  maxClients?: number;
  /** Streams per token, shared with /v1/stream; none: not counted (createApiServer passes one). */
  slots?: StreamSlots;
}

export const EVENTS_KEEPALIVE_MS = 15_000;
export const EVENTS_MAX_CLIENTS = 100;

export function eventFrame(event: FeedEvent): string {
  return event.type === 'change'
    ? `event: change\ndata: ${JSON.stringify({ version: event.version })}\n\n`
    : `event: traffic\ndata: ${JSON.stringify({ at: event.at })}\n\n`;
}

/**
 * One open stream: writes frames, holding only the latest of each kind while the socket is full
 * (and before `begin`, while the headers are not written yet).
 */
class Client {
  private blocked = true;
  private readonly held = new Map<FeedEvent['type'], FeedEvent>();

  constructor(private readonly res: ServerResponse) {}

  /** Starts writing: the counter as it stood at subscription first, then anything newer held. */
  begin(version: number): void {
    const held = this.held.get('change');
    const newest = held?.type === 'change' && held.version > version ? held.version : version;
    this.held.set('change', { type: 'change', version: newest });
    this.flush();
  }

  send(event: FeedEvent): void {
    if (this.blocked) {
      this.held.set(event.type, event);
      return;
    }
    this.write(eventFrame(event));
  }

  comment(text: string): void {
    if (!this.blocked) this.write(`: ${text}\n\n`);
  }

  private flush(): void {
    this.blocked = false;
    // change first: a client that reconnects learns the counter before anything else
    const held = (['change', 'traffic'] as const).flatMap((k) => this.held.get(k) ?? []);
    this.held.clear();
    for (const e of held) this.send(e);
  }

  private write(frame: string): void {
    if (this.res.write(frame)) return;
    this.blocked = true;
    this.res.once('drain', () => this.flush());
  }
}

export const eventsPlugin: FastifyPluginAsync<EventsPluginOptions> = async (app, options) => {
  const feed = new EventFeed(options);
  const maxClients = options.maxClients ?? EVENTS_MAX_CLIENTS;
  const open = new Map<ServerResponse, Client>();
  // One timer for every stream's keepalive.
  const keepalive = setInterval(() => {
    for (const c of open.values()) c.comment('keepalive');
  }, options.keepaliveMs ?? EVENTS_KEEPALIVE_MS);
  keepalive.unref();
  app.addHook('preClose', async () => {
    clearInterval(keepalive);
    for (const res of open.keys()) res.socket?.destroy();
    feed.close();
  });

  app.get(
    '/events',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['events'],
        description:
          'Server-Sent Events: `change` ({version}) when the store changes, `traffic` ({at}) when live traffic has new data, `: keepalive` comments. Read it with fetch() and send the token in the Authorization header.',
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      if (open.size >= maxClients) {
        reply.header('retry-after', '5');
        throw new TurnoutError(
          'overloaded',
          `too many event streams open (${maxClients}); try again later`,
        );
      }
      const release = options.slots?.acquire(request.principal?.name ?? null, '/v1/events');
      const res = reply.raw;
      const client = new Client(res);
      open.set(res, client);
      let subscription: { version: number; close: () => void };
      try {
        subscription = await feed.listen((e) => client.send(e));
      } catch (error) {
        open.delete(res);
        release?.();
        throw error;
      }
      reply.hijack();
      res.socket?.setNoDelay(true);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const gone = () => {
        open.delete(res);
        subscription.close();
        release?.();
      };
      res.on('close', gone);
      if (res.destroyed) gone();
      else client.begin(subscription.version);
    },
  );
};
