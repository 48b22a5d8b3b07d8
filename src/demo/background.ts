// The demo's gentle background traffic: simulated users on shop and admin through the edge, each
// with its own `x-user-id`, so the dashboard's traffic page and the proxy's /stats show a live
// system and a canary has the lane requests its analysis waits for. `turnout demo --no-load`
// leaves it off; `turnout load` sends more on demand.
//
// The figures: a canary step judges each changed module on at least 20 lane requests
// (src/store/plan.ts minRequests) over the last 30 s (windowMs). At 10 requests/s to shop, the
// demo's suggested first step of 10 % sees about 30 in a window. 1000 users cycling, so a
// window's 300 requests come from 300 different users and the share in the lane is close to the
// step's (with 100 users it would be fixed by which of them hash into the lane: 6 of 100 would
// never reach 20).

import type { Load } from './load.js';
import { startLoad } from './load.js';

export const BACKGROUND = {
  shop: { host: 'shop.localhost', users: 1000, rate: 10 },
  admin: { host: 'admin.localhost', users: 100, rate: 2 },
} as const;

/** A day: the demo runs until stopped, but nothing here runs unbounded. */
const MAX_MS = 24 * 3_600_000;

export interface Background {
  stop(): Promise<void>;
}

export function startBackgroundLoad(edge: string): Background {
  const loads: Load[] = Object.entries(BACKGROUND).map(([product, b]) =>
    startLoad({
      edge,
      host: b.host,
      product,
      users: b.users,
      userPrefix: `${product}-user-`,
      rate: b.rate,
      concurrency: 2,
      maxMs: MAX_MS,
      maxRequests: Math.ceil((b.rate * MAX_MS) / 1000),
      // It runs for hours: nothing is kept, the control plane's stats say what it did.
      keepResults: false,
    }),
  );
  return {
    async stop() {
      await Promise.all(loads.map((l) => l.stop()));
    },
  };
}

/** What the demo prints about it. */
export function describeBackground(): string {
  const { shop, admin } = BACKGROUND;
  return `background load: ${shop.rate} requests/s to shop from ${shop.users} users and ${admin.rate}/s to admin (x-user-id), in the dashboard's Traffic page; --no-load turns it off`;
}
