// The engine's decisions outside reconcile (decide.ts), as tables: given what is observed, then
// what the engine does — a failed start, recovery on taking the lead, the timing of a drain.

import { describe, expect, it } from 'vitest';
import type { DrainTiming, RecoveryStep } from '../../src/release/decide.js';
import { drainStep, recovery, startFailed } from '../../src/release/decide.js';
import type { TicketView } from '../../src/release/reconcile.js';
import type { Instance, TicketState } from '../../src/store/model.js';
import { planSchema } from '../../src/store/plan.js';
import { GRAPH, instance, item, product, T0, ticket } from './fixtures.js';

function view(state: TicketState): TicketView {
  return {
    ticket: ticket(7, [item('orders', '2.0.0')], { state, goal: 'deployed' }),
    plan: planSchema.parse({}),
    progress: { level: 0, levelStartedAt: T0 },
    product: product(),
    graph: GRAPH,
    instances: [],
    lane: null,
    others: [],
    traffic: null,
    now: T0,
  };
}

describe('startFailed: a start the runtime refused fails the ticket', () => {
  const started = [
    { kind: 'start' as const, id: 'account-2.0.0-0', module: 'account', version: '2.0.0' },
  ];

  it.each<TicketState>(['open', 'deploying', 'deployed', 'prerelease', 'canary'])(
    'from %s: failed, the message kept, the started instances recorded first',
    (state) => {
      const d = startFailed(view(state), started, 'orders@2.0.0 did not start: ENOENT');
      expect(d.patch).toEqual({
        state: 'failed',
        progress: { level: 0, levelStartedAt: T0, message: 'orders@2.0.0 did not start: ENOENT' },
      });
      expect(d.events).toEqual([
        {
          type: 'instance.start',
          data: { id: 'account-2.0.0-0', module: 'account', version: '2.0.0' },
        },
        { type: 'deploy.failed', data: { message: 'orders@2.0.0 did not start: ENOENT' } },
      ]);
      expect(d.actions).toEqual([]);
    },
  );

  it.each<TicketState>(['promoted', 'aborted', 'failed'])(
    'from %s it is a bug: the state machine refuses it loudly',
    (state) => {
      expect(() => startFailed(view(state), [], 'x')).toThrow(/illegal ticket state transition/);
    },
  );
});

describe('recovery: what the runtime runs and what the store says, on taking the lead', () => {
  const running = (id: string, module = 'orders', version = '2.0.0', host?: string) => ({
    id,
    module,
    version,
    address: '127.0.0.1:9',
    ...(host === undefined ? {} : { host }),
  });
  const stored = (index: number, over: Partial<Instance>) =>
    instance('orders', '2.0.0', index, over);
  const wanting = ticket(7, [item('orders', '2.0.0')], { goal: 'deployed' });
  const other = ticket(8, [item('web', '2.0.0')], { goal: 'deployed' });

  const rows: {
    name: string;
    running: ReturnType<typeof running>[];
    stored: Instance[];
    steps: RecoveryStep[];
    /** The hosts the runtime manages; default this host (`local`) only. */
    manages?: string[];
  }[] = [
    {
      name: 'both agree: nothing',
      running: [running('orders-2.0.0-0')],
      stored: [stored(0, {})],
      steps: [],
    },
    {
      name: 'running, unknown to the store: registered on the ticket that wants it',
      running: [running('orders-2.0.0-1')],
      stored: [],
      steps: [
        {
          kind: 'register',
          instance: {
            kind: 'start',
            id: 'orders-2.0.0-1',
            module: 'orders',
            version: '2.0.0',
            address: '127.0.0.1:9',
          },
          ticket: 7,
        },
      ],
    },
    {
      name: 'running, unknown, wanted by no ticket: registered without an event (reclaim drains it)',
      running: [running('catalog-1.0.0-0', 'catalog', '1.0.0')],
      stored: [],
      steps: [
        {
          kind: 'register',
          instance: {
            kind: 'start',
            id: 'catalog-1.0.0-0',
            module: 'catalog',
            version: '1.0.0',
            address: '127.0.0.1:9',
          },
          ticket: null,
        },
      ],
    },
    {
      name: 'lost while ready or starting: started again under the same id',
      running: [],
      stored: [stored(0, { state: 'ready' }), stored(1, { state: 'starting' })],
      steps: [
        {
          kind: 'restart',
          start: { kind: 'start', id: 'orders-2.0.0-0', module: 'orders', version: '2.0.0' },
        },
        {
          kind: 'restart',
          start: { kind: 'start', id: 'orders-2.0.0-1', module: 'orders', version: '2.0.0' },
        },
      ],
    },
    {
      name: 'lost while draining: stopped',
      running: [],
      stored: [stored(0, { state: 'draining' })],
      steps: [{ kind: 'stopped', id: 'orders-2.0.0-0' }],
    },
    {
      name: 'stopped, or on another host: none of this host’s business',
      running: [],
      stored: [stored(0, { state: 'stopped' }), stored(1, { host: 'elsewhere' })],
      steps: [],
    },
    {
      name: 'a fleet: unknown ones registered on the host the runtime names; lost ones on every managed host restarted',
      manages: ['h1', 'h2'],
      running: [running('orders-2.0.0-0', 'orders', '2.0.0', 'h2')],
      stored: [stored(1, { host: 'h1' }), stored(2, { host: 'h3' })],
      steps: [
        {
          kind: 'register',
          instance: {
            kind: 'start',
            id: 'orders-2.0.0-0',
            module: 'orders',
            version: '2.0.0',
            address: '127.0.0.1:9',
            host: 'h2',
          },
          ticket: 7,
        },
        {
          kind: 'restart',
          start: { kind: 'start', id: 'orders-2.0.0-1', module: 'orders', version: '2.0.0' },
        },
      ],
    },
  ];

  it.each(rows)('$name', (row) => {
    const manages = new Set(row.manages ?? ['local']);
    expect(recovery(row.running, row.stored, [other, wanting], (h) => manages.has(h))).toEqual(
      row.steps,
    );
  });
});

describe('drainStep: when a draining instance may be stopped', () => {
  const timing = (confirms: boolean): DrainTiming => ({
    drainMs: 2000,
    drainDeadlineMs: 30_000,
    confirms,
  });
  const draining = instance('orders', '1.0.0', 0, {
    state: 'draining',
    updatedAt: new Date(T0).toISOString(),
  });

  it.each([
    { after: 0, confirms: false, step: 'wait' },
    { after: 1999, confirms: false, step: 'wait' },
    { after: 2000, confirms: false, step: 'stop' },
    { after: 1999, confirms: true, step: 'wait' },
    { after: 2000, confirms: true, step: 'confirm' },
    { after: 29_999, confirms: true, step: 'confirm' },
    { after: 30_000, confirms: true, step: 'stop' },
  ])('$after ms after it began draining, proxies confirming: $confirms → $step', (row) => {
    expect(drainStep(draining, T0 + row.after, timing(row.confirms))).toBe(row.step);
  });

  it('an instance that is not draining is not stopped', () => {
    const ready = { ...draining, state: 'ready' as const };
    expect(drainStep(ready, T0 + 60_000, timing(false))).toBe('wait');
  });
});
