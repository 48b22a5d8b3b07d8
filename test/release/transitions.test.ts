// Which commands a ticket takes, as Given / When / Then: given the goal a command recorded and the
// state the engine has reached, when the next command comes, then accepted, or refused with the
// reason (and whether the goal or the state refuses it). Abort is final: once recorded, nothing
// moves the ticket forward, whatever state it is still in.

import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/release/transitions.js';
import { COMMANDS, commandRefusal } from '../../src/release/transitions.js';
import type { TicketGoal, TicketState } from '../../src/store/model.js';
import { TICKET_STATES } from '../../src/store/model.js';

const FINAL =
  'the recorded goal is aborted and abort is final: nothing moves the ticket forward (accepted now: abort)';

interface Row {
  goal: TicketGoal | null;
  state: TicketState;
  command: Command;
  answer: 'accepted' | { field: 'goal' | 'state'; reason: string | RegExp };
}

const ROWS: Row[] = [
  // The incident: an abort recorded while deploying, then the rest of a burst of commands.
  ...(['deploy', 'prerelease', 'canary', 'promote', 'amend'] as const).map(
    (command): Row => ({
      goal: 'aborted',
      state: 'deploying',
      command,
      answer: { field: 'goal', reason: FINAL },
    }),
  ),
  {
    goal: 'aborted',
    state: 'canary',
    command: 'approve',
    answer: { field: 'goal', reason: FINAL },
  },
  // From failed a forward command is a retry, but not once an abort is recorded.
  { goal: 'aborted', state: 'failed', command: 'deploy', answer: { field: 'goal', reason: FINAL } },
  {
    goal: 'aborted',
    state: 'prerelease',
    command: 'canary',
    answer: { field: 'goal', reason: FINAL },
  },
  // Abort again: accepted (commands.ts records nothing twice).
  { goal: 'aborted', state: 'deploying', command: 'abort', answer: 'accepted' },
  { goal: 'aborted', state: 'canary', command: 'abort', answer: 'accepted' },
  // Once aborted, the state table speaks: history is never rewritten.
  {
    goal: 'aborted',
    state: 'aborted',
    command: 'abort',
    answer: { field: 'state', reason: 'the ticket is aborted; history is never rewritten' },
  },
  {
    goal: 'aborted',
    state: 'aborted',
    command: 'deploy',
    answer: { field: 'state', reason: /^the ticket is aborted/ },
  },
  // Other recorded goals do not restrict: the state table decides, as before.
  { goal: null, state: 'open', command: 'deploy', answer: 'accepted' },
  { goal: 'deployed', state: 'deploying', command: 'abort', answer: 'accepted' },
  { goal: 'deployed', state: 'deploying', command: 'promote', answer: 'accepted' },
  { goal: 'canary', state: 'deploying', command: 'amend', answer: 'accepted' },
  { goal: 'promoted', state: 'deploying', command: 'abort', answer: 'accepted' },
  { goal: 'canary', state: 'canary', command: 'approve', answer: 'accepted' },
  {
    goal: 'deployed',
    state: 'deploying',
    command: 'approve',
    answer: {
      field: 'state',
      reason: 'approve is not possible while the ticket is deploying (accepted in: canary)',
    },
  },
  {
    goal: 'promoted',
    state: 'promoted',
    command: 'abort',
    answer: {
      field: 'state',
      reason: 'the ticket is promoted; history is never rewritten (revert it instead)',
    },
  },
];

describe('commands against the recorded goal and the state', () => {
  it.each(ROWS)(
    'given goal $goal while $state, $command → $answer',
    ({ goal, state, command, answer: expected }) => {
      const answer = commandRefusal(command, state, goal);
      if (expected === 'accepted') {
        expect(answer).toBeNull();
        return;
      }
      expect(answer?.field).toBe(expected.field);
      if (typeof expected.reason === 'string') expect(answer?.reason).toBe(expected.reason);
      else expect(answer?.reason).toMatch(expected.reason);
    },
  );

  it('after an abort is recorded, every command but abort is refused in every state, naming the goal', () => {
    for (const state of TICKET_STATES) {
      for (const command of COMMANDS) {
        const answer = commandRefusal(command, state, 'aborted');
        if (command === 'abort' && state !== 'aborted' && state !== 'promoted') {
          expect(answer, `${command} while ${state}`).toBeNull();
          continue;
        }
        expect(answer, `${command} while ${state}`).not.toBeNull();
        if (state !== 'aborted' && state !== 'promoted') {
          expect(answer).toEqual({ field: 'goal', reason: FINAL });
        }
      }
    }
  });
});
