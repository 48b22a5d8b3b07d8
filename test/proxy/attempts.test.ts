// The retry loop as a callback loop (retry-stage.ts `Attempts`): the common case — a first
// attempt that is final — ends inside that attempt's own callback, with no promise or timer
// between; a retry still waits its backoff and goes to another endpoint; and a defect anywhere in
// the loop reaches `crashed` (what a rejection of the async loop was) instead of being thrown
// into undici's callback or a timer. The attempts are scripted: no sockets are opened.

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestRoute } from '../../src/proxy/context-stage.js';
import type { AttemptResult } from '../../src/proxy/forward.js';
import type { ProxyRuntime } from '../../src/proxy/handler.js';
import { createRetryBudget } from '../../src/proxy/retry-budget.js';
import type { Attempted } from '../../src/proxy/retry-stage.js';
import { Attempts } from '../../src/proxy/retry-stage.js';
import { createProxyStats } from '../../src/proxy/stats.js';
import type { Upstream } from '../../src/proxy/upstreams.js';
import { createUpstreams } from '../../src/proxy/upstreams.js';
import type { Bound } from '../../src/routing/index.js';

const opened: ReturnType<typeof createUpstreams>[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((u) => u.close()));
});

function runtime(maxAttempts: number): ProxyRuntime {
  const upstreams = createUpstreams({
    connectTimeoutMs: 1_000,
    connectionsPerEndpoint: 1,
    keepAliveTimeoutMs: 1_000,
  });
  opened.push(upstreams);
  return {
    options: { maxAttempts, maxPendingPerEndpoint: 100, requestTimeoutMs: 1_000 },
    current: () => null,
    upstreams,
    retryBudget: createRetryBudget(),
    stats: createProxyStats(),
    logger: pino({ level: 'silent' }),
    now: () => performance.now(),
    random: () => 0.5,
  } as unknown as ProxyRuntime;
}

const route = {
  product: 'shop',
  lane: null,
  name: '/svc/orders',
  override: undefined,
  overrideToken: undefined,
  edge: null,
} satisfies RequestRoute;
const bound = {
  kind: 'bound',
  id: ['v', 'orders', '1'],
  addrs: ['127.0.0.1:9101', '127.0.0.1:9102'],
  residual: [],
} as unknown as Bound;

type Script = (n: number) => AttemptResult;

/** Answers each attempt with `script(n)` inside `send` itself, as undici's callbacks would. */
class Scripted extends Attempts<AttemptResult> {
  readonly sent: { address: string; holdBack503: boolean }[] = [];
  done: Attempted<AttemptResult> | null = null;
  crash: Error | null = null;
  readonly settled: Promise<void>;
  private wake: () => void = () => undefined;

  constructor(
    rt: ProxyRuntime,
    method: string,
    private readonly script: Script,
    /** `outcome`: reading the result throws; `later`: each result waits for `answer()`. */
    private readonly broken: { outcome?: boolean; later?: boolean } = {},
  ) {
    super(rt, route, bound, method, false);
    this.settled = new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  start(): void {
    this.begin(this.rt.now());
  }

  private pending: AttemptResult | null = null;

  protected send(up: Upstream, holdBack503: boolean): void {
    this.sent.push({ address: up.address, holdBack503 });
    const result = this.script(this.sent.length);
    if (this.broken.later) this.pending = result;
    else this.attempted(result);
  }

  /** Delivers the waiting result, as undici's callback does after `send` has returned. */
  answer(): void {
    const r = this.pending!;
    this.pending = null;
    this.attempted(r);
  }

  protected outcome(result: AttemptResult): AttemptResult {
    if (this.broken.outcome) throw new Error('defect while reading the outcome');
    return result;
  }

  protected clientGone(): boolean {
    return false;
  }

  protected finished(done: Attempted<AttemptResult>): void {
    this.done = done;
    this.wake();
  }

  protected crashed(error: Error): void {
    this.crash = error;
    this.wake();
  }
}

const OK: AttemptResult = { kind: 'responded', status: 200 };
const HELD: AttemptResult = { kind: 'held-503' };

describe('Attempts: the retry loop without a promise per request', () => {
  it('ends a final first attempt inside its own callback (nothing deferred)', () => {
    const a = new Scripted(runtime(3), 'GET', () => OK);
    a.start();
    expect(a.done).toMatchObject({ kind: 'done', outcome: OK, attempts: 1 });
    expect(a.sent).toHaveLength(1);
    // A GET may be retried after a 503, so its first attempt holds a 503 back.
    expect(a.sent[0]!.holdBack503).toBe(true);
  });

  it('retries a held-back 503 on the other endpoint after the backoff; the last attempt holds nothing back', async () => {
    const a = new Scripted(runtime(2), 'GET', (n) => (n === 1 ? HELD : OK));
    a.start();
    expect(a.done).toBeNull(); // the retry waits for its backoff timer
    await a.settled;
    expect(a.crash).toBeNull();
    expect(a.done).toMatchObject({ kind: 'done', outcome: OK, attempts: 2 });
    expect(a.sent.map((s) => s.holdBack503)).toEqual([true, false]);
    expect(a.sent[1]!.address).not.toBe(a.sent[0]!.address);
  });

  it('does not retry or hold back a 503 for a POST', () => {
    const a = new Scripted(runtime(3), 'POST', () => HELD);
    a.start();
    expect(a.sent).toEqual([{ address: expect.any(String), holdBack503: false }]);
    expect(a.done).toMatchObject({ kind: 'done', outcome: HELD, attempts: 1 });
  });

  it("sends a defect while handling an attempt's result to crashed, not up the attempt's callback", () => {
    const a = new Scripted(runtime(3), 'GET', () => OK, { outcome: true, later: true });
    a.start();
    expect(() => a.answer()).not.toThrow();
    expect(a.crash?.message).toBe('defect while reading the outcome');
    expect(a.done).toBeNull();
  });

  it("sends a defect in a retry's timer to crashed, not to the process", async () => {
    const a = new Scripted(runtime(3), 'GET', (n) => {
      if (n === 2) throw new Error('defect sending the retry');
      return HELD;
    });
    a.start();
    await a.settled;
    expect(a.crash?.message).toBe('defect sending the retry');
    expect(a.done).toBeNull();
  });
});
