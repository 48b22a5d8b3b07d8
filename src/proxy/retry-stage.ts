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

/**
 * Attempts until one is final: answered, not retryable, out of attempts, budget or client. A
 * callback loop, not an async one: a request whose first attempt is final (the common case)
 * goes through it without a promise or a closure; a retry waits its backoff on a timer. The
 * subclass sends each attempt and reports it to `attempted` exactly once.
 */
export abstract class Attempts<T> {
  private n = 0;
  private tried: Set<string> | null = null;
  private may503 = false;
  private up: Upstream | null = null;
  private series: RequestSeries | null = null;
  /** When the current attempt started, on the proxy's clock (`rt.now()`). */
  startedAt = 0;

  constructor(
    protected readonly rt: ProxyRuntime,
    protected readonly route: RequestRoute,
    protected readonly bound: Bound,
    readonly method: string,
    /** The request has a body (which streams: once read, it cannot be replayed). */
    readonly hasBody: boolean,
  ) {}

  /** Sends one attempt to `up`; with `holdBack503`, a 503 is not passed on (a retry may follow). */
  protected abstract send(up: Upstream, holdBack503: boolean): void;
  /** The attempt's result as the balancer, the metrics and the policy read it. */
  protected abstract outcome(result: T): AttemptResult;
  /** The client has gone: no attempt is worth starting. */
  protected abstract clientGone(): boolean;
  /** The final attempt (or why there was none); called once. */
  protected abstract finished(done: Attempted<T>): void;
  /** A defect (a throw) anywhere in the loop: what an async loop's rejection was. */
  protected abstract crashed(error: Error): void;

  /** Starts the first attempt; `now` is the request's start on the proxy's clock (`rt.now()`). */
  protected begin(now: number): void {
    try {
      // Asked once: whether a 503 to this request could ever be retried, so worth holding back.
      this.may503 = isRetryable({
        method: this.method,
        failure: null,
        status: 503,
        bodyConsumed: this.hasBody,
      });
      this.rt.retryBudget.deposit(now);
      this.next(now);
    } catch (error) {
      this.crashed(error as Error);
    }
  }

  /** The attempt sent last has ended with `result`. */
  attempted(result: T): void {
    try {
      this.settle(result);
    } catch (error) {
      this.crashed(error as Error);
    }
  }

  /** The next attempt, after a retry's backoff. */
  private retry(): void {
    try {
      this.next(this.rt.now());
    } catch (error) {
      this.crashed(error as Error);
    }
  }

  /** One attempt, starting at `now`: the clock is read once per attempt start and end. */
  private next(now: number): void {
    const rt = this.rt;
    const n = ++this.n;
    const up = chooseUpstream(rt, this.bound.addrs, this.tried, now);
    if (up === null) {
      this.finished(OVERLOADED);
      return;
    }
    this.up = up;
    this.series = seriesFor(rt, this.route, this.bound, up);
    const hold = this.may503 && n < rt.options.maxAttempts && rt.retryBudget.balance(now) >= 1;
    recordStart(rt, this.series);
    this.startedAt = now;
    this.send(up, hold);
  }

  private settle(result: T): void {
    const rt = this.rt;
    const up = this.up!;
    const series = this.series!;
    const n = this.n;
    const outcome = this.outcome(result);
    const now = rt.now();
    recordEnd(rt, series, up, outcome, this.startedAt, this.bound.addrs, now);
    const candidate = retryCandidate(this.method, this.hasBody, outcome);
    const again =
      candidate !== null &&
      isRetryable(candidate) &&
      n < rt.options.maxAttempts &&
      !this.clientGone() &&
      rt.retryBudget.tryWithdraw(now);
    if (!again) {
      this.finished({ kind: 'done', result, outcome, up, series, attempts: n });
      return;
    }
    this.tried ??= new Set();
    this.tried.add(up.address);
    const ms = backoffMs(n - 1, rt.random);
    if (ms <= 0) queueMicrotask(() => this.retry());
    else setTimeout(() => this.retry(), ms);
  }
}

const OVERLOADED: Attempted<never> = { kind: 'overloaded' };

/** `Attempts` for a plan whose attempts are promises (the upgrade handshake). */
class PlannedAttempts<T> extends Attempts<T> {
  constructor(
    rt: ProxyRuntime,
    route: RequestRoute,
    bound: Bound,
    private readonly plan: AttemptPlan<T>,
    private readonly resolve: (done: Attempted<T>) => void,
    private readonly reject: (error: Error) => void,
  ) {
    super(rt, route, bound, plan.method, plan.hasBody);
    this.begin(rt.now());
  }

  protected send(up: Upstream, holdBack503: boolean): void {
    this.plan.send(up, holdBack503).then(
      (r) => this.attempted(r),
      (error: Error) => this.crashed(error),
    );
  }

  protected outcome(result: T): AttemptResult {
    return this.plan.outcome(result);
  }

  protected clientGone(): boolean {
    return this.plan.clientGone();
  }

  protected finished(done: Attempted<T>): void {
    this.resolve(done);
  }

  protected crashed(error: Error): void {
    this.reject(error);
  }
}

/** `Attempts` as a promise, for a plan whose attempts are promises. */
export function attemptWithRetries<T>(
  rt: ProxyRuntime,
  route: RequestRoute,
  bound: Bound,
  plan: AttemptPlan<T>,
): Promise<Attempted<T>> {
  return new Promise((resolve, reject) => {
    new PlannedAttempts(rt, route, bound, plan, resolve, reject);
  });
}
