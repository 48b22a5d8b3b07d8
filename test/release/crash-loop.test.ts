// The deploy's failure reason from the runtime's view of each instance (crash-loop.ts through
// reconcile): the message names each instance not ready with its exits, last exit, restarts,
// escaped log lines and `turnout logs <id>`; a level whose every instance keeps crashing fails at
// once, and one that is slow, not crashing, waits for readyTimeoutMs.

import { describe, expect, it } from 'vitest';
import type { HealthView } from '../../src/release/crash-loop.js';
import {
  crashLooping,
  describeNotReady,
  failureMessage,
  notReady,
} from '../../src/release/crash-loop.js';
import { ReleaseEngine } from '../../src/release/engine.js';
import type { TicketView } from '../../src/release/reconcile.js';
import { reconcile } from '../../src/release/reconcile.js';
import type { InstanceHealth } from '../../src/runtime/runtime.js';
import type { Instance } from '../../src/store/model.js';
import { planSchema } from '../../src/store/plan.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { GRAPH, instance, item, product, T0, ticket } from './fixtures.js';

const LATER = new Date(T0 + 3000).toISOString();

function crashed(exits: number, over: Partial<InstanceHealth> = {}): InstanceHealth {
  return {
    exits,
    restarts: Math.max(0, exits - 1),
    lastExit: { code: 3, signal: null, at: LATER },
    logTail: ['connecting to db', 'boom: no db'],
    ...over,
  };
}

function given(
  instances: Instance[],
  health: Record<string, InstanceHealth>,
  now = T0 + 4000,
  crashLoopExits = 3,
): TicketView {
  return {
    ticket: ticket(7, [item('account', '2.0.0')], { goal: 'deployed', state: 'deploying' }),
    plan: planSchema.parse({ readyTimeoutMs: 60_000 }),
    progress: { level: 0, levelStartedAt: T0 },
    product: product(),
    graph: GRAPH,
    instances,
    lane: null,
    others: [],
    traffic: null,
    now,
    health: { of: new Map(Object.entries(health)), crashLoopExits } satisfies HealthView,
  };
}

const starting = (index: number) =>
  instance('account', '2.0.0', index, { state: 'starting', health: 'unknown' });

describe('a level that keeps crashing fails at once', () => {
  it('every instance exited 3 times since the level started, none ready: failed, naming each', () => {
    const d = reconcile(given([starting(0)], { 'account-2.0.0-0': crashed(3) }));
    expect(d.patch).toMatchObject({ state: 'failed' });
    const message =
      'deploy failed: every instance of level 0 keeps crashing (3 exits or more, none ready): ' +
      'account-2.0.0-0 exited 3 times, last with code 3, 2 restarts, ' +
      'last log lines "connecting to db" / "boom: no db"; see `turnout logs account-2.0.0-0`';
    expect(d.patch?.progress?.message).toBe(message);
    expect(d.events).toEqual([
      {
        type: 'deploy.failed',
        data: {
          level: 0,
          message,
          crashLoop: true,
          instances: [
            {
              id: 'account-2.0.0-0',
              exits: 3,
              restarts: 2,
              lastExit: 'code 3',
              log: ['"connecting to db"', '"boom: no db"'],
              logs: 'turnout logs account-2.0.0-0',
            },
          ],
        },
      },
    ]);
  });

  it('fewer exits than the threshold: the level keeps waiting (a slow starter is not failed)', () => {
    const d = reconcile(given([starting(0)], { 'account-2.0.0-0': crashed(2) }));
    expect(d.patch?.state).not.toBe('failed');
    expect(d.events.map((e) => e.type)).not.toContain('deploy.failed');
    // Running, never exited, not ready yet: waits too.
    const slow = reconcile(
      given([starting(0)], { 'account-2.0.0-0': crashed(0, { lastExit: null }) }),
    );
    expect(slow.events.map((e) => e.type)).not.toContain('deploy.failed');
  });

  it('the threshold is the engine’s: 5 exits wanted, 3 seen, waits', () => {
    const d = reconcile(given([starting(0)], { 'account-2.0.0-0': crashed(3) }, T0 + 4000, 5));
    expect(d.events.map((e) => e.type)).not.toContain('deploy.failed');
  });

  it('one of two replicas crashing, the other running: waits (not every instance crashes)', () => {
    const d = reconcile({
      ...given([starting(0), starting(1)], {
        'account-2.0.0-0': crashed(4),
        'account-2.0.0-1': crashed(0, { lastExit: null }),
      }),
      plan: planSchema.parse({ readyTimeoutMs: 60_000, replicas: 2, surge: 2 }),
    });
    expect(d.events.map((e) => e.type)).not.toContain('deploy.failed');
  });

  it('exits from before the level started say nothing of this deploy', () => {
    const before = new Date(T0 - 5000).toISOString();
    const old = crashed(5, { lastExit: { code: 3, signal: null, at: before } });
    const d = reconcile(given([starting(0)], { 'account-2.0.0-0': old }, T0 + 1000));
    expect(d.events.map((e) => e.type)).not.toContain('deploy.failed');
    // (the same at the level's first millisecond counts: the exit is this level's)
    expect(
      crashLooping(
        [starting(0)],
        () => false,
        { of: new Map([['account-2.0.0-0', old]]), crashLoopExits: 3 },
        T0 - 5000,
      ),
    ).toBe(true);
  });
});

describe('the readiness timeout names why', () => {
  it('after readyTimeoutMs: each instance not ready with its exit, restarts and log', () => {
    const h = crashed(1, {
      lastExit: { code: null, signal: 'SIGKILL', at: LATER },
      logTail: ['\u001b[31mred\u001b[0m', 'x'.repeat(200)],
    });
    const d = reconcile(given([starting(0)], { 'account-2.0.0-0': h }, T0 + 60_001));
    const message = d.patch?.progress?.message ?? '';
    expect(message).toMatch(/^deploy failed: after 60 s account@2\.0\.0 has 0 of 1 ready: /);
    expect(message).toContain(
      'account-2.0.0-0 exited 1 time, last with signal SIGKILL, 0 restarts',
    );
    // Escaped (no raw escape character reaches a terminal) and cut (a long line is quoted short).
    expect(message).toContain('"\\x1b[31mred\\x1b[0m"');
    expect(message).not.toContain('\u001b');
    expect(message).toContain(`"${'x'.repeat(120)}…" (200 characters)`);
    expect(message).toContain('see `turnout logs account-2.0.0-0`');
    expect(d.events[0]?.data).toMatchObject({ crashLoop: false });
  });
});

describe('failureMessage', () => {
  it('names at most 3 instances; the rest are counted (the event lists them all)', () => {
    const five = [0, 1, 2, 3, 4].map((n) => notReady(`a-${n}`, undefined));
    expect(failureMessage('deploy failed: x', five)).toBe(
      'deploy failed: x: a-0 is not ready, no exit known; see `turnout logs a-0`; ' +
        'a-1 is not ready, no exit known; see `turnout logs a-1`; ' +
        'a-2 is not ready, no exit known; see `turnout logs a-2`; ' +
        'and 2 more not ready (the deploy.failed event lists them)',
    );
    expect(failureMessage('deploy failed: x', [])).toBe('deploy failed: x');
  });
});

describe('describeNotReady', () => {
  it('an instance the runtime does not know, one running without exits, one crashed', () => {
    expect(describeNotReady(notReady('a-1', undefined))).toBe(
      'a-1 is not ready, no exit known; see `turnout logs a-1`',
    );
    expect(describeNotReady(notReady('a-1', crashed(0, { lastExit: null, logTail: [] })))).toBe(
      'a-1 runs but is not ready (no exit), 0 restarts, no log lines; see `turnout logs a-1`',
    );
  });
});

describe('the engine’s crashLoopExits', () => {
  it('must be a whole number of at least 1: a clear error naming the field', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      for (const bad of [0, -1, 2.5, Number.NaN]) {
        expect(
          () => new ReleaseEngine({ store, runtime: null, traffic: null, crashLoopExits: bad }),
        ).toThrow(
          expect.objectContaining({
            code: 'invalid_argument',
            field: 'crashLoopExits',
            message: `crashLoopExits must be a whole number of at least 1, not ${bad}`,
          }),
        );
      }
      expect(
        () => new ReleaseEngine({ store, runtime: null, traffic: null, crashLoopExits: 1 }),
      ).not.toThrow();
    } finally {
      await store.close();
    }
  });
});
