// One open Server-Sent Events response, as both long-lived streams of the API hold them: the config
// stream (stream.ts, GET /v1/stream) and the assignment stream (routes/assignments.ts). The slot is
// taken before the hijack (so a refusal is still an ordinary JSON error: 503 too_many_streams),
// then the headers go out at once, a `: keepalive` comment every keepaliveMs, and the close of the
// client (or of the server: `open` lets a preClose hook destroy the sockets) is noticed once.

import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StreamSlots } from './stream-slots.js';

export interface OpenSseOptions {
  /** Streams per token; none: not counted. */
  readonly slots?: StreamSlots | undefined;
  /** The route, for the refusal's message. */
  readonly route: string;
  readonly keepaliveMs: number;
  /** The plugin's open responses (its preClose hook destroys their sockets). */
  readonly open: Set<ServerResponse>;
  /** Called once when the response closes (the client left, or the server closes). */
  readonly onClose?: () => void;
}

export interface SseResponse {
  readonly res: ServerResponse;
  /** Whether the client is gone. */
  readonly closed: boolean;
  /** Writes `text`, waiting while the socket is full (or until it closes). */
  write(text: string): Promise<void>;
  /** Ends the response unless the client is already gone. */
  end(): void;
}

/** Hijacks the reply into an open SSE response with its slot and keepalive. */
export function openSse(
  request: FastifyRequest,
  reply: FastifyReply,
  o: OpenSseOptions,
): SseResponse {
  // Before the hijack, so a refusal is an ordinary JSON error (503 too_many_streams).
  const release = o.slots?.acquire(request.principal?.name ?? null, o.route);
  reply.hijack();
  const res = reply.raw;
  res.socket?.setNoDelay(true);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  o.open.add(res);
  let closed = false;
  const keepalive = setInterval(() => {
    if (!closed) res.write(': keepalive\n\n');
  }, o.keepaliveMs);
  const gone = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepalive);
    o.open.delete(res);
    release?.();
    o.onClose?.();
  };
  res.on('close', gone);
  // A client that left before the listener was on: its close event has already gone by.
  if (res.destroyed) gone();
  return {
    res,
    get closed() {
      return closed;
    },
    async write(text) {
      if (!res.write(text)) await waitDrainOrClose(res);
    },
    end() {
      if (!closed) res.end();
    },
  };
}

/** Resolves when a full socket drains, or when it closes (the client left meanwhile). */
export function waitDrainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
