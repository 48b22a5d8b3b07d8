// The release progress view: a ticket, its instances and its latest events as lines of text.
// Pure (the data comes in, lines go out), so `release status`, `--watch` and `--wait` print the
// same thing and tests can read it.

import type { Progress } from '../release/progress.js';
import { escapeControl } from '../safe-text.js';
import { eventSentence } from './event-text.js';
import type { AssignmentData } from './release-hosts-view.js';
import { hostStepLines } from './release-hosts-view.js';

export interface TicketData {
  id: number;
  product: string;
  state: string;
  goal: string | null;
  items: { module: string; version: string }[];
  revertOf: number | null;
  plan: {
    canary?: { steps: number[] } | null;
    prereleaseHeader?: string;
    replicas?: number;
    strategy?: string;
    maxUnavailable?: number | string;
  };
  progress: Progress;
  /** The pre-release header's value (random; from a control plane before it: absent). */
  prereleaseSecret?: string;
}

/** `x-prerelease: <the ticket's secret>`: what testers send to reach the ticket's lane. */
export function prereleaseHeader(t: TicketData): string {
  return `${t.plan.prereleaseHeader ?? 'x-prerelease'}: ${t.prereleaseSecret ?? '(not shown by this control plane)'}`;
}

export interface InstanceData {
  id: string;
  module: string;
  version: string;
  address: string;
  state: string;
  health: string;
  /** Whether proxies send it requests now (the API computes it: src/store/endpoint.ts). */
  serving: boolean;
}

export interface EventData {
  seq: number;
  type: string;
  actor: string;
  at: string;
  data: unknown;
}

/** Requests entering the product (at its entry module) in a recent window, and the lane's part. */
export interface LaneShare {
  entry: string;
  lane: number;
  total: number;
  windowMs: number;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number | null) => (x === null ? '-' : `${x.toFixed(0)}ms`);

function bar(done: number, total: number, width = 20): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * Where the engine is moving the ticket, or null when nothing moves it: a failed ticket waits for a
 * command (its recorded goal is what it failed to reach, not where it is going, so `failed →
 * deployed` would read as progress); promoted and aborted are final. Only an abort moves a failed
 * ticket on.
 */
export function headingTo(t: Pick<TicketData, 'state' | 'goal'>): string | null {
  if (t.goal === null || t.goal === t.state) return null;
  if (t.state === 'promoted' || t.state === 'aborted') return null;
  if (t.state === 'failed' && t.goal !== 'aborted') return null;
  return t.goal;
}

export function renderTicket(
  t: TicketData,
  instances: InstanceData[],
  events: EventData[],
  share: LaneShare | null = null,
  assignments: readonly AssignmentData[] = [],
): string[] {
  const lines = [
    `ticket ${t.id}  product ${t.product}  state ${t.state}${headingTo(t) !== null ? ` → ${headingTo(t)}` : ''}${t.revertOf !== null ? `  (reverts ticket ${t.revertOf})` : ''}`,
  ];
  if (t.progress.message !== undefined) lines.push(`  ${t.progress.message}`);
  if (t.state === 'prerelease' || t.state === 'canary')
    lines.push(`  pre-release header  ${prereleaseHeader(t)}`);
  const replicas = t.plan.replicas ?? 1;
  lines.push('  items');
  for (const item of t.items) {
    const mine = instances.filter((i) => i.module === item.module && i.version === item.version);
    const ready = mine.filter((i) => i.serving).length;
    const detail = mine
      .map(
        (i) =>
          `${i.id} ${i.state}/${i.health}${i.state === 'ready' && !i.serving ? ' (not serving)' : ''}`,
      )
      .join(', ');
    lines.push(
      `    ${`${item.module}@${item.version}`.padEnd(28)} ${bar(Math.min(ready, replicas), replicas, 10)} ${ready}/${replicas} ready${detail === '' ? '' : `  ${detail}`}`,
    );
  }
  lines.push(...hostStepLines(t.items, assignments, instances));
  const steps = t.plan.canary?.steps;
  if (t.plan.strategy === 'rolling') lines.push(...rollingLines(t));
  else if (steps !== undefined && (t.state === 'canary' || t.progress.canaryStep !== undefined)) {
    const at = t.progress.canaryStep ?? 0;
    const done = t.progress.canaryDone === true ? steps.length : at;
    const marks = steps
      .map((s, i) => (i < done ? `${s}%✓` : i === at ? `[${s}%]` : `${s}%`))
      .join(' → ');
    lines.push(`  canary ${bar(done, steps.length)} ${marks}`);
  }
  if (share !== null) {
    const of =
      share.total === 0
        ? 'no requests'
        : `${pct(share.lane / share.total)} of ${share.total} requests`;
    lines.push(
      `  traffic lane t-${t.id}: ${of} to ${share.entry} in the last ${share.windowMs / 1000} s`,
    );
  }
  for (const v of t.progress.analysis ?? []) {
    lines.push(
      `  analysis ${`${v.module}@${v.version}`.padEnd(20)} ${v.verdict.toUpperCase().padEnd(4)} lane ${v.lane.requests} req ${pct(v.lane.errorRate)} err p99 ${ms(v.lane.p99Ms)} | stable ${v.stable.requests} req ${pct(v.stable.errorRate)} err p99 ${ms(v.stable.p99Ms)}`,
    );
    // Each metric's test, statistic and decision in words (absent on verdicts stored before them).
    for (const test of v.tests ?? []) lines.push(`    ${test.reason}`);
  }
  const recent = events.slice(-6);
  if (recent.length > 0) lines.push('  events');
  for (const e of recent)
    lines.push(`    ${e.at.slice(11, 19)} ${eventSentence(e.type, e.data)}  (by ${e.actor})`);
  // Messages, names and actors come from the store: no control character reaches the terminal
  // (`--watch` itself clears the screen before each view; nothing in the view may).
  return lines.map((l) => escapeControl(l));
}

/** A rolling ticket's batches (src/release/rolling.ts): n of m, and old/new ready per module. */
function rollingLines(t: TicketData): string[] {
  const { batch, batches, rollout } = t.progress;
  const head = `  rolling maxUnavailable ${t.plan.maxUnavailable ?? '25%'}`;
  if (batch === undefined || batches === undefined) return [`${head}, not started`];
  const done = t.progress.canaryDone === true || t.state === 'promoted' ? batches : batch - 1;
  const lines = [`${head}  batch ${batch} of ${batches} ${bar(done, batches)}`];
  for (const r of rollout ?? [])
    lines.push(
      `    ${`${r.module}@${r.version}`.padEnd(28)} ${r.new} new ready${r.from === null ? '' : `, ${r.from} ${r.old} old ready`}`,
    );
  return lines;
}

/** Whether waiting for `goal` is over: reached, or ended otherwise. */
export function settled(t: TicketData, goal: string): boolean {
  if (t.state === 'failed' || t.state === 'aborted' || t.state === 'promoted') return true;
  if (goal === 'canary') return t.progress.canaryDone === true;
  if (goal === 'deployed')
    return t.state === 'deployed' || t.state === 'prerelease' || t.state === 'canary';
  return t.state === goal;
}
