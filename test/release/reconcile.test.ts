// The engine's decisions, as Given / When / Then: given a ticket and what is observed, when the
// engine reconciles, then these actions, this patch and these events.

import { describe, expect, it } from 'vitest';
import type { Figures } from '../../src/release/analysis.js';
import type { Progress } from '../../src/release/progress.js';
import type { TicketView } from '../../src/release/reconcile.js';
import { reconcile } from '../../src/release/reconcile.js';
import type { Instance, Ticket, TicketItem } from '../../src/store/model.js';
import { planSchema } from '../../src/store/plan.js';
import { GRAPH, instance, item, lane, product, T0, ticket } from './fixtures.js';

const ITEMS = [item('web', '2.0.0'), item('orders', '2.0.0'), item('account', '2.0.0')];
/** n requests, a share of them errors, every one answered in the (5, 10] ms bucket. */
const quiet = (n: number, errorRate = 0): Figures => ({
  requests: n,
  errors: Math.round(n * errorRate),
  errorRate: n === 0 ? 0 : Math.round(n * errorRate) / n,
  p99Ms: n === 0 ? null : 10,
  latency: n === 0 ? [] : [[10, n]],
});

function given(over: {
  ticket?: Partial<Ticket>;
  items?: TicketItem[];
  plan?: unknown;
  progress?: Progress;
  instances?: Instance[];
  lane?: TicketView['lane'];
  others?: Ticket[];
  traffic?: TicketView['traffic'];
  now?: number;
}): TicketView {
  const t = ticket(7, over.items ?? ITEMS, { goal: 'deployed', ...over.ticket });
  return {
    ticket: t,
    plan: planSchema.parse(over.plan ?? {}),
    progress: over.progress ?? {},
    product: product(),
    graph: GRAPH,
    instances: over.instances ?? [],
    lane: over.lane ?? null,
    others: over.others ?? [],
    traffic: over.traffic ?? null,
    now: over.now ?? T0,
  };
}

const ready = (items: TicketItem[]) => items.map((i) => instance(i.module, i.version, 0));
const starts = (d: ReturnType<typeof reconcile>) =>
  d.actions.filter((a) => a.kind === 'start').map((a) => (a as { id: string }).id);

describe('reconcile: deploy', () => {
  it('does nothing without a goal, or once terminal', () => {
    expect(reconcile(given({ ticket: { goal: null } }))).toEqual({
      actions: [],
      patch: null,
      events: [],
    });
    expect(reconcile(given({ ticket: { state: 'promoted', goal: 'promoted' } })).patch).toBeNull();
    expect(reconcile(given({ ticket: { state: 'failed' } })).actions).toEqual([]);
  });

  it('starts the bottom level first: account before orders before web', () => {
    const d = reconcile(given({}));
    expect(starts(d)).toEqual(['account-2.0.0-0']);
    expect(d.patch).toMatchObject({
      state: 'deploying',
      progress: { level: 0, levelStartedAt: T0 },
    });
    expect(d.events.map((e) => e.type)).toEqual(['deploy.level', 'instance.start']);
  });

  it('waits for a starting instance instead of starting it again (idempotent)', () => {
    const view = given({
      ticket: { state: 'deploying' },
      progress: {
        level: 0,
        levelStartedAt: T0,
        message: 'deploying level 0: account@2.0.0 0/1 ready',
      },
      instances: [instance('account', '2.0.0', 0, { state: 'starting' })],
      now: T0 + 1000,
    });
    expect(reconcile(view)).toEqual({ actions: [], patch: null, events: [] });
  });

  it('goes up a level once the lower one is ready, and starts replicas in batches of surge', () => {
    const d = reconcile(
      given({
        plan: { replicas: 3, surge: 2 },
        instances: [0, 1, 2].map((n) => instance('account', '2.0.0', n)),
      }),
    );
    expect(starts(d)).toEqual(['orders-2.0.0-0', 'orders-2.0.0-1']);
    expect(d.patch?.progress).toMatchObject({ level: 1 });
  });

  it('reuses a version already running for another product or ticket (version convergence)', () => {
    const d = reconcile(given({ instances: [instance('account', '2.0.0', 5, { host: 'other' })] }));
    expect(starts(d)).toEqual(['orders-2.0.0-0']);
  });

  it('does not count unhealthy, expired, draining or stopped instances as ready', () => {
    const past = new Date(T0 - 1).toISOString();
    for (const over of [
      { health: 'unhealthy' as const },
      { leaseExpiresAt: past },
      { state: 'draining' as const },
      { state: 'stopped' as const },
    ]) {
      const d = reconcile(
        given({
          items: [item('account', '2.0.0')],
          instances: [instance('account', '2.0.0', 0, over)],
        }),
      );
      expect(d.patch?.state).toBe('deploying');
    }
  });

  it('a draining instance is replaced under a fresh id', () => {
    const d = reconcile(
      given({
        items: [item('account', '2.0.0')],
        instances: [instance('account', '2.0.0', 0, { state: 'draining' })],
      }),
    );
    expect(starts(d)).toEqual(['account-2.0.0-1']);
  });

  it('fails the ticket when a level is not ready within the timeout, naming what is missing', () => {
    const d = reconcile(
      given({
        ticket: { state: 'deploying' },
        plan: { readyTimeoutMs: 5000 },
        progress: { level: 0, levelStartedAt: T0 },
        instances: [instance('account', '2.0.0', 0, { state: 'starting' })],
        now: T0 + 5001,
      }),
    );
    expect(d.patch).toMatchObject({ state: 'failed' });
    expect(d.patch?.progress?.message).toBe(
      'deploy failed: after 5 s account@2.0.0 has 0 of 1 ready: account-2.0.0-0 is not ready, no exit known; see `turnout logs account-2.0.0-0`',
    );
    expect(d.events.map((e) => e.type)).toEqual(['deploy.failed']);
  });

  it('all ready: deployed, once', () => {
    const d = reconcile(
      given({
        ticket: { state: 'deploying' },
        instances: ready(ITEMS),
        progress: { level: 2, levelStartedAt: T0 },
      }),
    );
    expect(d).toEqual({
      actions: [],
      patch: { state: 'deployed', progress: {} },
      events: [{ type: 'deployed', data: {} }],
    });
    expect(
      reconcile(given({ ticket: { state: 'deployed' }, instances: ready(ITEMS) })).patch,
    ).toBeNull();
  });
});

describe('reconcile: pre-release and canary', () => {
  const base = { instances: ready(ITEMS) };

  it('pre-release puts the lane (overlay + header rule) and says which header to send', () => {
    const d = reconcile(given({ ...base, ticket: { state: 'deployed', goal: 'prerelease' } }));
    expect(d.actions).toEqual([
      {
        kind: 'putLane',
        lane: {
          product: 'shop',
          name: 't-7',
          overlay:
            '/svc/web => /v/web/2.0.0;\n/svc/orders => /v/orders/2.0.0;\n/svc/account => /v/account/2.0.0;',
          rules: [
            {
              lane: 't-7',
              header: { name: 'x-prerelease', equals: 'secret-of-7', trust: 'any-client' },
            },
          ],
        },
      },
    ]);
    expect(d.patch?.state).toBe('prerelease');
    // The event names the header, never its value (events end up in logs and terminals).
    expect(d.events).toEqual([
      { type: 'prerelease', data: { lane: 't-7', header: 'x-prerelease' } },
    ]);
    expect(JSON.stringify(d.patch)).not.toContain('secret-of-7');
  });

  it('a rotated secret rewrites the live lane’s header rule, and the old value is gone from it', () => {
    const old = lane(
      't-7',
      '/svc/web => /v/web/2.0.0;\n/svc/orders => /v/orders/2.0.0;\n/svc/account => /v/account/2.0.0;',
      {
        rules: [
          {
            lane: 't-7',
            header: { name: 'x-prerelease', equals: 'secret-of-7', trust: 'any-client' },
          },
        ],
      },
    );
    const view = (secret: string) =>
      given({
        ...base,
        ticket: { state: 'prerelease', goal: 'prerelease', prereleaseSecret: secret },
        lane: old,
      });
    expect(reconcile(view('secret-of-7'))).toEqual({ actions: [], patch: null, events: [] });
    const d = reconcile(view('rotated-value'));
    expect(d.actions).toHaveLength(1);
    const put = d.actions[0] as { kind: 'putLane'; lane: { rules: unknown[] } };
    expect(put.lane.rules).toEqual([
      {
        lane: 't-7',
        header: { name: 'x-prerelease', equals: 'rotated-value', trust: 'any-client' },
      },
    ]);
    expect(d.events).toEqual([]);
  });

  it('deploys and pre-releases in one tick when the versions are already running', () => {
    const d = reconcile(given({ ...base, ticket: { state: 'open', goal: 'prerelease' } }));
    expect(d.events.map((e) => e.type)).toEqual(['deployed', 'prerelease']);
    expect(d.patch?.state).toBe('prerelease');
  });

  const canaryPlan = { canary: { steps: [10, 50], pauseMs: 60_000 } };
  const laneAt = (percent: number) =>
    lane(
      't-7',
      '/svc/web => /v/web/2.0.0;\n/svc/orders => /v/orders/2.0.0;\n/svc/account => /v/account/2.0.0;',
      {
        rules: [
          {
            lane: 't-7',
            header: { name: 'x-prerelease', equals: 'secret-of-7', trust: 'any-client' },
          },
          { lane: 't-7', percent, key: { header: 'x-user-id' } },
        ],
      },
    );
  const healthy: TicketView['traffic'] = () => ({ lane: quiet(100), stable: quiet(1000) });

  it('canary starts at the first share', () => {
    const d = reconcile(
      given({
        ...base,
        plan: canaryPlan,
        ticket: { state: 'prerelease', goal: 'canary' },
        traffic: healthy,
      }),
    );
    const put = d.actions[0] as { kind: 'putLane'; lane: { rules: unknown[] } };
    expect(put.lane.rules.at(-1)).toEqual({
      lane: 't-7',
      percent: 10,
      key: { header: 'x-user-id' },
    });
    expect(d.patch).toMatchObject({
      state: 'canary',
      progress: { canaryStep: 0, stepStartedAt: T0 },
    });
    expect(d.events).toEqual([{ type: 'canary.step', data: { step: 0, percent: 10 } }]);
  });

  it('holds a step for its pause, then moves on when analysis passes: the new share and its hold message in the same decision', () => {
    const progress = { canaryStep: 0, stepStartedAt: T0 };
    const view = (now: number) =>
      given({
        ...base,
        plan: canaryPlan,
        ticket: { state: 'canary', goal: 'canary' },
        lane: laneAt(10),
        progress,
        traffic: healthy,
        now,
      });
    expect(reconcile(view(T0 + 59_999)).events).toEqual([]);
    const d = reconcile(view(T0 + 60_000));
    expect(d.patch?.progress).toMatchObject({
      canaryStep: 1,
      stepStartedAt: T0 + 60_000,
      // What the next tick would write: a decision a repeated tick does not change.
      message: 'canary at 50 %: holding, about 60 s left',
    });
    expect(d.events.map((e) => e.type)).toEqual(['canary.step']);
    // The lane carries the step in force, not the one just passed (it lagged a tick before).
    const put = d.actions.find((a) => a.kind === 'putLane') as { lane: { rules: unknown[] } };
    expect(put.lane.rules.at(-1)).toEqual({
      lane: 't-7',
      percent: 50,
      key: { header: 'x-user-id' },
    });
  });

  it('a step with too little lane traffic waits for it; approval overrides the wait', () => {
    const thin: TicketView['traffic'] = () => ({ lane: quiet(3), stable: quiet(1000) });
    const progress = { canaryStep: 1, stepStartedAt: T0 };
    const v = (p: Progress) =>
      given({
        ...base,
        plan: canaryPlan,
        ticket: { state: 'canary', goal: 'canary' },
        lane: laneAt(50),
        progress: p,
        traffic: thin,
        now: T0 + 61_000,
      });
    const held = reconcile(v(progress));
    expect(held.patch?.progress?.message).toMatch(/waiting for enough traffic.*3 of 20/);
    expect(held.patch?.progress?.canaryDone).toBeUndefined();
    const approved = reconcile(v({ ...progress, approvedStep: 1 }));
    expect(approved.patch?.progress).toMatchObject({ canaryDone: true });
    expect(approved.events.map((e) => e.type)).toEqual(['canary.done']);
  });

  it('a manual canary waits for approval of each step', () => {
    const manual = { canary: { steps: [10, 50] } };
    const v = (p: Progress) =>
      given({
        ...base,
        plan: manual,
        ticket: { state: 'canary', goal: 'canary' },
        lane: laneAt(10),
        progress: p,
        traffic: healthy,
        now: T0 + 3_600_000,
      });
    expect(reconcile(v({ canaryStep: 0, stepStartedAt: T0 })).patch?.progress?.message).toBe(
      'canary at 10 %: waiting for approval',
    );
    expect(
      reconcile(v({ canaryStep: 0, stepStartedAt: T0, approvedStep: 0 })).patch?.progress
        ?.canaryStep,
    ).toBe(1);
  });

  it('failed analysis aborts at once: the lane goes, the reason is recorded', () => {
    const faulty: TicketView['traffic'] = (i) => ({
      lane: quiet(50, i.module === 'orders' ? 0.3 : 0),
      stable: quiet(1000),
    });
    const d = reconcile(
      given({
        ...base,
        plan: canaryPlan,
        ticket: { state: 'canary', goal: 'canary' },
        lane: laneAt(10),
        progress: { canaryStep: 0, stepStartedAt: T0 },
        traffic: faulty,
        now: T0 + 1000,
      }),
    );
    expect(d.actions).toEqual([{ kind: 'deleteLane', product: 'shop', name: 't-7' }]);
    expect(d.patch).toMatchObject({ state: 'aborted', goal: 'aborted' });
    expect(d.patch?.progress?.message).toMatch(
      /^analysis failed at 10 %: orders@2.0.0 errors \(lane 30.00 % vs stable 0.00 %\): .* → fail/,
    );
    expect(d.events.map((e) => e.type)).toEqual(['analysis.failed', 'aborted']);
  });
});

describe('reconcile: analysis judges what the ticket changes', () => {
  // web is listed at its stable version (1.0.0 in the product's base dtab); orders is the change.
  const items = [item('web', '1.0.0'), item('orders', '2.0.0')];
  const finished = (traffic: TicketView['traffic']) =>
    given({
      items,
      instances: ready(items),
      plan: { canary: { steps: [10, 50], pauseMs: 60_000 } },
      ticket: { state: 'canary', goal: 'canary' },
      lane: lane('t-7', '/svc/web => /v/web/1.0.0;\n/svc/orders => /v/orders/2.0.0;', {
        rules: [
          {
            lane: 't-7',
            header: { name: 'x-prerelease', equals: 'secret-of-7', trust: 'any-client' },
          },
          { lane: 't-7', percent: 50, key: { header: 'x-user-id' } },
        ],
      }),
      progress: { canaryStep: 1, stepStartedAt: T0, canaryDone: true },
      traffic,
      now: T0 + 120_000,
    });

  it('a finished canary is not aborted by an unchanged caller erring through a module outside the ticket', () => {
    // catalog lost an instance: web (unchanged) errs in the lane; orders@2.0.0 is clean.
    const d = reconcile(
      finished((i) => ({
        lane: quiet(200, i.module === 'web' ? 0.3 : 0),
        stable: quiet(1000, i.module === 'web' ? 0.1 : 0),
      })),
    );
    expect(d.patch?.state).not.toBe('aborted');
    expect(d.actions).toEqual([]);
    expect(d.events.map((e) => e.type)).not.toContain('analysis.failed');
    expect(d.patch?.progress?.analysis?.map((v) => v.verdict)).toEqual(['pass', 'pass']);
  });

  it('the same errors coinciding with errors on orders@2.0.0 in the lane abort it', () => {
    const d = reconcile(
      finished((i) => ({
        // orders@2.0.0: 1 error in 200 — no failure on its own, but it errs in the lane.
        lane: quiet(200, i.module === 'web' ? 0.3 : 0.005),
        stable: quiet(1000, i.module === 'web' ? 0.1 : 0),
      })),
    );
    expect(d.patch).toMatchObject({ state: 'aborted', goal: 'aborted' });
    expect(d.patch?.progress?.message).toMatch(
      /^analysis failed at 50 %: web@1.0.0 errors \(lane 30.00 % vs stable 10.00 %\): two-proportion z=.* → fail;.*counted: it calls orders@2.0.0 0.50 %/,
    );
  });
});

describe('reconcile: promote and abort', () => {
  it('promote rewrites the base dtab for the ticket modules and retires the lane, in one decision', () => {
    const d = reconcile(
      given({
        instances: ready(ITEMS),
        ticket: { state: 'canary', goal: 'promoted' },
        lane: lane('t-7', ''),
      }),
    );
    expect(d.actions).toEqual([
      {
        kind: 'setStable',
        product: 'shop',
        items: ITEMS,
      },
      { kind: 'deleteLane', product: 'shop', name: 't-7' },
    ]);
    expect(d.patch?.state).toBe('promoted');
  });

  it('a revert whose versions still run is promoted at once, without a deploy', () => {
    const back = [item('orders', '1.0.0')];
    const d = reconcile(
      given({ items: back, instances: ready(back), ticket: { goal: 'promoted', revertOf: 3 } }),
    );
    expect(starts(d)).toEqual([]);
    expect(d.patch?.state).toBe('promoted');
    expect(d.events.map((e) => e.type)).toEqual(['deployed', 'promoted']);
  });

  it('a revert whose versions were reclaimed deploys them first', () => {
    const d = reconcile(
      given({ items: [item('orders', '1.0.0')], ticket: { goal: 'promoted', revertOf: 3 } }),
    );
    expect(starts(d)).toEqual(['orders-1.0.0-0']);
    expect(d.patch?.state).toBe('deploying');
  });

  it('promotion waits while another active ticket changes the same module', () => {
    const other = ticket(9, [item('orders', '3.0.0')], { state: 'prerelease' });
    const d = reconcile(
      given({
        instances: ready(ITEMS),
        ticket: { state: 'deployed', goal: 'promoted' },
        others: [other],
      }),
    );
    expect(d.actions).toEqual([]);
    expect(d.patch?.progress?.message).toBe(
      'cannot promote: ticket 9 also changes orders (abort or promote it first)',
    );
    const unrelated = ticket(9, [item('catalog', '3.0.0')], { state: 'prerelease' });
    expect(
      reconcile(
        given({
          instances: ready(ITEMS),
          ticket: { state: 'deployed', goal: 'promoted' },
          others: [unrelated],
        }),
      ).patch?.state,
    ).toBe('promoted');
  });

  it('a revert is promoted even while another active ticket changes the same module', () => {
    const back = [item('orders', '1.0.0')];
    const other = ticket(9, [item('orders', '3.0.0')], { state: 'canary' });
    const d = reconcile(
      given({
        items: back,
        instances: ready(back),
        ticket: { goal: 'promoted', revertOf: 3 },
        others: [other],
      }),
    );
    expect(d.patch?.state).toBe('promoted');
  });

  it("an operator's abort says so, not what the ticket was doing before it", () => {
    // What each active state leaves in progress.message before the abort (a deploy, a live lane, a step).
    for (const message of [
      undefined,
      'deploying level 1: orders@2.0.0 0/1 ready',
      'pre-release: lane t-7 is live for requests with the x-prerelease header',
      'canary step 2 of 3: 50 % for 5 s',
    ]) {
      const d = reconcile(
        given({
          ticket: { state: 'prerelease', goal: 'aborted' },
          lane: lane('t-7', ''),
          progress: message === undefined ? {} : { message },
        }),
      );
      expect(d.events).toEqual([{ type: 'aborted', data: { message: 'aborted by an operator' } }]);
      expect(d.patch?.progress).toMatchObject({ message: 'aborted by an operator' });
    }
  });

  it('abort removes the lane and ends the ticket, from any active state', () => {
    for (const state of ['open', 'deploying', 'failed', 'prerelease', 'canary'] as const) {
      const d = reconcile(given({ ticket: { state, goal: 'aborted' }, lane: lane('t-7', '') }));
      expect(d.actions).toEqual([{ kind: 'deleteLane', product: 'shop', name: 't-7' }]);
      expect(d.patch).toMatchObject({ state: 'aborted' });
    }
  });
});
