// A steady, bounded load on the edge for `turnout load`, the demo's background traffic, its tour
// and the release tests: a few connections, each sending one request at a time with a user key,
// recording what served it (the example services answer with their name, version and lane, and
// those of what they called: load-summary.ts reads that). Bounded in time and count always; paced
// to a rate when one is given, as fast as the connections go otherwise.

import { Agent, request } from 'undici';
import type { Served } from './load-summary.js';
import { readReply } from './load-summary.js';

export type { Served } from './load-summary.js';

export interface Load {
  /** Every request so far (empty when started with keepResults: false). */
  readonly results: Served[];
  /** How many requests were answered or failed so far. */
  readonly sent: () => number;
  /** Resolves when the load ends by itself (maxMs, maxRequests) or is stopped. */
  readonly done: Promise<Served[]>;
  stop(): Promise<Served[]>;
}

export interface LoadOptions {
  /** The edge's base URL, e.g. http://127.0.0.1:8080. */
  edge: string;
  /** The Host header: the product's host. */
  host: string;
  product: string;
  /** Simulated users: `x-user-id: <prefix><n>`, n cycling over 0 … users − 1. */
  users: number;
  userPrefix?: string;
  /** Requests in flight at most (default 4). */
  concurrency?: number;
  /** Requests per second over all users; absent: as fast as the connections go. */
  rate?: number;
  maxMs?: number;
  maxRequests?: number;
  /** The request path (default /). */
  path?: string;
  headers?: Record<string, string>;
  /** Keep every request in `results` (default true); off for a load that runs for hours. */
  keepResults?: boolean;
  /** Called with every request as it ends. */
  onServed?: (served: Served) => void;
}

/** Sleeps that stop() can cut short, so a paced load stops at once. */
function sleeper() {
  const waking = new Set<() => void>();
  return {
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          waking.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        waking.add(wake);
      }),
    wakeAll: () => {
      for (const wake of [...waking]) wake();
    },
  };
}

async function send(
  o: LoadOptions,
  dispatcher: Agent,
  url: string,
  user: string,
  at: number,
): Promise<Served> {
  const base = { at, user, product: o.product };
  try {
    const res = await request(url, {
      dispatcher,
      headers: { host: o.host, 'x-user-id': user, ...o.headers },
    });
    const text = await res.body.text();
    const { lane, versions } = readReply(text);
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const code = res.headers['x-turnout-error'];
    const why = typeof code === 'string' ? `${res.statusCode} ${code}` : text.slice(0, 200);
    return { ...base, status: res.statusCode, lane, versions, ...(ok ? {} : { error: why }) };
  } catch (error) {
    return { ...base, status: 0, lane: null, versions: {}, error: String(error) };
  }
}

/**
 * Steady load on the edge: `concurrency` loops, each sending one request at a time, paced to
 * `rate` when given, until stop() or `maxMs` / `maxRequests` (whichever first).
 */
export function startLoad(o: LoadOptions): Load {
  const results: Served[] = [];
  const concurrency = o.concurrency ?? 4;
  const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const url = new URL(o.path ?? '/', o.edge).toString();
  const deadline = Date.now() + (o.maxMs ?? 180_000);
  const max = o.maxRequests ?? 200_000;
  const interval = o.rate === undefined ? 0 : 1000 / o.rate;
  const { sleep, wakeAll } = sleeper();
  let nextAt = Date.now();
  let stopped = false;
  let n = 0;
  let sent = 0;
  const going = () => !stopped && Date.now() < deadline && n < max;
  /** Waits for the next send slot of the pace; false when the load is over meanwhile. */
  const slot = async (): Promise<boolean> => {
    if (interval > 0) {
      const now = Date.now();
      // After a stall (a slow answer, a busy machine) the pace goes on from now: no burst.
      if (nextAt < now - interval) nextAt = now;
      const at = nextAt;
      nextAt += interval;
      if (at > now) await sleep(at - now);
    }
    return going();
  };
  const loop = async () => {
    while (going() && (await slot())) {
      const user = `${o.userPrefix ?? 'u'}${n++ % o.users}`;
      const served = await send(o, dispatcher, url, user, Date.now());
      sent += 1;
      if (o.keepResults !== false) results.push(served);
      o.onServed?.(served);
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, loop))
    .then(() => dispatcher.close())
    .then(() => results);
  return {
    results,
    sent: () => sent,
    done,
    async stop() {
      stopped = true;
      wakeAll();
      return done;
    },
  };
}
