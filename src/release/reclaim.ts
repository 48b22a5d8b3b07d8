// Reclaim: which instances may be stopped. A version is kept while any product's base dtab or any
// lane names it, any active ticket carries it, or it is in one of a product's last N promoted
// tickets (N = the product's retainTickets) — so a revert within N tickets is a routing switch.

import { isLive } from '../store/endpoint.js';
import type { Instance, Lane, Product, Ticket } from '../store/model.js';
import { promotions } from './history.js';
import { versionsNamed } from './routes.js';
import { isTerminal } from './transitions.js';

const key = (module: string, version: string) => `${module}@${version}`;

/** `module@version` of every version that must keep its instances. */
export function keptVersions(
  products: readonly Product[],
  lanes: readonly Lane[],
  tickets: readonly Ticket[],
): Set<string> {
  const keep = new Set<string>();
  const add = (names: Iterable<string>) => {
    for (const n of names) keep.add(n);
  };
  for (const p of products) add(versionsNamed(p.baseDtab));
  for (const l of lanes) add(versionsNamed(l.overlay));
  for (const t of tickets) {
    if (!isTerminal(t.state)) add(t.items.map((i) => key(i.module, i.version)));
  }
  for (const p of products) {
    const own = promotions(tickets.filter((t) => t.product === p.name));
    for (const t of own.slice(Math.max(0, own.length - p.retainTickets))) {
      add(t.items.map((i) => key(i.module, i.version)));
    }
  }
  return keep;
}

/** Live instances (starting or ready) whose version is not kept: to drain, then stop. */
export function toReclaim(instances: readonly Instance[], keep: ReadonlySet<string>): Instance[] {
  return instances.filter((i) => isLive(i) && !keep.has(key(i.module, i.version)));
}
