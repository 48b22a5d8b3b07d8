// A rolling release (seed 003's gray release): the stable version's instances of each changed
// module are replaced in batches of `maxUnavailable` on the capacity that exists, instead of
// blue-green's second set. Each batch drains that many old instances (the snapshot stops routing
// to them; the engine's reclaim stops them once in-flight work is done) and starts as many new
// ones in the same step; when they are ready, the lane's share follows capacity — new ready over
// all ready — so users move with the batches, sticky as in a canary; the analysis of the traffic
// the new instances carry decides the next batch. Abort restores the old version batch by batch.
//
// Pure, like reconcile.ts, which dispatches here for `strategy: rolling`: observations in, the
// next idempotent step out. The helpers it shares with the canary (analysis, promotion, instance
// ids) come in as arguments, so this file does not import reconcile.ts back.

import { isLive, takesTraffic } from '../store/endpoint.js';
import type {
  Instance,
  LaneInput,
  Product,
  Ticket,
  TicketItem,
  TicketState,
} from '../store/model.js';
import type { CanaryPlan } from '../store/plan.js';
import { unavailableCount } from '../store/plan.js';
import { overall } from './analysis.js';
import type { NotReady } from './crash-loop.js';
import { crashLooping, failureMessage, notReadyOf } from './crash-loop.js';
import type { Progress, Verdict } from './progress.js';
import type { Action, Decision, TicketEventOut, TicketView } from './reconcile.js';
import { laneDiffers, laneName, laneOverlay, laneRules, versionsNamed } from './routes.js';
import { transition } from './state-machine.js';

/** What a rolling ticket replaces, observed beside it (observe.ts). */
export interface RollingSide {
  /** Instances of the versions the product's base dtab names for the ticket's modules. */
  readonly old: readonly Instance[];
  /** Why the ticket may not roll: other products route to a version it would drain. */
  readonly shared: readonly string[];
}

export interface RollingHelpers {
  readonly analysis: (view: TicketView, since: number) => Verdict[] | null;
  readonly promote: (view: TicketView) => Decision;
  readonly instanceId: (module: string, version: string, index: number) => string;
}

const NOTHING: Decision = { actions: [], patch: null, events: [] };

/** Versions of `module` the base dtab routes to, other than `except` (the ticket's own). */
export function stableVersions(baseDtab: string, module: string, except: string): string[] {
  return [...versionsNamed(baseDtab)]
    .filter((n) => n.startsWith(`${module}@`))
    .map((n) => n.slice(module.length + 1))
    .filter((v) => v !== except)
    .sort();
}

/**
 * Shared services keep their own versions: an old version another product's base dtab also
 * names serves that product too, and draining it would take its capacity. One line per clash.
 */
export function sharedStable(
  items: readonly TicketItem[],
  product: Product,
  products: readonly Product[],
): string[] {
  const out: string[] = [];
  for (const item of items)
    for (const version of stableVersions(product.baseDtab, item.module, item.version))
      for (const other of products)
        if (
          other.name !== product.name &&
          versionsNamed(other.baseDtab).has(`${item.module}@${version}`)
        )
          out.push(`${item.module}@${version} also serves product ${other.name}`);
  return out;
}

export function rollingSide(
  ticket: Ticket,
  product: Product,
  products: readonly Product[],
  instances: readonly Instance[],
): RollingSide {
  const old = new Set(
    ticket.items.flatMap((i) =>
      stableVersions(product.baseDtab, i.module, i.version).map((v) => `${i.module}@${v}`),
    ),
  );
  return {
    old: instances.filter((i) => old.has(`${i.module}@${i.version}`)),
    shared: sharedStable(ticket.items, product, products),
  };
}

// --- counting ----------------------------------------------------------------------------------

/** One changed module: its old (stable) and new instances as observed. */
interface Count {
  readonly module: string;
  readonly version: string;
  /** The stable version replaced (the first the base dtab names); null: a module new to routing. */
  readonly from: string | null;
  /** Live (starting or ready) old instances, in the order they are drained. */
  readonly old: readonly Instance[];
  readonly oldReady: number;
  /** Live new instances, in the order they are drained on abort. */
  readonly live: readonly Instance[];
  readonly newReady: number;
  /** Ids not free for a start: every old and new instance not stopped. */
  readonly taken: ReadonlySet<string>;
}

/** The one definition of an instance proxies send requests to (store/endpoint.ts). */
const isReady = (i: Instance, now: number) => takesTraffic(i, now);

/** Not-ready ones first (they carry nothing), then the highest ids. */
function drainOrder(list: readonly Instance[], now: number): Instance[] {
  return [...list].sort(
    (a, b) =>
      Number(isReady(a, now)) - Number(isReady(b, now)) ||
      b.id.localeCompare(a.id, 'en', { numeric: true }),
  );
}

function countOf(view: TicketView, item: TicketItem): Count {
  const { now } = view;
  const from = stableVersions(view.product.baseDtab, item.module, item.version)[0] ?? null;
  const olds = (view.rolling?.old ?? []).filter(
    (i) => i.module === item.module && i.version !== item.version,
  );
  const news = view.instances.filter((i) => i.module === item.module && i.version === item.version);
  const old = drainOrder(olds.filter(isLive), now);
  const live = drainOrder(news.filter(isLive), now);
  return {
    module: item.module,
    version: item.version,
    from,
    old,
    oldReady: old.filter((i) => isReady(i, now)).length,
    live,
    newReady: live.filter((i) => isReady(i, now)).length,
    taken: new Set([...olds, ...news].filter((i) => i.state !== 'stopped').map((i) => i.id)),
  };
}

/** The counts once `drained` have left routing. */
function without(c: Count, drained: ReadonlySet<string>, now: number): Count {
  const old = c.old.filter((i) => !drained.has(i.id));
  const live = c.live.filter((i) => !drained.has(i.id));
  return {
    ...c,
    old,
    live,
    oldReady: old.filter((i) => isReady(i, now)).length,
    newReady: live.filter((i) => isReady(i, now)).length,
  };
}

/**
 * The lane's share in %: of the instances ready to serve a module, the new ones' part (the
 * lowest over the modules, so no module's new side gets more than it can carry). A module whose
 * old side has nothing left ready takes 100 %. Modules new to routing carry no stable traffic.
 */
export function shareOf(counts: readonly Count[]): number {
  const replacing = counts.filter((c) => c.from !== null);
  const parts = (replacing.length > 0 ? replacing : counts).map((c) =>
    c.from !== null && c.oldReady === 0 ? 1 : c.newReady / Math.max(1, c.newReady + c.oldReady),
  );
  return Math.floor(Math.min(1, ...parts) * 10_000) / 100;
}

function rolloutOf(counts: readonly Count[]): NonNullable<Progress['rollout']> {
  return counts.map((c) => ({
    module: c.module,
    version: c.version,
    from: c.from,
    old: c.oldReady,
    new: c.newReady,
  }));
}

function describe(counts: readonly Count[]): string {
  return counts
    .map(
      (c) =>
        `${c.module}@${c.version} ${c.newReady} new ready${c.from === null ? '' : `, ${c.from} ${c.oldReady} old ready`}`,
    )
    .join('; ');
}

// --- lane --------------------------------------------------------------------------------------

/** Without a canary plan the share is hashed on x-user-id, as a canary's is by default. */
const DEFAULT_KEY: CanaryPlan = {
  steps: [100],
  pauseMs: 0,
  segments: [],
  key: { header: 'x-user-id' },
};

/**
 * The lane at `percent` (null: pre-release only). At 100 % it takes every request, keyed or not:
 * the old side has no capacity left, and a request without a user key would find none there.
 */
export function rollingLane(view: TicketView, percent: number | null): LaneInput {
  const name = laneName(view.ticket.id);
  const rules = laneRules(
    name,
    { name: view.plan.prereleaseHeader, value: view.ticket.prereleaseSecret },
    percent === null ? null : { plan: view.plan.canary ?? DEFAULT_KEY, percent },
  );
  if (percent === 100) rules.push({ lane: name, cidr: '0.0.0.0/0' }, { lane: name, cidr: '::/0' });
  return { product: view.ticket.product, name, overlay: laneOverlay(view.ticket.items), rules };
}

function laneAction(view: TicketView, wanted: LaneInput): Action[] {
  return laneDiffers(view.lane, wanted) ? [{ kind: 'putLane', lane: wanted }] : [];
}

// --- forward: batches ----------------------------------------------------------------------------

/**
 * Batch `batch`'s steps: drain old instances beyond what the batch leaves, start new ones up to
 * what it wants. Drain and start go together: the old side loses at most maxUnavailable that the
 * previous batch's new instances (ready before it began) do not already replace.
 */
function batchActions(
  view: TicketView,
  counts: readonly Count[],
  want: number,
  h: RollingHelpers,
): { actions: Action[]; after: Count[] } {
  const actions: Action[] = [];
  const after: Count[] = [];
  for (const c of counts) {
    const excess = c.from === null ? 0 : c.old.length - (view.plan.replicas - want);
    const drained = new Set(c.old.slice(0, Math.max(0, excess)).map((i) => i.id));
    for (const id of drained) actions.push({ kind: 'drain', id });
    actions.push(...starts(c, c.version, want - c.live.length, h));
    after.push(without(c, drained, view.now));
  }
  return { actions, after };
}

function starts(c: Count, version: string, missing: number, h: RollingHelpers): Action[] {
  const out: Action[] = [];
  for (let index = 0; missing > 0; index++) {
    const id = h.instanceId(c.module, version, index);
    if (c.taken.has(id)) continue;
    out.push({ kind: 'start', id, module: c.module, version });
    missing--;
  }
  return out;
}

function actionEvents(actions: readonly Action[]): TicketEventOut[] {
  return actions.flatMap((a): TicketEventOut[] =>
    a.kind === 'start'
      ? [{ type: 'instance.start', data: { id: a.id, module: a.module, version: a.version } }]
      : a.kind === 'drain'
        ? [{ type: 'instance.drain', data: { id: a.id } }]
        : [],
  );
}

export function reconcileRolling(view: TicketView, h: RollingHelpers): Decision {
  const { ticket } = view;
  const counts = ticket.items.map((i) => countOf(view, i));
  const mu = unavailableCount(view.plan.maxUnavailable, view.plan.replicas);
  if (ticket.goal === 'aborted') return restore(view, counts, mu, h);
  if (ticket.state === 'failed') return NOTHING; // waits for a command (deploy again, abort)
  const shared = view.rolling?.shared ?? [];
  if (shared.length > 0)
    return failed(
      view,
      `a rolling release cannot drain ${shared.join('; ')}: it would take that product's capacity; use strategy blue-green`,
    );
  return walk(view, counts, mu, h);
}

function failed(
  view: TicketView,
  message: string,
  why?: { instances: NotReady[]; crashLoop: boolean },
): Decision {
  return {
    actions: [],
    patch: { ...transition(view.ticket.state, 'failed'), progress: { ...view.progress, message } },
    events: [{ type: 'deploy.failed', data: { message, ...why } }],
  };
}

/** A batch fails: `why`, then each new instance not ready with its exits and log (crash-loop.ts). */
function batchFailed(view: TicketView, why: string, fresh: Instance[], crashLoop: boolean) {
  const instances = notReadyOf(fresh, (i) => isReady(i, view.now), view.health);
  return failed(view, failureMessage(why, instances), { instances, crashLoop });
}

/**
 * How long every request goes to the lane before the last old instances drain. A request the
 * edge kept on stable just before may still call the module after the switch; while the old
 * side is ready it is served. Two seconds, like the engine's drainMs: a proxy applies a snapshot
 * in milliseconds.
 */
export const ALL_IN_MS = 2000;

function walk(view: TicketView, counts: Count[], mu: number, h: RollingHelpers): Decision {
  const { ticket, plan, progress, now } = view;
  const batches = Math.ceil(plan.replicas / mu);
  // Deploy and pre-release stop at the first batch; canary and promote walk them all.
  const walking = ticket.goal === 'canary' || ticket.goal === 'promoted';
  const batch = Math.min(progress.batch ?? 1, walking ? batches : 1);
  const want = Math.min(plan.replicas, batch * mu);
  const sameBatch = progress.batch === batch && progress.batchStartedAt !== undefined;
  const startedAt = sameBatch ? (progress.batchStartedAt as number) : now;
  // The last batch leaves the old side nothing: every request moves to the lane first.
  if (walking && batch === batches && now - (progress.allInAt ?? now) < ALL_IN_MS)
    return allIn(view, counts, batch, batches, startedAt, sameBatch ? [] : null);
  let { actions, after } = batchActions(view, counts, want, h);
  const events = actionEvents(actions);
  if (!sameBatch) events.unshift(batchEvent(batch, batches, after));
  const ready = after.every((c) => c.newReady >= want);
  let next: Progress = {
    ...progress,
    batch,
    batches,
    batchStartedAt: startedAt,
    rollout: rolloutOf(after),
  };

  if (!ready) {
    // The last batch's instances start once the all-in hold is over.
    const allInAt = progress.allInAt;
    const since = allInAt === undefined ? startedAt : Math.max(startedAt, allInAt + ALL_IN_MS);
    const short = after.filter((c) => c.newReady < want);
    const fresh = short.flatMap((c) => c.live);
    // Every item short and each of its new instances crashing: the batch fails at once.
    const crashing =
      short.length === after.length &&
      crashLooping(fresh, (i) => isReady(i, now), view.health, since);
    if (crashing) {
      const exits = view.health?.crashLoopExits ?? 0;
      const why = `rolling batch ${batch} of ${batches} failed: every new instance keeps crashing (${exits} exits or more, none ready)`;
      return batchFailed(view, why, fresh, true);
    }
    if (now - since > plan.readyTimeoutMs) {
      const what = short.map((c) => `${c.module}@${c.version} has ${c.newReady} of ${want} ready`);
      const why = `rolling batch ${batch} of ${batches} failed: after ${Math.round(plan.readyTimeoutMs / 1000)} s ${what.join('; ')}`;
      return batchFailed(view, why, fresh, false);
    }
    // Short of ready instances: deploying again, as blue-green (a deployed ticket lost one).
    const state =
      ticket.state === 'open' || ticket.state === 'deployed' ? 'deploying' : ticket.state;
    next = { ...next, message: `rolling batch ${batch} of ${batches}: ${describe(after)}` };
    const lane = walking && batch > 1 ? laneAction(view, rollingLane(view, shareOf(after))) : [];
    return settle(view, state, next, events, [...actions, ...lane]);
  }

  const readyAt = sameBatch && progress.batchReadyAt !== undefined ? progress.batchReadyAt : now;
  next = { ...next, batchReadyAt: readyAt };
  if (ticket.goal === 'deployed' || ticket.goal === 'prerelease') {
    const pre = ticket.goal === 'prerelease';
    // A goal of deployed never takes a ticket back from pre-release or canary (commands never
    // lower the goal that way; as blue-green, the state stays where it is).
    const ahead = !pre && (ticket.state === 'prerelease' || ticket.state === 'canary');
    const state = ahead ? ticket.state : pre ? 'prerelease' : 'deployed';
    if (ticket.state !== state) events.push({ type: state, data: {} });
    next = {
      ...next,
      message: `rolling batch 1 of ${batches} ${pre ? 'live for the pre-release header' : 'deployed'}: ${describe(after)}`,
    };
    const lane = pre ? laneAction(view, rollingLane(view, null)) : [];
    return settle(view, state, next, events, [...actions, ...lane]);
  }

  if (batch === batches) {
    if (ticket.goal === 'promoted') {
      const p = h.promote(view);
      return { ...p, actions: [...actions, ...p.actions], events: [...events, ...p.events] };
    }
    if (progress.canaryDone !== true)
      events.push({ type: 'canary.done', data: { percent: 100, batches } });
    next = {
      ...next,
      canaryDone: true,
      message: `rolling complete: all ${batches} batches on the new version; ready to promote`,
    };
    const lane = laneAction(view, rollingLane(view, shareOf(after)));
    return settle(view, 'canary', next, events, [...actions, ...lane]);
  }

  // The batch carries its users: judge that traffic before draining more of the old side.
  const verdicts = h.analysis(view, readyAt);
  const verdict = verdicts === null ? 'pass' : overall(verdicts);
  if (verdicts !== null) next = { ...next, analysis: verdicts };
  const share = shareOf(after);
  if (verdict === 'fail') return analysisFailed(next, verdicts ?? [], share);
  const pauseMs = plan.canary === null ? 0 : plan.canary.pauseMs;
  const approved = (progress.approvedStep ?? -1) >= batch;
  const held = pauseMs === null ? approved : now - readyAt >= pauseMs;
  if (held && (verdict === 'pass' || approved)) {
    if (batch + 1 === batches) {
      const { batchReadyAt: _r, ...rest } = next;
      return allIn({ ...view, progress: rest }, counts, batch + 1, batches, now, null);
    }
    const wantNext = Math.min(plan.replicas, (batch + 1) * mu);
    const more = batchActions(view, counts, wantNext, h);
    actions = more.actions;
    next = { ...next, rollout: rolloutOf(more.after) };
    const { batchReadyAt: _r, ...rest } = next;
    next = {
      ...rest,
      batch: batch + 1,
      batchStartedAt: now,
      message: `rolling batch ${batch + 1} of ${batches}: ${describe(more.after)}`,
    };
    const lane = laneAction(view, rollingLane(view, shareOf(more.after)));
    const out = [batchEvent(batch + 1, batches, more.after), ...actionEvents(actions)];
    return settle(view, 'canary', next, out, [...actions, ...lane]);
  }
  next = { ...next, message: holdMessage(batch, batches, share, pauseMs, held, verdicts) };
  const lane = laneAction(view, rollingLane(view, share));
  return settle(view, 'canary', next, events, [...actions, ...lane]);
}

/**
 * The last batch's first step: the lane takes every request while the old side still serves;
 * no instance drains or starts. `events` null: the batch begins here (its event is written).
 */
function allIn(
  view: TicketView,
  counts: readonly Count[],
  batch: number,
  batches: number,
  startedAt: number,
  events: TicketEventOut[] | null,
): Decision {
  const next: Progress = {
    ...view.progress,
    batch,
    batches,
    batchStartedAt: startedAt,
    allInAt: view.progress.allInAt ?? view.now,
    rollout: rolloutOf(counts),
    message: `rolling batch ${batch} of ${batches}: every request goes to the new version; the last old instances drain next`,
  };
  const out = events ?? [batchEvent(batch, batches, counts)];
  return settle(view, 'canary', next, out, laneAction(view, rollingLane(view, 100)));
}

function batchEvent(batch: number, batches: number, counts: readonly Count[]): TicketEventOut {
  return {
    type: 'rolling.batch',
    data: { batch, batches, share: shareOf(counts), rollout: rolloutOf(counts) },
  };
}

function holdMessage(
  batch: number,
  batches: number,
  share: number,
  pauseMs: number | null,
  held: boolean,
  verdicts: Verdict[] | null,
): string {
  const at = `rolling batch ${batch} of ${batches} at ${share} %`;
  if (held) {
    const waiting = (verdicts ?? [])
      .filter((v) => v.verdict === 'wait')
      .map((v) => `${v.module}@${v.version}: ${v.reason}`);
    return `${at}: waiting for enough traffic (${waiting.join('; ')}); approve to go on anyway`;
  }
  return pauseMs === null ? `${at}: waiting for approval` : `${at}: holding`;
}

/**
 * The goal becomes aborted; the state stays until the old version is back (restore). The lane
 * keeps its share meanwhile: the old side cannot take its users before it has the capacity.
 */
function analysisFailed(next: Progress, verdicts: Verdict[], share: number): Decision {
  const failedOnes = verdicts.filter((v) => v.verdict === 'fail');
  const message = `analysis failed at batch ${next.batch} of ${next.batches} (${share} %): ${failedOnes.map((v) => `${v.module}@${v.version} ${v.reason}`).join('; ')}`;
  return {
    actions: [],
    patch: { goal: 'aborted', progress: { ...next, analysis: verdicts, message } },
    events: [{ type: 'analysis.failed', data: { message, analysis: verdicts } }],
  };
}

/** Writes state, progress, events and actions, or nothing when nothing changed. */
function settle(
  view: TicketView,
  state: TicketState,
  next: Progress,
  events: TicketEventOut[],
  actions: Action[],
): Decision {
  const unchanged =
    view.ticket.state === state &&
    actions.length === 0 &&
    events.length === 0 &&
    JSON.stringify(next) === JSON.stringify(view.progress);
  if (unchanged) return NOTHING;
  return { actions, patch: { ...transition(view.ticket.state, state), progress: next }, events };
}

// --- abort: restore ------------------------------------------------------------------------------

/**
 * Old instances come back maxUnavailable at a time; a new one is drained only once a ready old
 * one replaces it, so the ready count of a module never drops below what it was. When every
 * module's old side is back to its replicas, the lane goes, the rest of the new side drains, and
 * the ticket is aborted.
 */
function restore(view: TicketView, counts: Count[], mu: number, h: RollingHelpers): Decision {
  const { plan, now } = view;
  const R = plan.replicas;
  const actions: Action[] = [];
  const after: Count[] = [];
  let back = true;
  for (const c of counts) {
    if (c.from === null) {
      after.push(c);
      continue;
    }
    if (c.oldReady < R) back = false;
    const oldStarting = c.old.length - c.oldReady;
    if (oldStarting === 0 && c.old.length < R)
      actions.push(...starts(c, c.from, Math.min(mu, R - c.old.length), h));
    // Starting new instances carry nothing; a ready one goes when a ready old one stands in.
    const idle = c.live.filter((i) => !isReady(i, now));
    const excess = Math.max(0, c.oldReady + c.newReady - R);
    const ready = c.live.filter((i) => isReady(i, now)).slice(0, excess);
    const drained = new Set([...idle, ...ready].map((i) => i.id));
    for (const id of drained) actions.push({ kind: 'drain', id });
    after.push(without(c, drained, now));
  }
  const progress: Progress = { ...view.progress, rollout: rolloutOf(after) };
  if (back) return restored(view, counts, progress);
  const lane = view.lane;
  if (lane !== null) {
    const empty = after.some((c) => c.from !== null && c.newReady === 0);
    if (empty) actions.push({ kind: 'deleteLane', product: lane.product, name: lane.name });
    else if (lane.rules.some((r) => 'percent' in r))
      actions.push(...laneAction(view, rollingLane(view, shareOf(after))));
  }
  const message = `aborting: restoring the old version batch by batch: ${describe(after)}`;
  const next = { ...progress, message };
  const events = actionEvents(actions);
  const unchanged = actions.length === 0 && JSON.stringify(next) === JSON.stringify(view.progress);
  return unchanged ? NOTHING : { actions, patch: { progress: next }, events };
}

function restored(view: TicketView, counts: readonly Count[], progress: Progress): Decision {
  const actions: Action[] = counts.flatMap((c) =>
    c.live.map((i): Action => ({ kind: 'drain', id: i.id })),
  );
  if (view.lane !== null)
    actions.push({ kind: 'deleteLane', product: view.lane.product, name: view.lane.name });
  const message = 'aborted: the old version serves again at full capacity';
  return {
    actions,
    patch: {
      ...transition(view.ticket.state, 'aborted'),
      goal: 'aborted',
      progress: { ...progress, message },
    },
    events: [...actionEvents(actions), { type: 'aborted', data: { message } }],
  };
}
