// Upstream endpoints: one undici keep-alive pool and one balancing state per address, kept
// across configuration versions (so latency history and ejections survive a reload) and closed
// once an address has left the configuration.

import type { EndpointState } from './endpoint-state.js';
import { newEndpointState } from './endpoint-state.js';
import { Pool } from './undici-parts.js';

export interface Upstream {
  readonly address: string;
  readonly pool: Pool;
  readonly state: EndpointState;
}

export interface UpstreamOptions {
  readonly connectTimeoutMs: number;
  readonly connectionsPerEndpoint: number;
  readonly keepAliveTimeoutMs: number;
}

export interface Upstreams {
  get(address: string, nowMs: number): Upstream;
  /** Closes pools of addresses not in `keep` (gracefully: in-flight requests finish). */
  retain(keep: ReadonlySet<string>): void;
  all(): Iterable<Upstream>;
  close(): Promise<void>;
}

export function createUpstreams(opts: UpstreamOptions): Upstreams {
  const byAddress = new Map<string, Upstream>();

  function get(address: string, nowMs: number): Upstream {
    let up = byAddress.get(address);
    if (up === undefined) {
      up = {
        address,
        pool: new Pool(`http://${address}`, {
          connections: opts.connectionsPerEndpoint,
          pipelining: 1,
          connect: { timeout: opts.connectTimeoutMs },
          keepAliveTimeout: opts.keepAliveTimeoutMs,
          // Upstreams close idle sockets on their own schedule; undici retries such races itself
          // only for requests it considers idempotent, which the proxy turns off (it owns retries).
          keepAliveTimeoutThreshold: 1_000,
        }),
        state: newEndpointState(address, nowMs),
      };
      byAddress.set(address, up);
    }
    return up;
  }

  function retain(keep: ReadonlySet<string>): void {
    for (const [address, up] of byAddress) {
      if (keep.has(address)) continue;
      byAddress.delete(address);
      void up.pool.close().catch(() => undefined);
    }
  }

  async function close(): Promise<void> {
    const pools = [...byAddress.values()].map((u) => u.pool.close().catch(() => undefined));
    byAddress.clear();
    await Promise.all(pools);
  }

  return { get, retain, all: () => byAddress.values(), close };
}
