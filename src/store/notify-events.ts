// Which ticket events are worth telling people about, named for them: the engine's own event
// types (src/release/reconcile.ts, engine.ts) are fine-grained and may change; notifiers
// subscribe to these stable names instead. Pure: the store calls it while appending an event,
// in that transaction.

import type { Ticket } from './model.js';
import { readPlan } from './plan.js';

export const NOTIFY_EVENTS = [
  'analysis_failed',
  'aborted',
  'failed',
  'promoted',
  'reverted',
  'waiting_for_approval',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/**
 * The notification an appended ticket event raises, or null. `ticket` is the ticket as it is in
 * the appending transaction (its plan says whether a canary step waits for an operator).
 *
 * - `analysis.failed` → analysis_failed (the engine then also writes `aborted` → aborted)
 * - `aborted` → aborted; `deploy.failed` → failed
 * - `promoted` → promoted, or reverted when the ticket is a revert (it took effect)
 * - `canary.step` of a canary without pauses (each step waits for `approve`), and `canary.done`
 *   of a ticket whose goal is the canary (it waits for `promote`) → waiting_for_approval
 */
export function notifyEventOf(ticket: Ticket, type: string): NotifyEvent | null {
  switch (type) {
    case 'analysis.failed':
      return 'analysis_failed';
    case 'aborted':
      return 'aborted';
    case 'deploy.failed':
      return 'failed';
    case 'promoted':
      return ticket.revertOf === null ? 'promoted' : 'reverted';
    case 'canary.step':
      return readPlan(ticket.plan).canary?.pauseMs === null ? 'waiting_for_approval' : null;
    case 'canary.done':
      return ticket.goal === 'canary' ? 'waiting_for_approval' : null;
    default:
      return null;
  }
}

/** One line for humans (Slack text, logs): what happened to which ticket, and why if known. */
export function notifySummary(n: {
  event: NotifyEvent;
  product: string;
  ticket: number;
  message: string | null;
}): string {
  const what: Record<NotifyEvent, string> = {
    analysis_failed: 'canary analysis failed',
    aborted: 'aborted',
    failed: 'failed',
    promoted: 'promoted',
    reverted: 'reverted (the revert is promoted)',
    waiting_for_approval: 'waiting for approval',
  };
  const why = n.message === null || n.message === '' ? '' : `: ${n.message}`;
  return `${n.product}: ticket #${n.ticket} ${what[n.event]}${why}`;
}
