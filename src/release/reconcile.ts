// The release engine's brain: one pure function from a ticket and what is observed around it to
// the next idempotent step. Called on every tick; when nothing needs doing it answers no actions
// and no patch, so a repeated call (after a crash, on another replica) is harmless.
//
// The order is the release flow of DESIGN.md §4: deploy (levels bottom-up, in batches, gated on
// readiness) → pre-release (the lane is live for the header) → canary (steps of share, analysis
// against stable) → promote (the base dtab names the ticket's versions, the lane retires).
// An abort — asked for, or decided by analysis — removes the lane at once.

import { isLive, takesTraffic } from '../store/endpoint.js';
import type {
  Instance,
  Lane,
  LaneInput,
  Product,
  Ticket,
  TicketGoal,
  TicketItem,
  TicketState,
} from '../store/model.js';
import type { ReleasePlan } from '../store/plan.js';
import type { Figures } from './analysis.js';
import { judge, overall } from './analysis.js';
import type { HealthView } from './crash-loop.js';
import { crashLooping, failureMessage, notReadyOf } from './crash-loop.js';
import type { Graph } from './planner.js';
import { deployLevels } from './planner.js';
import type { Progress, Verdict } from './progress.js';
import { stripDeploy } from './progress.js';
import type { RollingSide } from './rolling.js';
import { reconcileRolling } from './rolling.js';
import { laneDiffers, laneName, laneOverlay, laneRules, versionsNamed } from './routes.js';
import { transition } from './state-machine.js';
import { isTerminal } from './transitions.js';

export interface TicketView {
  readonly ticket: Ticket;
  readonly plan: ReleasePlan;
  readonly progress: Progress;
  readonly product: Product;
  readonly graph: Graph;
  /** Every instance of the ticket's module versions, whoever started it (version convergence). */
  readonly instances: readonly Instance[];
  /** The ticket's lane as stored, or null. */
  readonly lane: Lane | null;
  /** The product's other active tickets. */
  readonly others: readonly Ticket[];
  /** Lane and stable figures of one item since `sinceMs`; null: no stats source, no analysis. */
  readonly traffic:
    | ((item: TicketItem, sinceMs: number) => { lane: Figures; stable: Figures })
    | null;
  readonly now: number;
  /** A rolling ticket's old side (rolling.ts); absent for blue-green. */
  readonly rolling?: RollingSide;
  /**
   * Ids the deploy gate counts as ready although they take no traffic now: instances the fleet is
   * replacing after a host was lost (host-failure.ts, coveredByFleet). Absent: none.
   */
  readonly covered?: ReadonlySet<string>;
  /**
   * The runtime's view of the ticket's instances that are not ready (exits, restarts, log tail)
   * and the crash-loop threshold; absent: no runtime here, failures name no exit (crash-loop.ts).
   */
  readonly health?: HealthView;
}

export type Action =
  | {
      readonly kind: 'start';
      readonly id: string;
      readonly module: string;
      readonly version: string;
    }
  | { readonly kind: 'putLane'; readonly lane: LaneInput }
  | { readonly kind: 'deleteLane'; readonly product: string; readonly name: string }
  /** Out of routing: no new requests; reclaim stops it once drained (a rolling batch). */
  | { readonly kind: 'drain'; readonly id: string }
  /** The product's base dtab names these versions (rewritten from the dtab as stored then). */
  | { readonly kind: 'setStable'; readonly product: string; readonly items: readonly TicketItem[] };

export interface TicketEventOut {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export interface Decision {
  readonly actions: readonly Action[];
  /** Fields of the ticket to write, or null when nothing changes. */
  readonly patch: { state?: TicketState; goal?: TicketGoal; progress?: Progress } | null;
  readonly events: readonly TicketEventOut[];
}

const NOTHING: Decision = { actions: [], patch: null, events: [] };

/** An instance counts as ready when proxies send it requests (store/endpoint.ts, takesTraffic). */
export function isReady(i: Instance, now: number): boolean {
  return takesTraffic(i, now);
}

/** Deterministic instance ids, so a start repeated after a crash names the same instance. */
export function instanceId(module: string, version: string, index: number): string {
  return `${module}-${version}-${index}`;
}

export function reconcile(view: TicketView): Decision {
  const { ticket } = view;
  if (ticket.goal === null || isTerminal(ticket.state)) return NOTHING;
  if (view.plan.strategy === 'rolling') return rolling(view);
  // Only an operator's command sets this goal (analysis failures end the ticket at once, below):
  // progress.message still says what the ticket was doing (a lane is live, a deploy level…), which
  // is not why it ended.
  if (ticket.goal === 'aborted') return abort(view, 'aborted by an operator', 'aborted');
  if (ticket.state === 'failed') return NOTHING; // waits for a command (deploy again, amend, abort)

  const deploy = deployStep(view);
  if (deploy !== null) return deploy;
  const deployed: Decision =
    ticket.state === 'open' || ticket.state === 'deploying'
      ? change({ ...to(view, 'deployed'), progress: stripDeploy(view.progress) }, [
          event('deployed', {}),
        ])
      : NOTHING;
  switch (ticket.goal) {
    case 'deployed':
      return deployed;
    case 'promoted':
      return merge(deployed, promote(view));
    case 'prerelease':
      return merge(deployed, prerelease(view));
    case 'canary':
      return merge(deployed, canary(view));
  }
}

function event(type: string, data: Record<string, unknown>): TicketEventOut {
  return { type, data };
}

function change(
  patch: NonNullable<Decision['patch']>,
  events: TicketEventOut[],
  actions: Action[] = [],
): Decision {
  return { actions, patch, events };
}

/** Two decisions of one tick, the later one's patch fields winning. */
function merge(a: Decision, b: Decision): Decision {
  const patch =
    a.patch === null
      ? b.patch
      : b.patch === null
        ? a.patch
        : { ...a.patch, ...b.patch, progress: { ...a.patch.progress, ...b.patch.progress } };
  return { actions: [...a.actions, ...b.actions], patch, events: [...a.events, ...b.events] };
}

/** The state field of a patch moving the ticket to `state` (state-machine.ts checks the move). */
function to(view: TicketView, state: TicketState): { readonly state: TicketState } {
  return transition(view.ticket.state, state);
}

// --- deploy -----------------------------------------------------------------------------------

/** null when every item has its replicas ready; otherwise what to do about the lowest level short. */
function deployStep(view: TicketView): Decision | null {
  const { ticket, plan, now } = view;
  const versionOf = new Map(ticket.items.map((i) => [i.module, i.version]));
  const levels = deployLevels(
    ticket.items.map((i) => i.module),
    view.graph,
  );
  for (let level = 0; level < levels.length; level++) {
    const modules = levels[level] ?? [];
    const short = modules
      .map((module) => ({ module, version: versionOf.get(module) as string }))
      .map((item) => ({ ...item, ...countInstances(view.instances, item, now, view.covered) }))
      .filter((c) => c.ready < plan.replicas);
    if (short.length === 0) continue;
    return deployLevel(view, level, short, short.length === modules.length);
  }
  return null;
}

interface Counted {
  module: string;
  version: string;
  ready: number;
  live: Instance[];
}

function countInstances(
  instances: readonly Instance[],
  item: TicketItem,
  now: number,
  covered: ReadonlySet<string> = new Set(),
) {
  const mine = instances.filter((i) => i.module === item.module && i.version === item.version);
  return {
    ready: mine.filter((i) => isReady(i, now) || covered.has(i.id)).length,
    live: mine.filter(isLive),
    all: mine,
  };
}

/**
 * The level's next step. `whole`: every item of the level is short (none has all its replicas
 * ready), so when each of its live instances keeps crashing, the level fails at once.
 */
function deployLevel(
  view: TicketView,
  level: number,
  short: (Counted & { all: Instance[] })[],
  whole: boolean,
): Decision {
  const { plan, now, progress } = view;
  const sameLevel = progress.level === level && progress.levelStartedAt !== undefined;
  const levelStartedAt = sameLevel ? (progress.levelStartedAt as number) : now;
  const ready = (i: Instance) => isReady(i, now) || (view.covered?.has(i.id) ?? false);
  const live = short.flatMap((c) => c.live);
  if (whole && crashLooping(live, ready, view.health, levelStartedAt)) {
    const exits = view.health?.crashLoopExits ?? 0;
    const why = `every instance of level ${level} keeps crashing (${exits} exits or more, none ready)`;
    return deployFailed(view, level, why, live, ready, true);
  }
  if (now - levelStartedAt > plan.readyTimeoutMs) {
    const what = short
      .map((c) => `${c.module}@${c.version} has ${c.ready} of ${plan.replicas} ready`)
      .join('; ');
    const why = `after ${Math.round(plan.readyTimeoutMs / 1000)} s ${what}`;
    return deployFailed(view, level, why, live, ready, false);
  }
  const starting = short.reduce((n, c) => n + c.live.length - c.ready, 0);
  let budget = plan.surge - starting;
  const actions: Action[] = [];
  for (const c of short) {
    // A draining instance keeps its id until it has stopped; a stopped one's id may be reused.
    const taken = new Set(c.all.filter((i) => i.state !== 'stopped').map((i) => i.id));
    for (
      let index = 0, missing = plan.replicas - c.live.length;
      missing > 0 && budget > 0;
      index++
    ) {
      const id = instanceId(c.module, c.version, index);
      if (taken.has(id)) continue;
      actions.push({ kind: 'start', id, module: c.module, version: c.version });
      missing--;
      budget--;
    }
  }
  const events = sameLevel
    ? []
    : [event('deploy.level', { level, modules: short.map((c) => `${c.module}@${c.version}`) })];
  for (const a of actions)
    if (a.kind === 'start')
      events.push(event('instance.start', { id: a.id, module: a.module, version: a.version }));
  const message = `deploying level ${level}: ${short.map((c) => `${c.module}@${c.version} ${c.ready}/${view.plan.replicas} ready`).join(', ')}`;
  const next: Progress = { ...progress, level, levelStartedAt, message };
  const patch =
    view.ticket.state === 'deploying' && sameLevel && progress.message === message
      ? null
      : { ...to(view, 'deploying'), progress: next };
  return { actions, patch, events };
}

/** The ticket fails: `why`, then each instance not ready with its exits, restarts and log tail. */
function deployFailed(
  view: TicketView,
  level: number,
  why: string,
  live: readonly Instance[],
  ready: (i: Instance) => boolean,
  crashLoop: boolean,
): Decision {
  const instances = notReadyOf(live, ready, view.health);
  const message = failureMessage(`deploy failed: ${why}`, instances);
  return change({ ...to(view, 'failed'), progress: { ...view.progress, message } }, [
    event('deploy.failed', { level, message, crashLoop, instances }),
  ]);
}

// --- pre-release, canary -----------------------------------------------------------------------

function wantedLane(view: TicketView, percent: number | null): LaneInput {
  const name = laneName(view.ticket.id);
  const canary = view.plan.canary;
  return {
    product: view.ticket.product,
    name,
    overlay: laneOverlay(view.ticket.items),
    rules: laneRules(
      name,
      { name: view.plan.prereleaseHeader, value: view.ticket.prereleaseSecret },
      canary === null || percent === null ? null : { plan: canary, percent },
    ),
  };
}

function laneActions(view: TicketView, wanted: LaneInput): Action[] {
  return laneDiffers(view.lane, wanted) ? [{ kind: 'putLane', lane: wanted }] : [];
}

function prerelease(view: TicketView): Decision {
  const lane = wantedLane(view, null);
  const actions = laneActions(view, lane);
  if (view.ticket.state === 'prerelease' && actions.length === 0) return NOTHING;
  // The header's name only: events and progress are copied into logs and terminals, and the value
  // (the ticket's secret, which rotation changes) is shown from the ticket itself.
  const header = view.plan.prereleaseHeader;
  const events =
    view.ticket.state === 'prerelease' ? [] : [event('prerelease', { lane: lane.name, header })];
  const message = `pre-release: lane ${lane.name} is live for requests with the ${header} header`;
  return change(
    { ...to(view, 'prerelease'), progress: { ...view.progress, message } },
    events,
    actions,
  );
}

/**
 * The canary's decision, decided again on the ticket and lane it leaves until nothing more
 * changes: a step that advanced is judged at once (its verdicts since now, its hold message; a
 * zero pause advances again), so a tick repeated at the same `now` decides nothing.
 */
function canary(view: TicketView): Decision {
  const plan = view.plan.canary;
  if (plan === null) return prerelease(view); // cannot happen through the API: canary needs steps
  let decision = canaryStep(view);
  for (let i = 0; i <= plan.steps.length + 1 && decision.patch?.state === 'canary'; i++) {
    const more = canaryStep(decided(view, decision));
    if (isNothing(more)) break;
    decision = andThen(decision, more);
  }
  return decision;
}

/**
 * A rolling ticket's decision, settled at one `now`: while a decision only moves the ticket (its
 * progress, state, lane), the walker is asked again on the ticket as that decision leaves it, so
 * batches already satisfied (their instances ready, nothing to drain, no pause or analysis to wait
 * for) are walked in one decision, not one per tick. It stops at the first decision that starts,
 * drains or promotes: what those change is observed on the next tick.
 */
function rolling(view: TicketView): Decision {
  const helpers = { analysis, promote, instanceId };
  let decision = reconcileRolling(view, helpers);
  let now = view;
  // A promotion or the end of an abort is observed first; so is a new goal (an analysis failure
  // is recorded, with its reason as the message, before the restore begins).
  const ends = (d: Decision) =>
    d.patch?.goal !== undefined ||
    d.actions.some((a) => a.kind === 'setStable' || a.kind === 'deleteLane');
  for (let i = 0; i < 16 && decision.patch !== null && !ends(decision); i++) {
    now = startedAndDrained(decided(now, decision), decision);
    if (isTerminal(now.ticket.state)) break;
    const more = reconcileRolling(now, helpers);
    if (isNothing(more)) break;
    // The walker saw the starts and drains so far applied: it does not repeat them.
    decision = andThen(decision, more);
  }
  return decision;
}

/**
 * The instances as a rolling decision leaves them: started ones starting (not ready, so nothing is
 * decided on them before they are observed ready), drained ones draining.
 */
function startedAndDrained(view: TicketView, d: Decision): TicketView {
  const drained = new Set(d.actions.flatMap((a) => (a.kind === 'drain' ? [a.id] : [])));
  const mine = (m: string, v: string) =>
    view.ticket.items.some((i) => i.module === m && i.version === v);
  const drain = (list: readonly Instance[]) =>
    list.map((i) => (drained.has(i.id) ? { ...i, state: 'draining' as const } : i));
  let instances = drain(view.instances);
  let old = drain(view.rolling?.old ?? []);
  for (const a of d.actions) {
    if (a.kind !== 'start') continue;
    const fresh: Instance = {
      id: a.id,
      module: a.module,
      version: a.version,
      host: '',
      address: '',
      state: 'starting',
      health: 'unknown',
      weight: 1,
      leaseExpiresAt: null,
      createdAt: '',
      updatedAt: '',
    };
    if (mine(a.module, a.version)) instances = [...instances.filter((i) => i.id !== a.id), fresh];
    else old = [...old.filter((i) => i.id !== a.id), fresh];
  }
  return {
    ...view,
    instances,
    ...(view.rolling === undefined ? {} : { rolling: { ...view.rolling, old } }),
  };
}

const isNothing = (d: Decision) =>
  d.patch === null && d.actions.length === 0 && d.events.length === 0;

/** `a`, then `b` decided on what `a` leaves, as one decision: `b`'s lane replaces `a`'s. */
function andThen(a: Decision, b: Decision): Decision {
  const lane = b.actions.some((x) => x.kind === 'putLane');
  return merge({ ...a, actions: a.actions.filter((x) => !lane || x.kind !== 'putLane') }, b);
}

/** The ticket and lane as they are once `d` is applied (for the canary's next decision). */
function decided(view: TicketView, d: Decision): TicketView {
  const progress = d.patch?.progress ?? view.progress;
  const ticket = { ...view.ticket, ...d.patch, progress: progress as Ticket['progress'] };
  const put = d.actions.findLast((a) => a.kind === 'putLane');
  const lane =
    put?.kind === 'putLane'
      ? { ...put.lane, createdAt: view.lane?.createdAt ?? '', updatedAt: '' }
      : view.lane;
  return { ...view, ticket, progress, lane: lane as Lane | null };
}

function canaryStep(view: TicketView): Decision {
  const plan = view.plan.canary;
  if (plan === null) return prerelease(view);
  const { progress, now } = view;
  const step = progress.canaryStep ?? 0;
  const stepStartedAt = progress.stepStartedAt ?? now;
  const percent = plan.steps[step] ?? 100;
  const events: TicketEventOut[] = [];
  if (progress.canaryStep === undefined) events.push(event('canary.step', { step, percent }));

  const verdicts = analysis(view, stepStartedAt);
  const verdict = verdicts === null ? 'pass' : overall(verdicts);
  if (verdict === 'fail') {
    const failed = (verdicts ?? []).filter((v) => v.verdict === 'fail');
    const message = `analysis failed at ${percent} %: ${failed.map((v) => `${v.module}@${v.version} ${v.reason}`).join('; ')}`;
    return abort(
      { ...view, progress: { ...progress, analysis: verdicts ?? [] } },
      message,
      'analysis.failed',
    );
  }

  const held =
    plan.pauseMs === null
      ? (progress.approvedStep ?? -1) >= step
      : now - stepStartedAt >= plan.pauseMs;
  const approved = (progress.approvedStep ?? -1) >= step;
  let next: Progress = { ...progress, canaryStep: step, stepStartedAt };
  if (verdicts !== null && verdictKindChanged(progress.analysis, verdicts))
    next = { ...next, analysis: verdicts };
  if (progress.canaryDone === true) {
    next = { ...next, message: `canary complete at ${percent} %: ready to promote` };
  } else if (held && (verdict === 'pass' || approved)) {
    next = { ...next, analysis: verdicts ?? next.analysis ?? [] };
    if (step + 1 < plan.steps.length) {
      next = {
        ...next,
        canaryStep: step + 1,
        stepStartedAt: now,
        message: `canary at ${plan.steps[step + 1]} %`,
      };
      events.push(
        event('canary.step', { step: step + 1, percent: plan.steps[step + 1], analysis: verdicts }),
      );
    } else {
      next = {
        ...next,
        canaryDone: true,
        message: `canary complete at ${percent} %: ready to promote`,
      };
      events.push(event('canary.done', { percent, analysis: verdicts }));
    }
  } else {
    next = {
      ...next,
      message: holdMessage(percent, plan.pauseMs, stepStartedAt, now, held, verdicts),
    };
  }
  // The lane carries the share of the step in force after this decision, not the one before it.
  const actions = laneActions(view, wantedLane(view, plan.steps[next.canaryStep ?? step] ?? 100));
  const unchanged =
    view.ticket.state === 'canary' &&
    actions.length === 0 &&
    events.length === 0 &&
    JSON.stringify(next) === JSON.stringify(progress);
  if (unchanged) return NOTHING;
  return change({ ...to(view, 'canary'), progress: next }, events, actions);
}

function holdMessage(
  percent: number,
  pauseMs: number | null,
  since: number,
  now: number,
  held: boolean,
  verdicts: Verdict[] | null,
): string {
  if (held) {
    const waiting = (verdicts ?? [])
      .filter((v) => v.verdict === 'wait')
      .map((v) => `${v.module}@${v.version}: ${v.reason}`);
    return `canary at ${percent} %: waiting for enough traffic (${waiting.join('; ')}); approve to go on anyway`;
  }
  if (pauseMs === null) return `canary at ${percent} %: waiting for approval`;
  // In steps of 5 s: a message changing every tick would be a store write every tick.
  const left = Math.max(0, Math.ceil((pauseMs - (now - since)) / 5_000) * 5);
  return `canary at ${percent} %: holding, about ${left} s left`;
}

function verdictKindChanged(
  before: readonly Verdict[] | undefined,
  after: readonly Verdict[],
): boolean {
  if (before === undefined || before.length !== after.length) return true;
  return before.some((v, i) => v.verdict !== after[i]?.verdict);
}

/** The ticket answers for the versions it changes (analysis.ts, judge). */
function analysis(view: TicketView, stepStartedAt: number): Verdict[] | null {
  const traffic = view.traffic;
  if (traffic === null) return null;
  const since = Math.max(stepStartedAt, view.now - view.plan.analysis.windowMs);
  return judge({
    items: view.ticket.items,
    figures: (item) => traffic(item, since),
    stable: versionsNamed(view.product.baseDtab),
    graph: view.graph,
    plan: view.plan.analysis,
  });
}

// --- promote, abort ----------------------------------------------------------------------------

/** Other active tickets of the product that change one of this ticket's modules. */
export function conflicts(ticket: Ticket, others: readonly Ticket[]): string[] {
  const mine = new Set(ticket.items.map((i) => i.module));
  return others
    .filter((o) => o.id !== ticket.id && !isTerminal(o.state))
    .flatMap((o) =>
      o.items
        .filter((i) => mine.has(i.module))
        .map((i) => `ticket ${o.id} also changes ${i.module}`),
    );
}

function promote(view: TicketView): Decision {
  const { ticket, product } = view;
  // A rollback never waits: the other ticket keeps its lane and is verified against the restored
  // stable versions from then on. A forward promotion over another's module would silently
  // change what that ticket was verified against, so it waits for that ticket to end.
  const clash = ticket.revertOf === null ? conflicts(ticket, view.others) : [];
  if (clash.length > 0) {
    const message = `cannot promote: ${clash.join('; ')} (abort or promote it first)`;
    return view.progress.message === message
      ? NOTHING
      : change({ progress: { ...view.progress, message } }, []);
  }
  const actions: Action[] = [
    {
      kind: 'setStable',
      product: product.name,
      items: ticket.items,
    },
  ];
  if (view.lane !== null)
    actions.push({ kind: 'deleteLane', product: product.name, name: view.lane.name });
  const { message: _m, ...progress } = view.progress;
  return change(
    { ...to(view, 'promoted'), progress },
    [event('promoted', { items: ticket.items, revertOf: ticket.revertOf })],
    actions,
  );
}

function abort(view: TicketView, message: string, type: 'aborted' | 'analysis.failed'): Decision {
  const actions: Action[] =
    view.lane === null
      ? []
      : [{ kind: 'deleteLane', product: view.ticket.product, name: view.lane.name }];
  const events = [
    event(type, {
      message,
      ...(view.progress.analysis ? { analysis: view.progress.analysis } : {}),
    }),
  ];
  if (type === 'analysis.failed') events.push(event('aborted', { message }));
  return change(
    { ...to(view, 'aborted'), goal: 'aborted', progress: { ...view.progress, message } },
    events,
    actions,
  );
}
