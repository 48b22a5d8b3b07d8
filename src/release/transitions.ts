// Which operator commands each ticket state accepts, and what each command asks for (the goal).
// Commands only record intent; the engine (reconcile.ts) moves the state towards the goal, along
// the moves state-machine.ts allows. The API answers a refused command with this table's reason.

import type { TicketGoal, TicketState } from '../store/model.js';

export const COMMANDS = [
  'deploy',
  'prerelease',
  'canary',
  'approve',
  'promote',
  'abort',
  'amend',
] as const;
export type Command = (typeof COMMANDS)[number];

const ACTIVE: readonly TicketState[] = [
  'open',
  'deploying',
  'deployed',
  'prerelease',
  'canary',
  'failed',
];

/** States each command is accepted in. */
export const ACCEPTS: Readonly<Record<Command, readonly TicketState[]>> = {
  deploy: ['open', 'deploying', 'deployed', 'failed'],
  prerelease: ['open', 'deploying', 'deployed', 'prerelease', 'failed'],
  canary: ['open', 'deploying', 'deployed', 'prerelease', 'failed'],
  approve: ['canary'],
  promote: ACTIVE,
  abort: ACTIVE,
  amend: ACTIVE,
};

/** The goal each command sets (approve and amend keep the goal they find, see amendGoal). */
export const GOAL_OF: Readonly<Record<Exclude<Command, 'approve' | 'amend'>, TicketGoal>> = {
  deploy: 'deployed',
  prerelease: 'prerelease',
  canary: 'canary',
  promote: 'promoted',
  abort: 'aborted',
};

/** A terminal ticket never changes again (a rollback is a new ticket). */
export function isTerminal(state: TicketState): boolean {
  return state === 'promoted' || state === 'aborted';
}

/**
 * What a recorded goal still lets through, whatever state the engine has reached so far, and why.
 * Checked in the transaction that records the next command (commands.ts), so of two concurrent
 * commands the later one is judged against the goal the earlier one recorded.
 */
export const AFTER_GOAL: Readonly<
  Partial<Record<TicketGoal, { readonly accepts: readonly Command[]; readonly why: string }>>
> = {
  // An abort again changes nothing (commands.ts); deploy, canary, promote, amend… would undo it.
  aborted: { accepts: ['abort'], why: 'abort is final' },
};

/** Why the goal recorded on a ticket in `state` refuses `command`, or null when it does not. */
export function goalRefusal(
  command: Command,
  goal: TicketGoal | null,
  state: TicketState,
): string | null {
  if (goal === null || isTerminal(state)) return null;
  const rule = AFTER_GOAL[goal];
  if (rule === undefined || rule.accepts.includes(command)) return null;
  return `the recorded goal is ${goal} and ${rule.why}: nothing moves the ticket forward (accepted now: ${rule.accepts.join(', ')})`;
}

/** Why `command` is refused in `state`, or null when it is accepted. */
export function refusal(command: Command, state: TicketState): string | null {
  if (ACCEPTS[command].includes(state)) return null;
  if (isTerminal(state)) {
    return `the ticket is ${state}; history is never rewritten${state === 'promoted' ? ' (revert it instead)' : ''}`;
  }
  return `${command} is not possible while the ticket is ${state} (accepted in: ${ACCEPTS[command].join(', ')})`;
}

/**
 * Why a ticket with `goal` recorded, in `state`, refuses `command` — the recorded goal first
 * (abort is final), then the state table — and which of the two refuses; null: accepted.
 */
export function commandRefusal(
  command: Command,
  state: TicketState,
  goal: TicketGoal | null,
): { field: 'goal' | 'state'; reason: string } | null {
  const byGoal = goalRefusal(command, goal, state);
  if (byGoal !== null) return { field: 'goal', reason: byGoal };
  const byState = refusal(command, state);
  return byState === null ? null : { field: 'state', reason: byState };
}

/** Amending new versions restarts verification: a canary goes back to pre-release. */
export function amendGoal(goal: TicketGoal | null): TicketGoal | null {
  return goal === 'canary' ? 'prerelease' : goal;
}
