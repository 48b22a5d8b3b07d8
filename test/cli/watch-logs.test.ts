// `release status --watch` ends when the ticket waits for a person, with an exit code saying why
// (src/cli/watch-end.ts), and `logs -f` prints each new line once (src/cli/log-follow.ts).

import { describe, expect, it } from 'vitest';
import { newLines } from '../../src/cli/log-follow.js';
import type { TicketData } from '../../src/cli/release-view.js';
import { WATCH_EXIT, watchEnd, watchEndLine } from '../../src/cli/watch-end.js';

type T = Parameters<typeof watchEnd>[0];
const t = (over: Partial<T> & Pick<TicketData, 'state'>): T => ({
  goal: null,
  progress: {},
  plan: {},
  ...over,
});
const manual = { canary: { steps: [10, 50], pauseMs: null } };
const paused = { canary: { steps: [10, 50], pauseMs: 30_000 } };

describe('watchEnd', () => {
  it.each([
    ['promoted', t({ state: 'promoted', goal: 'promoted' }), 'promoted'],
    ['failed deploy', t({ state: 'failed', goal: 'deployed' }), 'failed'],
    ['failed, abort recorded (still moving)', t({ state: 'failed', goal: 'aborted' }), null],
    ['aborted', t({ state: 'aborted', goal: 'aborted' }), 'aborted'],
    [
      'canary done',
      t({
        state: 'canary',
        goal: 'canary',
        plan: paused,
        progress: { canaryStep: 1, canaryDone: true },
      }),
      'ready to promote',
    ],
    [
      'manual step not approved',
      t({ state: 'canary', goal: 'canary', plan: manual, progress: { canaryStep: 0 } }),
      'waiting for approval',
    ],
    [
      'manual step approved (the engine moves on)',
      t({
        state: 'canary',
        goal: 'canary',
        plan: manual,
        progress: { canaryStep: 0, approvedStep: 0 },
      }),
      null,
    ],
    [
      'timed step holding',
      t({ state: 'canary', goal: 'canary', plan: paused, progress: { canaryStep: 0 } }),
      null,
    ],
    [
      'deployed as asked',
      t({ state: 'deployed', goal: 'deployed' }),
      'waiting for the next command',
    ],
    [
      'pre-released as asked',
      t({ state: 'prerelease', goal: 'prerelease' }),
      'waiting for the next command',
    ],
    ['deployed on the way to canary', t({ state: 'deployed', goal: 'canary' }), null],
    ['deploying', t({ state: 'deploying', goal: 'deployed' }), null],
    ['canary promoting', t({ state: 'canary', goal: 'promoted', plan: manual }), null],
  ])('%s → %s', (_name, ticket, end) => expect(watchEnd(ticket)).toBe(end));

  it('each end has its own exit code, none of them an error code (1, 2)', () => {
    const codes: number[] = Object.values(WATCH_EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.filter((c) => c === 1 || c === 2)).toEqual([]);
    expect(watchEndLine(5, 'ready to promote')).toBe(
      'watch ended: ready to promote (exit 10): turnout release promote 5',
    );
  });
});

describe('newLines', () => {
  it.each([
    ['first read', [], ['a', 'b'], ['a', 'b'], false],
    ['nothing new', ['a', 'b'], ['a', 'b'], [], false],
    ['two new lines', ['a', 'b'], ['a', 'b', 'c', 'd'], ['c', 'd'], false],
    ['the tail moved on', ['a', 'b', 'c'], ['b', 'c', 'd'], ['d'], false],
    ['repeated lines are new lines', ['x', 'x'], ['x', 'x', 'x'], ['x'], false],
    ['more came than a tail holds', ['a', 'b'], ['e', 'f'], ['e', 'f'], true],
  ])('%s', (_name, prev, next, lines, gap) => expect(newLines(prev, next)).toEqual({ lines, gap }));
});
