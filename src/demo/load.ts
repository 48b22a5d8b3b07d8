// A steady, bounded load on the edge for the demo's tour and the release tests: a few
// connections, each sending one request at a time with a user key, recording what served it
// (the example services answer with their name, version and lane, and those of what they called).

import { Agent, request } from 'undici';

/** What served one request, as the example services report it. */
export interface Served {
  readonly at: number;
  readonly status: number;
  readonly user: string;
  readonly product: string;
  /** The lane the entry service saw, or null (stable). */
  readonly lane: string | null;
  /** module → version, over the whole call tree. */
  readonly versions: Readonly<Record<string, string>>;
  readonly error?: string;
}

interface Reply {
  service: string;
  version: string;
  lane: string | null;
  calls?: Reply[];
}

function versionsOf(reply: Reply, out: Record<string, string> = {}): Record<string, string> {
  if (typeof reply.service === 'string' && typeof reply.version === 'string')
    out[reply.service] = reply.version;
  for (const c of reply.calls ?? []) versionsOf(c, out);
  return out;
}

export interface Load {
  readonly results: Served[];
  stop(): Promise<Served[]>;
}

/**
 * Steady load on the edge: `concurrency` loops, each sending one request at a time for host
 * `host` with `x-user-id: <prefix><n>` cycling over `users` users, until stop() or `maxMs` /
 * `maxRequests` (whichever first).
 */
export function startLoad(o: {
  edge: string;
  host: string;
  product: string;
  users: number;
  userPrefix?: string;
  concurrency?: number;
  maxMs?: number;
  maxRequests?: number;
  headers?: Record<string, string>;
}): Load {
  const results: Served[] = [];
  const dispatcher = new Agent({ connections: o.concurrency ?? 4, keepAliveTimeout: 10_000 });
  const deadline = Date.now() + (o.maxMs ?? 180_000);
  const max = o.maxRequests ?? 200_000;
  let stopped = false;
  let n = 0;
  const loop = async () => {
    while (!stopped && Date.now() < deadline && n < max) {
      const user = `${o.userPrefix ?? 'u'}${n++ % o.users}`;
      const at = Date.now();
      try {
        const res = await request(o.edge, {
          dispatcher,
          headers: { host: o.host, 'x-user-id': user, ...o.headers },
        });
        const text = await res.body.text();
        let versions: Record<string, string> = {};
        let lane: string | null = null;
        try {
          const body = JSON.parse(text) as Reply;
          versions = versionsOf(body);
          lane = body.lane ?? null;
        } catch {
          // not JSON: an error page from the proxy
        }
        results.push({
          at,
          status: res.statusCode,
          user,
          product: o.product,
          lane,
          versions,
          ...(res.statusCode === 200 ? {} : { error: text.slice(0, 200) }),
        });
      } catch (error) {
        results.push({
          at,
          status: 0,
          user,
          product: o.product,
          lane: null,
          versions: {},
          error: String(error),
        });
      }
    }
  };
  const loops = Array.from({ length: o.concurrency ?? 4 }, loop);
  let closed: Promise<void> | null = null;
  return {
    results,
    async stop() {
      stopped = true;
      closed ??= Promise.all(loops).then(() => dispatcher.close());
      await closed;
      return results;
    },
  };
}
