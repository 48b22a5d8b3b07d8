// The engine's decisions against the state machine, as properties over every ticket state × goal
// × observation (instances ready/starting/draining/stopped/missing, healthy or not, leases valid
// or expired; the lane absent/as wanted/different; analysis pass/fail/wait or no stats source;
// time before and beyond the ready timeout and the canary pause; other tickets conflicting; a
// blue-green or a rolling ticket, its old side ready, draining or short):
// - a decision only ever moves the ticket along the table (state-machine.ts);
// - applying a decision (its patch and actions, to an in-memory model of the store) and
//   reconciling again at the same `now` decides nothing new (idempotence: a repeated tick, after
//   a crash or on another replica, is harmless).
// The seed is fixed (TURNOUT_PROPERTY_SEED overrides it) and fast-check prints it, with the path
// of the shrunk counterexample, on failure.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Figures } from '../../src/release/analysis.js';
import type { Progress } from '../../src/release/progress.js';
import { readProgress } from '../../src/release/progress.js';
import type { Decision, TicketView } from '../../src/release/reconcile.js';
import { reconcile } from '../../src/release/reconcile.js';
import { laneName, laneOverlay, laneRules, withStable } from '../../src/release/routes.js';
import { reasonFor, TRANSITIONS } from '../../src/release/state-machine.js';
import { isTerminal } from '../../src/release/transitions.js';
import type {
  HealthState,
  Instance,
  InstanceState,
  Lane,
  Ticket,
  TicketItem,
  TicketState,
} from '../../src/store/model.js';
import { INSTANCE_STATES, TICKET_GOALS, TICKET_STATES } from '../../src/store/model.js';
import { planSchema } from '../../src/store/plan.js';
import { GRAPH, instance, item, lane, product, STAMP, T0, ticket } from './fixtures.js';

const SEED = Number(process.env.TURNOUT_PROPERTY_SEED ?? 20261206);
const RUNS = 3000;
const ITEMS = [item('web', '2.0.0'), item('orders', '2.0.0'), item('account', '2.0.0')];
const HEALTH: HealthState[] = ['healthy', 'unknown', 'unhealthy'];

type Verdict = 'pass' | 'fail' | 'wait';
interface InstanceSpec {
  index: number;
  state: InstanceState;
  health: HealthState;
  lease: 'none' | 'valid' | 'expired';
}

const figures = (requests: number, errors: number): Figures => ({
  requests,
  errors,
  errorRate: requests === 0 ? 0 : errors / requests,
  p99Ms: requests === 0 ? null : 10,
  latency: requests === 0 ? [] : [[10, requests]],
});

/** Lane figures by verdict; nothing since a step that starts now (as the stats window answers). */
function traffic(kinds: Verdict[], items: TicketItem[], now: number): TicketView['traffic'] {
  return (it, sinceMs) => {
    const kind = kinds[items.findIndex((i) => i.module === it.module)] ?? 'pass';
    const stable = figures(5000, 0);
    if (sinceMs >= now || kind === 'wait') return { lane: figures(3, 0), stable };
    return { lane: kind === 'pass' ? figures(5000, 0) : figures(5000, 2500), stable };
  };
}

const instanceSpec = fc.record({
  index: fc.integer({ min: 0, max: 3 }),
  state: fc.constantFrom(...INSTANCE_STATES),
  health: fc.constantFrom(...HEALTH),
  lease: fc.constantFrom('none' as const, 'valid' as const, 'expired' as const),
});

const scenario = fc
  .record({
    state: fc.constantFrom(...TICKET_STATES),
    goal: fc.option(fc.constantFrom(...TICKET_GOALS), { nil: null }),
    items: fc.subarray(ITEMS, { minLength: 1 }),
    revert: fc.boolean(),
    replicas: fc.integer({ min: 1, max: 2 }),
    surge: fc.integer({ min: 1, max: 2 }),
    readyTimeoutMs: fc.constantFrom(1000, 60_000),
    canary: fc.option(
      fc.record({
        steps: fc.constantFrom<number[]>([50], [1, 50], [5, 25, 100]),
        pauseMs: fc.constantFrom<number | null>(null, 0, 1000, 60_000),
      }),
      { nil: null },
    ),
    // Per item: whether its replicas are all ready (else each of its deploys would stop short).
    serving: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    instances: fc.array(fc.uniqueArray(instanceSpec, { selector: (s) => s.index, maxLength: 3 }), {
      minLength: 3,
      maxLength: 3,
    }),
    lane: fc.constantFrom('absent', 'prerelease', 'canary', 'different'),
    analysis: fc.option(
      fc.array(fc.constantFrom<Verdict>('pass', 'fail', 'wait'), { minLength: 3, maxLength: 3 }),
      {
        nil: null,
      },
    ),
    level: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    levelStarted: fc.boolean(),
    canaryStep: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    approvedBehind: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }),
    canaryDone: fc.boolean(),
    message: fc.option(fc.constantFrom('deploying level 0', 'an old message'), { nil: undefined }),
    elapsedMs: fc.constantFrom(0, 500, 5000, 120_000, 10_000_000),
    others: fc.array(
      fc.record({
        state: fc.constantFrom(...TICKET_STATES),
        module: fc.constantFrom('web', 'orders', 'catalog'),
      }),
      { maxLength: 2 },
    ),
    // A rolling ticket (strategy rolling, one more replica, maxUnavailable 1): per item, how many
    // of the stable version's instances are ready, and of those how many draining; a batch
    // reached; whether every request went to the lane already; another product on the old side.
    rolling: fc.option(
      fc.record({
        oldReady: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
        oldDraining: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 3, maxLength: 3 }),
        batch: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        allIn: fc.boolean(),
        shared: fc.boolean(),
      }),
      { nil: null },
    ),
  })
  .map(toView);

type RollingSpec = {
  oldReady: number[];
  oldDraining: number[];
  batch: number | undefined;
  allIn: boolean;
  shared: boolean;
};

function toView(s: {
  state: TicketState;
  goal: Ticket['goal'];
  items: TicketItem[];
  revert: boolean;
  replicas: number;
  surge: number;
  readyTimeoutMs: number;
  canary: { steps: number[]; pauseMs: number | null } | null;
  serving: boolean[];
  instances: InstanceSpec[][];
  lane: 'absent' | 'prerelease' | 'canary' | 'different';
  analysis: Verdict[] | null;
  level: number | undefined;
  levelStarted: boolean;
  canaryStep: number | undefined;
  approvedBehind: number | undefined;
  canaryDone: boolean;
  message: string | undefined;
  elapsedMs: number;
  others: { state: TicketState; module: string }[];
  rolling: RollingSpec | null;
}): TicketView {
  const now = T0 + s.elapsedMs;
  const rolling = s.rolling;
  const plan = planSchema.parse({
    replicas: rolling === null ? s.replicas : s.replicas + 1,
    surge: s.surge,
    readyTimeoutMs: s.readyTimeoutMs,
    ...(s.canary === null ? {} : { canary: s.canary }),
    ...(rolling === null ? {} : { strategy: 'rolling', maxUnavailable: 1 }),
  });
  const t = ticket(7, s.items, { state: s.state, goal: s.goal, revertOf: s.revert ? 3 : null });
  const steps = plan.canary?.steps.length ?? 1;
  const step = s.canaryStep === undefined ? undefined : Math.min(s.canaryStep, steps - 1);
  // Reachable progress only: an approval names a step already reached (commands.ts, approve).
  const approved =
    step === undefined || s.approvedBehind === undefined ? undefined : step - s.approvedBehind;
  const progress: Progress = {
    ...(s.level === undefined ? {} : { level: s.level }),
    ...(s.levelStarted ? { levelStartedAt: T0 } : {}),
    ...(step === undefined ? {} : { canaryStep: step, stepStartedAt: T0 }),
    ...(approved === undefined || approved < 0 ? {} : { approvedStep: approved }),
    ...(step !== undefined && s.canaryDone ? { canaryDone: true } : {}),
    ...(s.message === undefined ? {} : { message: s.message }),
    ...(rolling?.batch === undefined ? {} : { batch: rolling.batch, batchStartedAt: T0 }),
    ...(rolling?.allIn === true ? { allInAt: T0 } : {}),
  };
  const fleet = (n: number): InstanceSpec[] => {
    const ready = s.serving[n] === true ? [0, 1].slice(0, s.replicas) : [];
    const extra = (s.instances[n] ?? []).filter((i) => !ready.includes(i.index));
    return [
      ...ready.map(
        (index): InstanceSpec => ({ index, state: 'ready', health: 'healthy', lease: 'valid' }),
      ),
      ...extra,
    ];
  };
  const instances = s.items.flatMap((it, n) =>
    fleet(n).map((spec) =>
      instance(it.module, it.version, spec.index, {
        state: spec.state,
        health: spec.health,
        leaseExpiresAt:
          spec.lease === 'none'
            ? null
            : new Date(spec.lease === 'valid' ? now + 60_000 : now - 1).toISOString(),
      }),
    ),
  );
  const name = laneName(t.id);
  const header = { name: plan.prereleaseHeader, value: t.prereleaseSecret };
  const share =
    plan.canary === null
      ? null
      : { plan: plan.canary, percent: plan.canary.steps[step ?? 0] ?? 100 };
  const lanes: Record<typeof s.lane, Lane | null> = {
    absent: null,
    prerelease: lane(name, laneOverlay(s.items), { rules: laneRules(name, header, null) as never }),
    canary: lane(name, laneOverlay(s.items), { rules: laneRules(name, header, share) as never }),
    different: lane(name, '/svc/web => /v/web/9.9.9;'),
  };
  return {
    ticket: t,
    plan,
    progress: readProgress(progress),
    product: product(),
    graph: GRAPH,
    instances,
    lane: lanes[s.lane],
    others: s.others.map((o, n) =>
      ticket(8 + n, [item(o.module, '3.0.0')], { state: o.state, goal: 'deployed' }),
    ),
    traffic: s.analysis === null ? null : traffic(s.analysis, s.items, now),
    now,
    ...(rolling === null ? {} : { rolling: oldSide(rolling, s.items, plan.replicas, now) }),
  };
}

/** The stable versions' instances a rolling ticket replaces (the fixture's base dtab: 1.0.0). */
function oldSide(spec: RollingSpec, items: TicketItem[], replicas: number, now: number) {
  const stable = new Set(['web', 'orders']);
  const old = items.flatMap((it, n) => {
    if (!stable.has(it.module)) return [];
    const ready = Math.min(spec.oldReady[n] ?? 0, replicas);
    const draining = spec.oldDraining[n] ?? 0;
    return Array.from({ length: ready + draining }, (_, index) =>
      instance(it.module, '1.0.0', index, {
        state: index < ready ? 'ready' : 'draining',
        health: 'healthy',
        leaseExpiresAt: new Date(now + 60_000).toISOString(),
      }),
    );
  });
  return { old, shared: spec.shared ? ['web@1.0.0 also serves product admin'] : [] };
}

/** The store after the engine applied `d` (engine.ts: commit, register, applyStoreAction). */
function applied(view: TicketView, d: Decision): TicketView {
  const patch = d.patch ?? {};
  const t: Ticket = {
    ...view.ticket,
    ...(patch.state === undefined ? {} : { state: patch.state }),
    ...(patch.goal === undefined ? {} : { goal: patch.goal }),
    ...(patch.progress === undefined
      ? {}
      : { progress: JSON.parse(JSON.stringify(patch.progress)) }),
  };
  let instances: Instance[] = [...view.instances];
  let laneNow = view.lane;
  let prod = view.product;
  let oldSide: Instance[] = [...(view.rolling?.old ?? [])];
  for (const a of d.actions) {
    switch (a.kind) {
      case 'start': {
        const fresh = instance(a.module, a.version, 0, {
          id: a.id,
          state: 'starting',
          health: 'unknown',
        });
        // As observe.ts sees it: the ticket's versions in `instances`, the stable versions a
        // rolling abort starts again on the old side.
        const mine = view.ticket.items.some(
          (i) => i.module === a.module && i.version === a.version,
        );
        if (mine) instances = [...instances.filter((i) => i.id !== a.id), fresh];
        else oldSide = [...oldSide.filter((i) => i.id !== a.id), fresh];
        break;
      }
      case 'putLane':
        laneNow = { ...a.lane, createdAt: STAMP, updatedAt: STAMP } as Lane;
        break;
      case 'deleteLane':
        laneNow = null;
        break;
      case 'setStable':
        prod = { ...prod, baseDtab: withStable(prod.baseDtab, a.items) };
        break;
      case 'drain':
        instances = instances.map((i) => (i.id === a.id ? { ...i, state: 'draining' } : i));
        oldSide = oldSide.map((i) => (i.id === a.id ? { ...i, state: 'draining' } : i));
        break;
    }
  }
  return {
    ...view,
    ticket: t,
    progress: readProgress(t.progress),
    instances,
    lane: laneNow,
    product: prod,
    ...(view.rolling === undefined ? {} : { rolling: { ...view.rolling, old: oldSide } }),
  };
}

const NOTHING: Decision = { actions: [], patch: null, events: [] };

describe('the ticket state machine, over every state × goal × observation', () => {
  it('every decision is a move the table lists, and a second reconcile after applying it decides nothing', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenario, (view) => {
        const from = view.ticket.state;
        const d = reconcile(view);
        const to = d.patch?.state;
        if (to !== undefined) {
          expect(reasonFor(from, to), `${from} → ${to}`).not.toBeNull();
          seen.add(`${from}->${to}`);
        }
        expect(reconcile(applied(view, d))).toEqual(NOTHING);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The generator reaches every move the engine makes (the ones to open are commands' only).
    const engineMoves = Object.entries(TRANSITIONS).flatMap(([f, tos]) =>
      Object.keys(tos)
        .filter((t) => t !== 'open')
        .map((t) => `${f}->${t}`),
    );
    expect(engineMoves.filter((m) => !seen.has(m))).toEqual([]);
  });

  it('reconcile never writes a terminal ticket, nor one without a goal', () => {
    fc.assert(
      fc.property(scenario, (view) => {
        if (view.ticket.goal !== null && !isTerminal(view.ticket.state)) return;
        expect(reconcile(view)).toEqual(NOTHING);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
