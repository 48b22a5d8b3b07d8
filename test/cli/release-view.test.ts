// The release progress view (src/cli/release-view.ts): what `release status`, `--wait` and
// `--watch` print for a ticket, its instances and its events, and when waiting is over.

import { describe, expect, it } from 'vitest';
import type { EventData, InstanceData, TicketData } from '../../src/cli/release-view.js';
import { renderTicket, settled } from '../../src/cli/release-view.js';

function ticket(over: Partial<TicketData>): TicketData {
  return {
    id: 2,
    product: 'shop',
    state: 'open',
    goal: null,
    items: [],
    revertOf: null,
    plan: { replicas: 1, prereleaseHeader: 'x-prerelease', canary: null },
    progress: {},
    ...over,
  };
}

function instance(
  id: string,
  module: string,
  version: string,
  state: string,
  health: string,
  // As the API answers for an instance with a valid lease and a weight (src/store/endpoint.ts).
  serving = state === 'ready' && health !== 'unhealthy',
) {
  return {
    id,
    module,
    version,
    address: '127.0.0.1:1',
    state,
    health,
    serving,
  } satisfies InstanceData;
}

const event = (
  seq: number,
  type: string,
  actor: string,
  at: string,
  data: unknown = {},
): EventData => ({ seq, type, actor, at, data });

describe('renderTicket', () => {
  it('a deploying ticket: goal, message, ready bars per item with their instances, events', () => {
    const t = ticket({
      state: 'deploying',
      goal: 'prerelease',
      items: [
        { module: 'account', version: '2.0.0' },
        { module: 'orders', version: '2.0.0' },
      ],
      plan: { replicas: 2 },
      progress: {
        level: 0,
        message: 'deploying level 0: account@2.0.0 1/2 ready',
      },
    });
    const instances = [
      instance('account-2.0.0-0', 'account', '2.0.0', 'ready', 'healthy'),
      instance('account-2.0.0-1', 'account', '2.0.0', 'starting', 'unknown'),
      // Another version of the module is not this item's.
      instance('account-1.0.0-0', 'account', '1.0.0', 'ready', 'healthy'),
    ];
    const events = [
      event(1, 'created', 'rey', '2025-03-01T10:00:00.000Z', {
        items: [{ module: 'account', version: '2.0.0' }],
      }),
      event(2, 'command.prerelease', 'rey', '2025-03-01T10:00:01.000Z'),
      event(3, 'deploy.level', 'engine', '2025-03-01T10:00:02.500Z', {
        level: 0,
        modules: ['account@2.0.0'],
      }),
    ];
    expect(renderTicket(t, instances, events)).toEqual([
      'ticket 2  product shop  state deploying → prerelease',
      '  deploying level 0: account@2.0.0 1/2 ready',
      '  items',
      `    ${'account@2.0.0'.padEnd(28)} [#####.....] 1/2 ready  account-2.0.0-0 ready/healthy, account-2.0.0-1 starting/unknown`,
      `    ${'orders@2.0.0'.padEnd(28)} [..........] 0/2 ready`,
      '  events',
      '    10:00:00 created with account@2.0.0  (by rey)',
      '    10:00:01 asked for a pre-release  (by rey)',
      '    10:00:02 deploying level 0: account@2.0.0  (by engine)',
    ]);
  });

  it('an unhealthy ready instance does not count as ready; only the last 6 events show', () => {
    const t = ticket({
      state: 'deploying',
      goal: 'deployed',
      items: [{ module: 'web', version: '2.0.0' }],
    });
    const lines = renderTicket(
      t,
      [instance('web-2.0.0-0', 'web', '2.0.0', 'ready', 'unhealthy')],
      Array.from({ length: 9 }, (_, i) =>
        event(i + 1, `e${i + 1}`, 'engine', '2025-03-01T10:00:00Z'),
      ),
    );
    expect(lines[0]).toBe('ticket 2  product shop  state deploying → deployed');
    expect(lines[2]).toContain('[..........] 0/1 ready  web-2.0.0-0 ready/unhealthy');
    const shown = lines.filter((l) => /^ {4}10:00:00 e\d/.test(l)).map((l) => l.split(/\s+/)[2]);
    expect(shown).toEqual(['e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
  });

  it('a ready, healthy instance the proxies do not route to (lease expired, weight 0) is not ready', () => {
    const t = ticket({
      state: 'deploying',
      goal: 'deployed',
      items: [{ module: 'web', version: '2.0.0' }],
    });
    const lines = renderTicket(
      t,
      [instance('web-2.0.0-0', 'web', '2.0.0', 'ready', 'healthy', false)],
      [],
    );
    expect(lines[2]).toBe(
      `    ${'web@2.0.0'.padEnd(28)} [..........] 0/1 ready  web-2.0.0-0 ready/healthy (not serving)`,
    );
  });

  it('a canary with analysis: the steps passed, the one in force, and the figures per item', () => {
    const t = ticket({
      state: 'canary',
      goal: 'canary',
      items: [{ module: 'orders', version: '2.0.0' }],
      plan: { replicas: 1, canary: { steps: [1, 10, 50] } },
      prereleaseSecret: 'Qm9vLXNlY3JldC12YWx1ZQ',
      progress: {
        canaryStep: 1,
        message: 'canary at 10 %: holding, about 20 s left',
        analysis: [
          {
            module: 'orders',
            version: '2.0.0',
            verdict: 'pass',
            reason: 'within thresholds',
            lane: { requests: 120, errorRate: 0.0125, p99Ms: 42.4 },
            stable: { requests: 4000, errorRate: 0.01, p99Ms: null },
          },
        ],
      },
    });
    const lines = renderTicket(
      t,
      [instance('orders-2.0.0-0', 'orders', '2.0.0', 'ready', 'healthy')],
      [],
    );
    expect(lines).toEqual([
      'ticket 2  product shop  state canary',
      '  canary at 10 %: holding, about 20 s left',
      '  pre-release header  x-prerelease: Qm9vLXNlY3JldC12YWx1ZQ',
      '  items',
      `    ${'orders@2.0.0'.padEnd(28)} [##########] 1/1 ready  orders-2.0.0-0 ready/healthy`,
      '  canary [#######.............] 1%✓ → [10%] → 50%',
      `  analysis ${'orders@2.0.0'.padEnd(20)} PASS lane 120 req 1.3% err p99 42ms | stable 4000 req 1.0% err p99 -`,
    ]);
  });

  it('a completed canary marks every step passed; a failed analysis shows FAIL', () => {
    const t = ticket({
      state: 'aborted',
      goal: 'aborted',
      items: [{ module: 'orders', version: '2.0.0' }],
      plan: { canary: { steps: [5, 50] } },
      progress: {
        canaryStep: 1,
        canaryDone: true,
        message: 'analysis failed at 50 %: orders@2.0.0 error rate 30.0% above 5.0%',
        analysis: [
          {
            module: 'orders',
            version: '2.0.0',
            verdict: 'fail',
            reason: 'error rate',
            lane: { requests: 50, errorRate: 0.3, p99Ms: 10 },
            stable: { requests: 500, errorRate: 0, p99Ms: 9 },
          },
        ],
      },
    });
    const lines = renderTicket(t, [], []);
    expect(lines).toContain('  canary [####################] 5%✓ → 50%✓');
    expect(lines.find((l) => l.startsWith('  analysis orders@'))).toContain(
      'FAIL lane 50 req 30.0% err p99 10ms | stable 500 req 0.0% err p99 9ms',
    );
  });

  it('each metric of a verdict prints its test, statistic and decision under it', () => {
    const errors =
      "errors (lane 30.00 % vs stable 0.00 %): Fisher's exact (15 lane errors) p=2.1e-14 < 0.01 and +30.0 points ≥ 1.0 → fail";
    const latency = 'latency: not judged, 49 of 50 lane requests needed';
    const t = ticket({
      state: 'aborted',
      goal: 'aborted',
      items: [{ module: 'orders', version: '2.0.0' }],
      progress: {
        analysis: [
          {
            module: 'orders',
            version: '2.0.0',
            verdict: 'fail',
            reason: `${errors}; ${latency}`,
            lane: { requests: 49, errorRate: 0.3, p99Ms: 10 },
            stable: { requests: 500, errorRate: 0, p99Ms: 9 },
            tests: [
              {
                metric: 'errors',
                test: 'fisher-exact',
                statistic: 15,
                pValue: 2.1e-14,
                effect: 0.3,
                decision: 'fail',
                reason: errors,
              },
              {
                metric: 'latency',
                test: 'mann-whitney-u',
                statistic: 12_000,
                pValue: 0.4,
                effect: null,
                decision: 'not judged',
                reason: latency,
              },
            ],
          },
        ],
      },
    });
    const lines = renderTicket(t, [], []);
    const at = lines.findIndex((l) => l.startsWith('  analysis orders@2.0.0'));
    expect(lines.slice(at + 1, at + 3)).toEqual([`    ${errors}`, `    ${latency}`]);
  });

  it('a revert ticket names the ticket it reverts, and its goal while not there yet', () => {
    const t = ticket({
      id: 4,
      state: 'open',
      goal: 'promoted',
      revertOf: 3,
      items: [{ module: 'orders', version: '1.0.0' }],
    });
    expect(renderTicket(t, [], [event(1, 'created', 'rey', '2025-03-01T10:00:00Z')])).toEqual([
      'ticket 4  product shop  state open → promoted  (reverts ticket 3)',
      '  items',
      `    ${'orders@1.0.0'.padEnd(28)} [..........] 0/1 ready`,
      '  events',
      '    10:00:00 created  (by rey)',
    ]);
    // Once promoted, the header no longer shows a goal.
    expect(renderTicket({ ...t, state: 'promoted' }, [], [])[0]).toBe(
      'ticket 4  product shop  state promoted  (reverts ticket 3)',
    );
  });
});

describe('renderTicket: a rolling ticket', () => {
  it('shows the batch in force of all, and old/new ready per module, instead of canary steps', () => {
    const t = ticket({
      state: 'canary',
      goal: 'canary',
      items: [{ module: 'orders', version: '2.0.0' }],
      plan: { replicas: 3, strategy: 'rolling', maxUnavailable: 1, canary: { steps: [100] } },
      progress: {
        batch: 2,
        batches: 3,
        rollout: [{ module: 'orders', version: '2.0.0', from: '1.0.0', old: 1, new: 2 }],
        message: 'rolling batch 2 of 3 at 66.66 %: waiting for approval',
      },
    });
    const lines = renderTicket(t, [], []);
    expect(lines).toContain('  rolling maxUnavailable 1  batch 2 of 3 [#######.............]');
    expect(lines).toContain('    orders@2.0.0                 2 new ready, 1.0.0 1 old ready');
    expect(lines.some((l) => l.startsWith('  canary '))).toBe(false);
    const done = renderTicket(
      { ...t, progress: { ...t.progress, batch: 3, canaryDone: true } },
      [],
      [],
    );
    expect(done).toContain('  rolling maxUnavailable 1  batch 3 of 3 [####################]');
    const fresh = renderTicket({ ...t, state: 'open', progress: {} }, [], []);
    expect(fresh).toContain('  rolling maxUnavailable 1, not started');
  });
});

describe('renderTicket: live lane share', () => {
  it('shows the lane share of requests entering the product, and says when there were none', () => {
    const t = ticket({ state: 'canary', items: [{ module: 'orders', version: '2.0.0' }] });
    const share = { entry: 'web', lane: 12, total: 96, windowMs: 10_000 };
    expect(renderTicket(t, [], [], share)).toContain(
      `  traffic lane t-${t.id}: 12.5% of 96 requests to web in the last 10 s`,
    );
    expect(renderTicket(t, [], [], { ...share, lane: 0, total: 0 })).toContain(
      `  traffic lane t-${t.id}: no requests to web in the last 10 s`,
    );
    expect(renderTicket(t, [], []).some((l) => l.includes('traffic'))).toBe(false);
  });
});

describe('settled (is waiting for the goal over?)', () => {
  const canary = (canaryDone?: boolean) =>
    ticket({ state: 'canary', progress: canaryDone === undefined ? {} : { canaryDone } });
  const cases: [string, TicketData, string, boolean][] = [
    ['deployed reached', ticket({ state: 'deployed' }), 'deployed', true],
    ['deployed passed by prerelease', ticket({ state: 'prerelease' }), 'deployed', true],
    ['deployed passed by canary', canary(), 'deployed', true],
    ['deployed still deploying', ticket({ state: 'deploying' }), 'deployed', false],
    ['deployed still open', ticket({ state: 'open' }), 'deployed', false],
    ['prerelease reached', ticket({ state: 'prerelease' }), 'prerelease', true],
    ['prerelease while deployed', ticket({ state: 'deployed' }), 'prerelease', false],
    ['canary running', canary(), 'canary', false],
    ['canary not done', canary(false), 'canary', false],
    ['canary done', canary(true), 'canary', true],
    ['promoted reached', ticket({ state: 'promoted' }), 'promoted', true],
    ['promoted while canary', canary(true), 'promoted', false],
    ['aborted reached', ticket({ state: 'aborted' }), 'aborted', true],
    ['any goal ends on failed', ticket({ state: 'failed' }), 'promoted', true],
    ['any goal ends on aborted', ticket({ state: 'aborted' }), 'prerelease', true],
    ['any goal ends on promoted', ticket({ state: 'promoted' }), 'canary', true],
  ];
  for (const [name, t, goal, expected] of cases) {
    it(`${name}: ${expected}`, () => expect(settled(t, goal)).toBe(expected));
  }
});

describe('the state line says where the engine moves the ticket, and only then', () => {
  const cases: [string, Partial<TicketData>, string][] = [
    [
      'deploying to prerelease',
      { state: 'deploying', goal: 'prerelease' },
      'deploying → prerelease',
    ],
    // A failed deploy keeps its goal (what it failed to reach): it reads as failed, not as progress.
    ['failed while deploying', { state: 'failed', goal: 'deployed' }, 'failed'],
    ['failed while going to canary', { state: 'failed', goal: 'canary' }, 'failed'],
    // An abort is the one thing that still moves a failed ticket.
    ['failed, then aborted', { state: 'failed', goal: 'aborted' }, 'failed → aborted'],
    ['aborted', { state: 'aborted', goal: 'promoted' }, 'aborted'],
    ['promoted', { state: 'promoted', goal: 'promoted' }, 'promoted'],
    ['open, no goal', { state: 'open', goal: null }, 'open'],
  ];
  for (const [name, over, expected] of cases) {
    it(`${name}: state ${expected}`, () => {
      expect(renderTicket(ticket(over), [], [])[0]).toBe(
        `ticket 2  product shop  state ${expected}`,
      );
    });
  }
});
