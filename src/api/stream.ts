// GET /v1/stream: the routing snapshot as Server-Sent Events, for proxies. The protocol is the one
// the proxy's client documents at the top of src/proxy/config-source.ts:
//
//   - `200`, `Content-Type: text/event-stream`, `Cache-Control: no-cache`;
//   - resume point `?since=<version>` or `Last-Event-ID: <version>` (the query wins when both);
//   - on connect the current snapshot at once, unless its version equals `since` (and it has not
//     been republished at that version after a lease expiry); then every new snapshot, in version
//     order, each as `event: snapshot` / `id: <version>` / `data: <one-line JSON>` / blank line;
//   - a `: keepalive` comment every `keepaliveMs` (15 s);
//   - drop-to-latest per connection: while a slow client's socket is full, the snapshots published
//     meanwhile are skipped and only the newest is written when it drains.
//
// Deltas (`?delta=1`, docs/config-stream.md): a client that can apply deltas says so with the query
// flag; a client without it (an older proxy) gets exactly the protocol above. With the flag:
//   - every event's id is the snapshot's tag `<version>.<revision>`, and the resume point
//     (`since` / Last-Event-ID) is a tag (a bare `<version>` means `<version>.0`);
//   - `event: snapshot` carries the full snapshot, as above, on a first connect, when the resume
//     point is not among the publisher's recent deltas, and whenever the deltas to send would
//     together be no smaller than the full snapshot;
//   - otherwise `event: delta` frames, one per publish, oldest first, each
//     `data: {"from":"<tag>","to":"<tag>","version":W,…}` (src/config/delta.ts), which the client
//     applies to the snapshot it holds after checking `from` is its own tag;
//   - drop-to-latest still holds: a slow client is sent the deltas from the snapshot it last got
//     to the newest in one write (or the newest snapshot whole), never a stale one.
//
// Register it under the `/v1` prefix, like the other route plugins. The route asks for the
// `viewer` role through `config.role`, which only the auth hook of src/api/auth.ts enforces:
// registered on an app without `installAuth` (as in the tests), the stream is open.
//
// Without a `publisher` option the plugin starts its own over `store` and stops it on close
// (createApiServer passes the server's one publisher).
//
// GET /v1/snapshot: the same snapshot by long-poll, for clients that cannot hold an SSE stream.
//
//   - no `since`: `200` with the current snapshot JSON at once;
//   - `since=<version>`: `200` at once when the current version differs; otherwise waits up to
//     `waitMs` (default 30000, at most 60000) for the next publish: `200` with it, or `304` (no
//     body) when nothing was published;
//   - `since=<version>.<revision>`: the same, comparing the revision too, so a client that echoes
//     the `x-turnout-snapshot` header of each answer also gets republishes after a lease expiry
//     (same version, new endpoints) without ever being answered twice for the same snapshot;
//   - every 200 carries `x-turnout-snapshot: <version>.<revision>`; a closing server answers the
//     waiting polls `304` at once.

import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { PublishedSnapshot, Subscriber } from '../control/publisher.js';
import { SnapshotPublisher } from '../control/publisher.js';
import type { Store } from '../store/store.js';
import type { SseResponse } from './sse.js';
import { openSse } from './sse.js';
import type { StreamSlots } from './stream-slots.js';

export interface StreamPluginOptions {
  store: Store;
  publisher?: SnapshotPublisher;
  /** Interval of the `: keepalive` comment. Default 15000. */
  keepaliveMs?: number;
  /** Streams per token, shared with /v1/events; none: not counted (createApiServer passes one). */
  slots?: StreamSlots;
}

export const KEEPALIVE_MS = 15_000;
export const LONG_POLL_DEFAULT_MS = 30_000;
export const LONG_POLL_MAX_MS = 60_000;

/** The SSE frame of one snapshot (the JSON is one line: JSON.stringify never emits a newline). */
export function snapshotFrame(s: Pick<PublishedSnapshot, 'version' | 'json'>): string {
  return `event: snapshot\nid: ${s.version}\ndata: ${s.json}\n\n`;
}

/** The SSE frame of a snapshot on the delta stream (its id is the tag). */
export function taggedSnapshotFrame(s: Pick<PublishedSnapshot, 'tag' | 'json'>): string {
  return `event: snapshot\nid: ${s.tag}\ndata: ${s.json}\n\n`;
}

/** The SSE frame of one delta (JSON on one line), whose id is the tag it leads to. */
export function deltaFrame(to: string, deltaJson: string): string {
  return `event: delta\nid: ${to}\ndata: ${deltaJson}\n\n`;
}

/** Whether the client asked for deltas (`delta=1` or `delta=true`). */
export function wantsDeltas(query: unknown): boolean | 'invalid' {
  const raw = (query as { delta?: unknown } | undefined)?.delta;
  if (raw === undefined) return false;
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false') return false;
  return 'invalid';
}

/** The delta stream's resume point: a tag from the query or Last-Event-ID, null when absent. */
export function parseSinceTag(query: unknown, lastEventId: unknown): string | null | 'invalid' {
  const q = (query as { since?: unknown } | undefined)?.since;
  const raw = q !== undefined ? q : lastEventId;
  const text = Array.isArray(raw) ? raw[0] : raw;
  const tag = parseSnapshotTag(text);
  if (tag === null || tag === 'invalid') return tag;
  return `${tag.version}.${tag.revision ?? 0}`;
}

/** What to write to bring a delta client from `held` to the current snapshot, and its tag. */
export function catchUp(
  pub: SnapshotPublisher,
  held: string | null,
): { text: string; tag: string } | null {
  const cur = pub.current();
  if (cur === null) return null;
  if (held === cur.tag) return { text: '', tag: cur.tag };
  const chain = held === null ? null : pub.deltaChain(held);
  if (chain === null) return { text: taggedSnapshotFrame(cur), tag: cur.tag };
  const text = chain.map((d) => deltaFrame(d.to, d.json)).join('');
  return { text, tag: cur.tag };
}

/** `since` from the query or Last-Event-ID: a non-negative integer, null when absent. */
export function parseSince(query: unknown, lastEventId: unknown): number | null | 'invalid' {
  const q = (query as { since?: unknown } | undefined)?.since;
  const raw = q !== undefined ? q : lastEventId;
  if (raw === undefined || raw === '') return null;
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text)) return 'invalid';
  return Number(text);
}

function invalid(reply: FastifyReply, field: string, message: string) {
  return reply.code(400).send({ error: { code: 'invalid_argument', message, field } });
}

/** A long-poll resume point: `<version>` or `<version>.<revision>`. */
export function parseSnapshotTag(
  raw: unknown,
): { version: number; revision: number | null } | null | 'invalid' {
  if (raw === undefined || raw === '') return null;
  const m = typeof raw === 'string' ? /^(\d{1,15})(?:\.(\d{1,9}))?$/.exec(raw) : null;
  if (m === null) return 'invalid';
  return { version: Number(m[1]), revision: m[2] === undefined ? null : Number(m[2]) };
}

function isHeld(
  s: PublishedSnapshot,
  since: { version: number; revision: number | null } | null,
): boolean {
  if (since === null) return false;
  return s.version === since.version && (since.revision === null || s.revision === since.revision);
}

/** The next snapshot `sub` has not had, or null after `ms` or on `cancel()`; closes `sub`. */
function nextWithin(
  sub: Subscriber,
  ms: number,
): { result: Promise<PublishedSnapshot | null>; cancel: () => void } {
  let cancel = () => {};
  const result = new Promise<PublishedSnapshot | null>((resolve) => {
    const settle = (s: PublishedSnapshot | null) => {
      clearTimeout(timer);
      sub.close();
      resolve(s);
    };
    const timer = setTimeout(() => settle(null), ms);
    cancel = () => settle(null);
    sub.next().then(settle, () => settle(null));
  });
  return { result, cancel };
}

export const streamPlugin: FastifyPluginAsync<StreamPluginOptions> = async (app, options) => {
  const keepaliveMs = options.keepaliveMs ?? KEEPALIVE_MS;
  let publisher = options.publisher;
  if (publisher === undefined) {
    const own = new SnapshotPublisher(options.store, { logger: app.log });
    publisher = own;
    await own.start();
    app.addHook('onClose', async () => own.stop());
  }
  const pub = publisher;
  const open = new Set<ServerResponse>();
  const polls = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const res of open) res.socket?.destroy();
    for (const cancel of polls) cancel();
  });

  app.get('/snapshot', { config: { role: 'viewer' } }, async (request, reply) => {
    const query = (request.query ?? {}) as { since?: unknown; waitMs?: unknown };
    const since = parseSnapshotTag(query.since);
    if (since === 'invalid')
      return invalid(reply, 'since', 'since: must be a snapshot version, or version.revision');
    let waitMs = LONG_POLL_DEFAULT_MS;
    if (query.waitMs !== undefined) {
      const text = String(query.waitMs);
      if (!/^\d{1,6}$/.test(text) || Number(text) > LONG_POLL_MAX_MS)
        return invalid(reply, 'waitMs', `waitMs: must be an integer from 0 to ${LONG_POLL_MAX_MS}`);
      waitMs = Number(text);
    }
    const sub = pub.subscribe();
    const cur = pub.current();
    let answer: PublishedSnapshot | null = null;
    if (cur !== null && !isHeld(cur, since)) {
      sub.close();
      answer = cur;
    } else {
      if (cur !== null) sub.skip(cur);
      const wait = nextWithin(sub, waitMs);
      polls.add(wait.cancel);
      reply.raw.once('close', wait.cancel); // the client went away
      answer = await wait.result;
      polls.delete(wait.cancel);
      reply.raw.off('close', wait.cancel);
    }
    if (answer === null) return reply.code(304).send();
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('x-turnout-snapshot', `${answer.version}.${answer.revision}`)
      .header('cache-control', 'no-cache')
      .send(answer.json);
  });

  // Agent tokens too: the host proxy an agent supervises reads its config with the join token.
  app.get('/stream', { config: { role: 'viewer', agents: true } }, async (request, reply) => {
    const deltas = wantsDeltas(request.query);
    if (deltas === 'invalid')
      return invalid(reply, 'delta', 'delta: must be 1 (send deltas) or 0 (full snapshots only)');
    if (deltas) return deltaStream(request, reply);
    const since = parseSince(request.query, request.headers['last-event-id']);
    if (since === 'invalid') {
      return reply.code(400).send({
        error: {
          code: 'invalid_argument',
          message: 'since: must be a non-negative integer (a snapshot version)',
          field: 'since',
        },
      });
    }
    const { sse, sub } = openStream(request, reply);
    const cur = pub.current();
    if (cur !== null && since !== null && cur.version === since && cur.revision === 0)
      sub.skip(cur);
    try {
      while (!sse.closed) {
        const s = await sub.next();
        if (sse.closed) break;
        await sse.write(snapshotFrame(s));
      }
    } catch {
      // subscription closed (client gone or publisher stopped)
    } finally {
      sse.end();
    }
  });

  /** The stream with deltas (`?delta=1`): see the top of this file. */
  async function deltaStream(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const since = parseSinceTag(request.query, request.headers['last-event-id']);
    if (since === 'invalid') {
      await invalid(reply, 'since', 'since: must be a snapshot tag (version or version.revision)');
      return;
    }
    const { sse, sub } = openStream(request, reply);
    let held = since;
    try {
      while (!sse.closed) {
        await sub.next();
        if (sse.closed) break;
        // From the newest snapshot, whatever `next` answered: the chain ends at the current one.
        const out = catchUp(pub, held);
        if (out === null) continue;
        sub.skip(pub.current()!);
        held = out.tag;
        if (out.text !== '') await sse.write(out.text);
      }
    } catch {
      // subscription closed (client gone or publisher stopped)
    } finally {
      sse.end();
    }
  }

  /** Hijacks the reply into an open SSE stream (sse.ts) with its subscription. */
  function openStream(
    request: FastifyRequest,
    reply: FastifyReply,
  ): { sse: SseResponse; sub: Subscriber } {
    let sub: Subscriber | null = null;
    const sse = openSse(request, reply, {
      slots: options.slots,
      route: '/v1/stream',
      keepaliveMs,
      open,
      onClose: () => sub?.close(),
    });
    // Subscribed once the slot is taken (a refused stream holds no subscription).
    sub = pub.subscribe();
    if (sse.closed) sub.close();
    return { sse, sub };
  }
};
