// A product's promotion history, read from its tickets: the stable version of each module at any
// point, and what reverting a ticket restores. History is append-only: a revert is a new ticket.

import { TurnoutError } from '../errors.js';
import type { Ticket, TicketItem } from '../store/model.js';

/** The product's promoted tickets in promotion order. */
export function promotions(tickets: readonly Ticket[]): Ticket[] {
  return tickets
    .filter((t) => t.state === 'promoted' && t.promotedSeq !== null)
    .sort((a, b) => (a.promotedSeq as number) - (b.promotedSeq as number));
}

/** module → version promoted last, over `promoted` (in promotion order). */
export function stableVersions(promoted: readonly Ticket[]): Map<string, string> {
  const stable = new Map<string, string>();
  for (const t of promoted) for (const i of t.items) stable.set(i.module, i.version);
  return stable;
}

/**
 * The items of a revert of `target`: for each module it changed, the version promoted just before
 * it. A module that no earlier ticket promoted cannot be reverted (there is nothing to go back
 * to), and reverting a ticket that is not promoted means nothing either: both are refused.
 */
export function revertItems(target: Ticket, tickets: readonly Ticket[]): TicketItem[] {
  if (target.state !== 'promoted' || target.promotedSeq === null) {
    throw new TurnoutError(
      'invalid_argument',
      `ticket ${target.id} is ${target.state}, not promoted: only a promoted ticket can be reverted (abort an active one)`,
      'ticket',
    );
  }
  const before = stableVersions(
    promotions(tickets).filter((t) => (t.promotedSeq as number) < (target.promotedSeq as number)),
  );
  const missing = target.items.filter((i) => !before.has(i.module)).map((i) => i.module);
  if (missing.length > 0) {
    throw new TurnoutError(
      'invalid_argument',
      `ticket ${target.id} cannot be reverted: no version of ${missing.join(', ')} was promoted before it`,
      'ticket',
    );
  }
  return target.items.map((i) => ({ module: i.module, version: before.get(i.module) as string }));
}
