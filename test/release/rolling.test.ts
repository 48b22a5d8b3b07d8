// The rolling strategy's decisions (src/release/rolling.ts), as Given / When / Then tables, and a
// small simulation that applies each decision to the observed instances the way the engine and
// the health checker would, checking on every step that a module never has fewer than
// replicas − maxUnavailable instances ready to serve.

import { describe, expect, it } from 'vitest';
import type { Figures } from '../../src/release/analysis.js';
import type { Progress } from '../../src/release/progress.js';
import type { Action, Decision, TicketView } from '../../src/release/reconcile.js';
import { reconcile } from '../../src/release/reconcile.js';
import { ALL_IN_MS, rollingLane, rollingSide, sharedStable } from '../../src/release/rolling.js';
import { assignLane, compileLaneRules } from '../../src/routing/assign.js';
import { laneRulesSchema } from '../../src/routing/lane-rules.js';
import type { Instance, Lane, Ticket } from '../../src/store/model.js';
import { planSchema, unavailableCount } from '../../src/store/plan.js';
import { GRAPH, instance, item, lane, product, T0, ticket } from './fixtures.js';

const ITEMS = [item('orders', '2.0.0')];
const ROLLING = { strategy: 'rolling', replicas: 4, maxUnavailable: 1 };
const quiet = (n: number, errorRate = 0): Figures => ({
  requests: n,
  errors: Math.round(n * errorRate),
  errorRate: n === 0 ? 0 : Math.round(n * errorRate) / n,
  p99Ms: n === 0 ? null : 10,
  latency: n === 0 ? [] : [[10, n]],
});

interface World {
  ticket: Ticket;
  progress: Progress;
  instances: Instance[];
  lane: Lane | null;
  baseDtab: string;
}

function view(w: World, over: { plan?: unknown; traffic?: TicketView['traffic']; now?: number }) {
  const p = product({ baseDtab: w.baseDtab });
  const mine = new Set(w.ticket.items.map((i) => `${i.module}@${i.version}`));
  return {
    ticket: w.ticket,
    plan: planSchema.parse(over.plan ?? ROLLING),
    progress: w.progress,
    product: p,
    graph: GRAPH,
    instances: w.instances.filter((i) => mine.has(`${i.module}@${i.version}`)),
    lane: w.lane,
    others: [],
    traffic: over.traffic ?? null,
    now: over.now ?? T0,
    rolling: rollingSide(w.ticket, p, [p], w.instances),
  } satisfies TicketView;
}

const olds = (n: number, version = '1.0.0') =>
  Array.from({ length: n }, (_, i) => instance('orders', version, i));

function world(over: Partial<World> = {}, goal: Ticket['goal'] = 'canary'): World {
  return {
    ticket: ticket(7, ITEMS, { goal, plan: ROLLING }),
    progress: {},
    instances: olds(4),
    lane: null,
    baseDtab: '/svc/web => /v/web/1.0.0;\n/svc/orders => /v/orders/1.0.0;',
    ...over,
  };
}

/** The decision carried out as the engine would, then the health checker's verdicts. */
function apply(w: World, d: Decision, becomeReady: boolean): World {
  let instances = [...w.instances];
  let current = w.lane;
  let baseDtab = w.baseDtab;
  for (const a of d.actions) {
    if (a.kind === 'start') {
      instances = instances.filter((i) => i.id !== a.id);
      instances.push(instance(a.module, a.version, 0, { id: a.id, state: 'starting' }));
    } else if (a.kind === 'drain') {
      instances = instances.map((i) => (i.id === a.id ? { ...i, state: 'draining' } : i));
    } else if (a.kind === 'putLane') {
      current = { ...lane('t-7', a.lane.overlay ?? ''), rules: a.lane.rules as Lane['rules'] };
    } else if (a.kind === 'deleteLane') current = null;
    else if (a.kind === 'setStable') baseDtab = '/svc/orders => /v/orders/2.0.0;';
  }
  // Reclaim stops what drained; the health checker makes what started ready.
  instances = instances.map((i) =>
    i.state === 'draining' && becomeReady
      ? { ...i, state: 'stopped' }
      : i.state === 'starting' && becomeReady
        ? { ...i, state: 'ready' }
        : i,
  );
  const t = d.patch === null ? w.ticket : { ...w.ticket, ...d.patch };
  const progress = d.patch?.progress ?? w.progress;
  return {
    ticket: { ...t, progress: progress as never },
    progress,
    instances,
    lane: current,
    baseDtab,
  };
}

const readyOf = (w: World, version: string) =>
  w.instances.filter((i) => i.version === version && i.state === 'ready').length;
const percentOf = (l: Lane | null) =>
  (l?.rules.find((r) => 'percent' in r) as { percent?: number } | undefined)?.percent ?? 0;

/**
 * Runs the ticket to its end: each step the decision applies, and every other step (`slow`) the
 * instances take a tick to become ready. Answers every world seen.
 */
function run(start: World, opts: { plan?: unknown; steps?: number; abortAt?: number } = {}) {
  const seen: World[] = [start];
  let w = start;
  for (let step = 0; step < (opts.steps ?? 60); step++) {
    if (step === opts.abortAt) w = { ...w, ticket: { ...w.ticket, goal: 'aborted' } };
    const d = reconcile(view(w, { plan: opts.plan, now: T0 + step * 1000 }));
    w = apply(w, d, step % 2 === 1);
    seen.push(w);
    if (['promoted', 'aborted', 'failed'].includes(w.ticket.state)) break;
  }
  return seen;
}

describe('plan: strategy and maxUnavailable', () => {
  it('defaults to blue-green; maxUnavailable counts or takes a share, at least 1', () => {
    expect(planSchema.parse({})).toMatchObject({ strategy: 'blue-green', maxUnavailable: '25%' });
    expect(unavailableCount('25%', 2)).toBe(1);
    expect(unavailableCount('25%', 8)).toBe(2);
    expect(unavailableCount('50%', 3)).toBe(1);
    expect(unavailableCount(3, 8)).toBe(3);
  });

  it.each([
    [{ strategy: 'gray' }, 'strategy', 'a strategy is one of blue-green, rolling'],
    [{ strategy: 'rolling', replicas: 4, maxUnavailable: 0 }, 'maxUnavailable', ''],
    [{ strategy: 'rolling', replicas: 4, maxUnavailable: '0%' }, 'maxUnavailable', 'a count'],
    [{ strategy: 'rolling', replicas: 4, maxUnavailable: '150%' }, 'maxUnavailable', 'a count'],
    [{ strategy: 'rolling', replicas: 4, maxUnavailable: 'two' }, 'maxUnavailable', 'a count'],
    [{ strategy: 'rolling', replicas: 1 }, 'replicas', 'at least 2 replicas'],
    [{ strategy: 'rolling', replicas: 4, maxUnavailable: 4 }, 'maxUnavailable', 'at most 3'],
    [{ strategy: 'rolling', replicas: 2, maxUnavailable: '100%' }, 'maxUnavailable', 'at most 1'],
  ])('refuses %j at %s', (plan, field, reason) => {
    const parsed = planSchema.safeParse(plan);
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues[0];
    expect(issue?.path[0]).toBe(field);
    expect(JSON.stringify(parsed.error?.issues)).toContain(reason);
  });
});

describe('rolling: batches', () => {
  it('batch 1 drains one old instance and starts one new one in the same step', () => {
    const d = reconcile(view(world(), {}));
    expect(d.actions).toEqual([
      { kind: 'drain', id: 'orders-1.0.0-3' },
      { kind: 'start', id: 'orders-2.0.0-0', module: 'orders', version: '2.0.0' },
    ]);
    expect(d.patch).toMatchObject({
      state: 'deploying',
      progress: {
        batch: 1,
        batches: 4,
        batchStartedAt: T0,
        rollout: [{ module: 'orders', version: '2.0.0', from: '1.0.0', old: 3, new: 0 }],
      },
    });
    expect(d.events.map((e) => e.type)).toEqual([
      'rolling.batch',
      'instance.drain',
      'instance.start',
    ]);
  });

  it('is idempotent: the same observation again decides nothing new', () => {
    const w = apply(world(), reconcile(view(world(), {})), false);
    const again = reconcile(view(w, { now: T0 + 100 }));
    expect(again).toEqual({ actions: [], patch: null, events: [] });
  });

  it('a ready batch opens the lane at the new side’s share of ready capacity, users hashed', () => {
    let w = apply(world(), reconcile(view(world(), {})), true); // new 0 ready, old 3
    const d = reconcile(
      view(w, { plan: { ...ROLLING, canary: { steps: [100], pauseMs: 60_000 } } }),
    );
    expect(d.patch?.state).toBe('canary');
    const put = d.actions.find((a) => a.kind === 'putLane') as Extract<Action, { kind: 'putLane' }>;
    expect(put.lane.rules).toContainEqual({
      lane: 't-7',
      percent: 25,
      key: { header: 'x-user-id' },
    });
    expect(d.patch?.progress?.message).toBe('rolling batch 1 of 4 at 25 %: holding');
    w = apply(w, d, true);
    expect(percentOf(w.lane)).toBe(25);
  });

  it('a batch waits for analysis; a failed analysis aborts, keeping the state until restored', () => {
    const w = apply(world(), reconcile(view(world(), {})), true);
    const traffic = () => ({ lane: quiet(400, 0.2), stable: quiet(2000) });
    const d = reconcile(view(w, { traffic }));
    expect(d.patch).toMatchObject({ goal: 'aborted' });
    expect(d.patch?.state).toBeUndefined();
    expect(d.patch?.progress?.message).toMatch(
      /^analysis failed at batch 1 of 4 \(25 %\): orders@2.0.0/,
    );
    expect(d.events.map((e) => e.type)).toEqual(['analysis.failed']);
    const waiting = reconcile(
      view(w, { traffic: () => ({ lane: quiet(3), stable: quiet(2000) }) }),
    );
    expect(waiting.actions.filter((a) => a.kind === 'drain')).toEqual([]);
    expect(waiting.patch?.progress?.message).toMatch(/waiting for enough traffic.*approve/);
  });

  it('manual batches wait for approve of that batch', () => {
    const plan = { ...ROLLING, canary: { steps: [100], pauseMs: null } };
    const w = apply(world(), reconcile(view(world(), { plan })), true);
    const held = reconcile(view(w, { plan }));
    expect(held.patch?.progress?.message).toBe(
      'rolling batch 1 of 4 at 25 %: waiting for approval',
    );
    const approved = { ...w, progress: { ...w.progress, approvedStep: 1 } };
    const d = reconcile(view(approved, { plan }));
    expect(d.patch?.progress).toMatchObject({ batch: 2 });
  });

  it('walks every batch to 100 % (every request, keyed or not), then promotes', () => {
    const seen = run(world({}, 'promoted'));
    const last = seen.at(-1) as World;
    expect(last.ticket.state).toBe('promoted');
    expect(last.baseDtab).toContain('/v/orders/2.0.0');
    expect(last.lane).toBeNull();
    expect(readyOf(last, '2.0.0')).toBe(4);
    expect(readyOf(last, '1.0.0')).toBe(0);
    const shares = seen.map((w) => percentOf(w.lane));
    expect(shares.filter((s, i) => i > 0 && s < (shares[i - 1] ?? 0) && s !== 0)).toEqual([]);
    // Without analysis or pause a ready batch goes on at once: 1 of 3 ready after batch 2's
    // drain, 2 of 3 after batch 3's, everyone after the last.
    expect(new Set(shares)).toEqual(new Set([0, 33.33, 66.66, 100]));
  });

  it('never has fewer than replicas − maxUnavailable ready, forward and on abort', () => {
    for (const [plan, abortAt] of [
      [ROLLING, undefined],
      [{ ...ROLLING, maxUnavailable: '50%' }, undefined],
      [{ ...ROLLING, replicas: 5, maxUnavailable: 2 }, undefined],
      [ROLLING, 5],
      [ROLLING, 9],
      [{ ...ROLLING, replicas: 5, maxUnavailable: 2 }, 4],
    ] as const) {
      const parsed = planSchema.parse(plan);
      const start = world({
        ticket: ticket(7, ITEMS, { goal: 'canary', plan }),
        instances: olds(parsed.replicas),
      });
      const seen = run(start, { plan, abortAt });
      const mu = unavailableCount(parsed.maxUnavailable, parsed.replicas);
      for (const w of seen)
        expect(readyOf(w, '1.0.0') + readyOf(w, '2.0.0')).toBeGreaterThanOrEqual(
          parsed.replicas - mu,
        );
      const last = seen.at(-1) as World;
      if (abortAt === undefined) {
        expect(last.ticket.state).toBe('canary');
        expect(last.progress.canaryDone).toBe(true);
        expect(readyOf(last, '2.0.0')).toBe(parsed.replicas);
      } else {
        expect(last.ticket.state).toBe('aborted');
        expect(readyOf(last, '1.0.0')).toBe(parsed.replicas);
        expect(last.instances.filter((i) => i.version === '2.0.0' && i.state === 'ready')).toEqual(
          [],
        );
        expect(last.lane).toBeNull();
      }
    }
  });

  it('abort restores the old version batch by batch before draining new ones', () => {
    // Batch 2 of 4: two new ready, two old ready, two old stopped.
    const w = world({
      progress: { batch: 2, batches: 4, batchStartedAt: T0, batchReadyAt: T0 },
      instances: [
        ...olds(2),
        instance('orders', '1.0.0', 2, { state: 'stopped' }),
        instance('orders', '1.0.0', 3, { state: 'stopped' }),
        instance('orders', '2.0.0', 0),
        instance('orders', '2.0.0', 1),
      ],
    });
    w.lane = lane('t-7', '/svc/orders => /v/orders/2.0.0;', {
      rules: rollingLane(view(w, {}), 50).rules as Lane['rules'],
    });
    w.ticket = { ...w.ticket, state: 'canary', goal: 'aborted' };
    const d = reconcile(view(w, {}));
    expect(d.actions).toEqual([
      { kind: 'start', id: 'orders-1.0.0-2', module: 'orders', version: '1.0.0' },
    ]);
    expect(d.patch?.state).toBeUndefined();
    expect(d.patch?.progress?.message).toMatch(
      /^aborting: restoring the old version batch by batch/,
    );
    // The old one is ready: the next old one starts, one new one goes, the share follows (1 of 4).
    const next = apply(w, d, true);
    const d2 = reconcile(view(next, {}));
    expect(d2.actions.slice(0, 2)).toEqual([
      { kind: 'start', id: 'orders-1.0.0-3', module: 'orders', version: '1.0.0' },
      { kind: 'drain', id: 'orders-2.0.0-1' },
    ]);
    const put = d2.actions.find((a) => a.kind === 'putLane') as Extract<
      Action,
      { kind: 'putLane' }
    >;
    expect(put.lane.rules).toContainEqual({
      lane: 't-7',
      percent: 25,
      key: { header: 'x-user-id' },
    });
  });

  it('deploy stops at the first batch; pre-release adds the header lane and no share', () => {
    const w = apply(world({}, 'prerelease'), reconcile(view(world({}, 'prerelease'), {})), true);
    const d = reconcile(view(w, {}));
    expect(d.patch?.state).toBe('prerelease');
    const put = d.actions.find((a) => a.kind === 'putLane') as Extract<Action, { kind: 'putLane' }>;
    expect(put.lane.rules).toEqual([
      { lane: 't-7', header: { name: 'x-prerelease', equals: 'secret-of-7', trust: 'any-client' } },
    ]);
    const deployed = apply(world({}, 'deployed'), reconcile(view(world({}, 'deployed'), {})), true);
    const dd = reconcile(view(deployed, {}));
    expect(dd.patch?.state).toBe('deployed');
    expect(dd.actions).toEqual([]);
  });

  it('a batch not ready in readyTimeoutMs fails the ticket, naming what is short', () => {
    const w = apply(world(), reconcile(view(world(), {})), false);
    const d = reconcile(view(w, { now: T0 + 61_000 }));
    expect(d.patch).toMatchObject({ state: 'failed' });
    expect(d.patch?.progress?.message).toBe(
      'rolling batch 1 of 4 failed: after 60 s orders@2.0.0 has 0 of 1 ready: orders-2.0.0-0 is not ready, no exit known; see `turnout logs orders-2.0.0-0`',
    );
  });

  it('a batch whose every new instance exited 3 times fails at once, saying why; 2 exits wait', () => {
    const w = apply(world(), reconcile(view(world(), {})), false);
    const exited = (exits: number) => ({
      of: new Map([
        [
          'orders-2.0.0-0',
          {
            exits,
            restarts: exits - 1,
            lastExit: { code: 3, signal: null, at: new Date(T0 + 1500).toISOString() },
            logTail: ['orders: no database'],
          },
        ],
      ]),
      crashLoopExits: 3,
    });
    const d = reconcile({ ...view(w, { now: T0 + 2000 }), health: exited(3) });
    expect(d.patch).toMatchObject({ state: 'failed' });
    expect(d.patch?.progress?.message).toBe(
      'rolling batch 1 of 4 failed: every new instance keeps crashing (3 exits or more, none ready): orders-2.0.0-0 exited 3 times, last with code 3, 2 restarts, last log lines "orders: no database"; see `turnout logs orders-2.0.0-0`',
    );
    expect(d.events[0]?.data).toMatchObject({ crashLoop: true });
    const waits = reconcile({ ...view(w, { now: T0 + 2000 }), health: exited(2) });
    expect(waits.patch?.state).not.toBe('failed');
    expect(waits.events.map((e) => e.type)).not.toContain('deploy.failed');
  });
});

describe('rolling: the last batch', () => {
  it('moves every request to the lane first; the last old instances drain ALL_IN_MS later', () => {
    // Batch 3 of 4 ready: 3 new, 1 old.
    const w = world({
      progress: { batch: 3, batches: 4, batchStartedAt: T0, batchReadyAt: T0 },
      instances: [
        instance('orders', '1.0.0', 0),
        ...[1, 2, 3].map((i) => instance('orders', '1.0.0', i, { state: 'stopped' })),
        ...[0, 1, 2].map((i) => instance('orders', '2.0.0', i)),
      ],
    });
    const d = reconcile(view(w, {}));
    expect(d.actions.map((a) => a.kind)).toEqual(['putLane']);
    const put = d.actions[0] as Extract<Action, { kind: 'putLane' }>;
    expect(put.lane.rules).toContainEqual({ lane: 't-7', cidr: '0.0.0.0/0' });
    expect(d.patch?.progress).toMatchObject({ batch: 4, allInAt: T0 });
    const next = apply(w, d, true);
    expect(reconcile(view(next, { now: T0 + ALL_IN_MS - 1 }))).toEqual({
      actions: [],
      patch: null,
      events: [],
    });
    const later = reconcile(view(next, { now: T0 + ALL_IN_MS }));
    expect(later.actions.slice(0, 2)).toEqual([
      { kind: 'drain', id: 'orders-1.0.0-0' },
      { kind: 'start', id: 'orders-2.0.0-3', module: 'orders', version: '2.0.0' },
    ]);
  });
});

describe('rolling: shared services and the 100 % lane', () => {
  it('names the other product whose stable routing uses a version it would drain', () => {
    const shop = product({ baseDtab: '/svc/account => /v/account/1.0.0;' });
    const admin = product({ name: 'admin', baseDtab: '/svc/account => /v/account/1.0.0;' });
    expect(sharedStable([item('account', '2.0.0')], shop, [shop, admin])).toEqual([
      'account@1.0.0 also serves product admin',
    ]);
    const w = world({ baseDtab: shop.baseDtab });
    const t = ticket(7, [item('account', '2.0.0')], { goal: 'canary', plan: ROLLING });
    const v = {
      ...view({ ...w, ticket: t }, {}),
      rolling: rollingSide(t, shop, [shop, admin], []),
    };
    const d = reconcile(v);
    expect(d.actions).toEqual([]);
    expect(d.patch).toMatchObject({ state: 'failed' });
    expect(d.patch?.progress?.message).toContain('account@1.0.0 also serves product admin');
    expect(d.patch?.progress?.message).toContain('use strategy blue-green');
  });

  it('at 100 % the lane takes requests without a user key, from any address', () => {
    const rules = laneRulesSchema.parse(rollingLane(view(world(), {}), 100).rules);
    const compiled = compileLaneRules(rules);
    for (const clientAddress of ['127.0.0.1', '::1', '::ffff:10.1.2.3'])
      expect(assignLane(compiled, { headers: {}, query: '', clientAddress }).lane).toBe('t-7');
    const part = compileLaneRules(laneRulesSchema.parse(rollingLane(view(world(), {}), 50).rules));
    expect(
      assignLane(part, { headers: {}, query: '', clientAddress: '127.0.0.1' }).lane,
    ).toBeNull();
  });
});
