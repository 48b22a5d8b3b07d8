// Rotating a ticket's pre-release header value: a new secret in the ticket, recorded in its
// timeline (without the value). The engine owns the lane, so it rewrites the header rule on its
// next tick (the API kicks it); the old value stops matching once the proxies have that snapshot.

import { TurnoutError } from '../errors.js';
import type { Ticket } from '../store/model.js';
import type { StoreTx } from '../store/store.js';
import { notFound } from '../store/validate.js';
import { isTerminal } from './transitions.js';

export async function rotatePrerelease(tx: StoreTx, id: number, actor: string): Promise<Ticket> {
  const ticket = await tx.getTicket(id);
  if (ticket === null) throw notFound('ticket', String(id));
  if (isTerminal(ticket.state)) {
    throw new TurnoutError(
      'conflict',
      `ticket ${id}: rotate-prerelease: the ticket is ${ticket.state}, its lane is gone, so there is no header to rotate`,
      'state',
    );
  }
  const rotated = await tx.rotatePrereleaseSecret(id, actor);
  await tx.appendTicketEvent(id, { type: 'prerelease.rotated', data: {} }, actor);
  return rotated;
}
