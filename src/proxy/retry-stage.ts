// Stages 4–6 as a loop: balance (choose an endpoint), forward (one attempt, sent by the caller:
// a request or an upgrade handshake), record; then the one retry policy (`isRetryable`), the
// attempt limit and the budget decide whether another attempt follows, after a jittered backoff.

import type { Bound } from '../routing/index.js';
import { chooseUpstream } from './balance-stage.js';
import type { RequestRoute } from './context-stage.js';
import type { AttemptResult } from './forward.js';
import type { ProxyRuntime } from './handler.js';
import { recordEnd, recordStart, seriesFor } from './record-stage.js';
import type { RetryCandidate } from './retry-budget.js';
import { backoffMs, isRetryable } from './retry-budget.js';
import type { RequestSeries } from './stats.js';
import type { Upstream } from './upstreams.js';

export interface AttemptPlan<T> {
  readonly method: string;
  /** The request has a body (which streams: once read, it cannot be replayed). */
  readonly hasBody: boolean;
  /** Sends one attempt to `up`; with `holdBack503`, a 503 is not passed on (a retry may follow). */
  send(up: Upstream, holdBack503: boolean): Promise<T>;
  /** The attempt's result as the balancer, the metrics and the policy read it. */
  outcome(result: T): AttemptResult;
  /** The client has gone: no attempt is worth starting. */
  clientGone(): boolean;
}

export type Attempted<T> =
  | { readonly kind: 'overloaded' }
  | {
      readonly kind: 'done';
      readonly result: T;
      readonly outcome: AttemptResult;
      readonly up: Upstream;
      readonly series: RequestSeries;
      readonly attempts: number;
    };

/** What the policy is asked about a finished attempt; null when it was answered and passed on. */
export function retryCandidate(
  method: string,
  hasBody: boolean,
  r: AttemptResult,
): RetryCandidate | null {
  if (r.kind === 'held-503') return { method, failure: null, status: 503, bodyConsumed: hasBody };
  if (r.kind === 'responded' || r.responseStarted) return null;
  return { method, failure: r.failure, bodyConsumed: r.bodyRead };
}

/** Attempts until one is final: answered, not retryable, out of attempts, budget or client. */
export async function attemptWithRetries<T>(
  rt: ProxyRuntime,
  route: RequestRoute,
  bound: Bound,
  plan: AttemptPlan<T>,
): Promise<Attempted<T>> {
  const maxAttempts = rt.options.maxAttempts;
  // Asked once: whether a 503 to this request could ever be retried, so is worth holding back.
  const may503 = isRetryable({
    method: plan.method,
    failure: null,
    status: 503,
    bodyConsumed: plan.hasBody,
  });
  let tried: Set<string> | null = null;
  rt.retryBudget.deposit(rt.now());
  for (let n = 1; ; n++) {
    const up = chooseUpstream(rt, bound.addrs, tried);
    if (up === null) return { kind: 'overloaded' };
    const series = seriesFor(rt, route, bound, up.address);
    const hold = may503 && n < maxAttempts && rt.retryBudget.balance(rt.now()) >= 1;
    const startedAt = recordStart(rt, series);
    const result = await plan.send(up, hold);
    const outcome = plan.outcome(result);
    recordEnd(rt, series, up, outcome, startedAt, bound.addrs);
    const candidate = retryCandidate(plan.method, plan.hasBody, outcome);
    const again =
      candidate !== null &&
      isRetryable(candidate) &&
      n < maxAttempts &&
      !plan.clientGone() &&
      rt.retryBudget.tryWithdraw(rt.now());
    if (!again) return { kind: 'done', result, outcome, up, series, attempts: n };
    tried ??= new Set();
    tried.add(up.address);
    await delay(backoffMs(n - 1, rt.random));
  }
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
