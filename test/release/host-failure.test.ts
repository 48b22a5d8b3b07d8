// What the fleet does about lost and draining hosts (src/release/host-failure.ts), table-tested:
// the grace before a lost host's instances are replaced, replace-then-retire, replace-then-drain
// once the replacement takes traffic, versions nothing keeps, and which instances a deployed
// ticket's deploy gate counts as covered. Also the sweeper's rule for a lost host (lease-sweep.ts).

import { describe, expect, it } from 'vitest';
import { hostLost, nextHostExpiryMs } from '../../src/control/lease-sweep.js';
import type { HostStep } from '../../src/release/host-failure.js';
import { coveredByFleet, hostSteps, replacementId } from '../../src/release/host-failure.js';
import type { TicketView } from '../../src/release/reconcile.js';
import { reconcile } from '../../src/release/reconcile.js';
import type { Host } from '../../src/store/host-model.js';
import type { Instance, TicketState } from '../../src/store/model.js';
import { planSchema } from '../../src/store/plan.js';
import { GRAPH, instance, item, lane, product, STAMP, T0, ticket } from './fixtures.js';

const GRACE = 30_000;

function host(name: string, state: Host['state'], over: Partial<Host> = {}): Host {
  return {
    name,
    address: '10.0.0.1',
    labels: {},
    capacity: null,
    state,
    leaseExpiresAt: new Date(T0 + 10_000).toISOString(),
    registeredBy: null,
    createdAt: STAMP,
    updatedAt: STAMP, // the host was last written (set down, drained) at T0
    ...over,
  };
}

const on = (h: string, index: number, over: Partial<Instance> = {}) =>
  instance('orders', '2.0.0', index, { host: h, ...over });
const KEEP = new Set(['orders@2.0.0']);
const brief = (steps: HostStep[]) =>
  steps.map((s) =>
    s.kind === 'replace'
      ? `replace ${s.old.id} by ${s.id}${s.retire ? ', retire' : ''}`
      : `${s.kind} ${s.old.id}`,
  );

describe('replacementId', () => {
  it.each([
    ['orders-2.0.0-0', 'orders-2.0.0-0.r1'],
    ['orders-2.0.0-0.r1', 'orders-2.0.0-0.r2'],
    ['orders-2.0.0-0.r9', 'orders-2.0.0-0.r10'],
  ])('%s → %s', (id, next) => expect(replacementId(id)).toBe(next));
});

describe('hostSteps', () => {
  const rows: {
    name: string;
    hosts: Host[];
    instances: Instance[];
    now?: number;
    keep?: Set<string>;
    steps: string[];
  }[] = [
    {
      name: 'ready and cordoned hosts: nothing (cordon only keeps new instances off)',
      hosts: [host('a', 'ready'), host('b', 'cordoned')],
      instances: [on('a', 0), on('b', 1)],
      steps: [],
    },
    {
      name: 'a host down for less than the grace: nothing yet (it may come back)',
      hosts: [host('a', 'down'), host('b', 'ready')],
      instances: [on('a', 0)],
      now: T0 + GRACE - 1,
      steps: [],
    },
    {
      name: 'down past the grace: each live instance replaced elsewhere, then retired',
      hosts: [host('a', 'down'), host('b', 'ready')],
      instances: [on('a', 0), on('a', 1, { state: 'starting' }), on('b', 2)],
      now: T0 + GRACE,
      steps: [
        'replace orders-2.0.0-0 by orders-2.0.0-0.r1, retire',
        'replace orders-2.0.0-1 by orders-2.0.0-1.r1, retire',
      ],
    },
    {
      name: 'down past the grace, replacement already started (a crash in between): retired only',
      hosts: [host('a', 'down'), host('b', 'ready')],
      instances: [on('a', 0), on('b', 0, { id: 'orders-2.0.0-0.r1', state: 'starting' })],
      now: T0 + GRACE,
      steps: ['retire orders-2.0.0-0'],
    },
    {
      name: 'down: draining and stopped instances are not replaced',
      hosts: [host('a', 'down')],
      instances: [on('a', 0, { state: 'draining' }), on('a', 1, { state: 'stopped' })],
      now: T0 + GRACE,
      steps: [],
    },
    {
      name: 'down: a version nothing keeps is retired without a replacement',
      hosts: [host('a', 'down')],
      instances: [on('a', 0)],
      now: T0 + GRACE,
      keep: new Set(),
      steps: ['retire orders-2.0.0-0'],
    },
    {
      name: 'draining host: a replacement first, the old one keeps serving',
      hosts: [host('a', 'draining'), host('b', 'ready')],
      instances: [on('a', 0)],
      steps: ['replace orders-2.0.0-0 by orders-2.0.0-0.r1'],
    },
    {
      name: 'draining host, replacement starting: wait',
      hosts: [host('a', 'draining'), host('b', 'ready')],
      instances: [on('a', 0), on('b', 0, { id: 'orders-2.0.0-0.r1', state: 'starting' })],
      steps: [],
    },
    {
      name: 'draining host, replacement takes traffic: the old one drains',
      hosts: [host('a', 'draining'), host('b', 'ready')],
      instances: [on('a', 0), on('b', 0, { id: 'orders-2.0.0-0.r1' })],
      steps: ['drain orders-2.0.0-0'],
    },
    {
      name: 'draining host, replacement ready but unhealthy: wait',
      hosts: [host('a', 'draining'), host('b', 'ready')],
      instances: [on('a', 0), on('b', 0, { id: 'orders-2.0.0-0.r1', health: 'unhealthy' })],
      steps: [],
    },
    {
      name: 'draining host, a version nothing keeps: drained at once',
      hosts: [host('a', 'draining')],
      instances: [on('a', 0)],
      keep: new Set(),
      steps: ['drain orders-2.0.0-0'],
    },
    {
      name: 'an instance on a host no agent registered (the local runtime): none of the fleet’s business',
      hosts: [host('a', 'down')],
      instances: [on('local', 0)],
      now: T0 + GRACE,
      steps: [],
    },
  ];

  it.each(rows)('$name', (row) => {
    const steps = hostSteps(row.hosts, row.instances, row.now ?? T0, {
      graceMs: GRACE,
      keep: row.keep ?? KEEP,
    });
    expect(brief(steps)).toEqual(row.steps);
  });
});

describe('coveredByFleet: what a deployed ticket’s deploy gate counts as ready', () => {
  const hosts = [host('a', 'down'), host('b', 'ready')];
  const instances = [
    on('a', 0), // on the lost host: covered until replaced
    on('a', 1, { state: 'stopped' }), // retired: not covered
    on('b', 0, { id: 'orders-2.0.0-0.r1', state: 'starting' }), // replacement starting
    on('b', 1, { id: 'orders-2.0.0-1.r1', state: 'starting', health: 'unhealthy' }), // failing
    on('b', 2, { state: 'starting' }), // a ticket's own start: not the fleet's
  ];

  it.each<[TicketState, string[]]>([
    ['deployed', ['orders-2.0.0-0', 'orders-2.0.0-0.r1']],
    ['prerelease', ['orders-2.0.0-0', 'orders-2.0.0-0.r1']],
    ['canary', ['orders-2.0.0-0', 'orders-2.0.0-0.r1']],
    ['open', []],
    ['deploying', []],
  ])('%s: %j', (state, ids) => {
    expect([...coveredByFleet(state, hosts, instances)].sort()).toEqual(ids);
  });
});

describe('a deployed ticket whose instance is on a lost host', () => {
  // orders@2.0.0 in pre-release, its one replica on host a, whose lease ran out.
  const items = [item('orders', '2.0.0')];
  const onLost = on('a', 0, { leaseExpiresAt: new Date(T0 - 1).toISOString() });
  const view = (covered?: Set<string>): TicketView => ({
    ticket: ticket(7, items, { state: 'prerelease', goal: 'prerelease' }),
    plan: planSchema.parse({}),
    progress: {},
    product: product(),
    graph: GRAPH,
    instances: [onLost],
    lane: lane('t7', '/svc/orders => /v/orders/2.0.0;', {
      rules: [{ name: 't7', match: { header: 'x-prerelease', value: 'secret-of-7' } }] as never,
    }),
    others: [],
    traffic: null,
    now: T0,
    ...(covered === undefined ? {} : { covered }),
  });

  it('would go back to deploying if nothing covered it (the control)', () => {
    expect(reconcile(view()).patch?.state).toBe('deploying');
  });

  it('keeps its state while the fleet replaces the instance', () => {
    const covered = coveredByFleet('prerelease', [host('a', 'down')], [onLost]);
    const d = reconcile(view(covered));
    expect(d.events.map((e) => e.type)).not.toContain('deploy.level');
    expect(d.patch?.state ?? 'prerelease').toBe('prerelease');
    expect(d.actions.filter((a) => a.kind === 'start')).toEqual([]);
  });
});

describe('the sweeper’s rule: a host whose lease ran out is lost', () => {
  const at = (ms: number) => new Date(T0 + ms).toISOString();
  it.each<[string, Pick<Host, 'state' | 'leaseExpiresAt'>, boolean]>([
    ['lease running', { state: 'ready', leaseExpiresAt: at(1) }, false],
    ['lease ran out', { state: 'ready', leaseExpiresAt: at(0) }, true],
    ['cordoned, lease ran out', { state: 'cordoned', leaseExpiresAt: at(-5) }, true],
    ['draining, lease ran out', { state: 'draining', leaseExpiresAt: at(-5) }, true],
    ['already down', { state: 'down', leaseExpiresAt: at(-5) }, false],
    ['never heartbeated', { state: 'ready', leaseExpiresAt: null }, false],
  ])('%s', (_why, h, lost) => {
    expect(hostLost({ name: 'a', ...h }, T0)).toBe(lost);
  });

  it('looks again at the earliest lease still running', () => {
    const hosts = [
      { name: 'a', state: 'ready' as const, leaseExpiresAt: at(5000) },
      { name: 'b', state: 'ready' as const, leaseExpiresAt: at(2000) },
      { name: 'c', state: 'down' as const, leaseExpiresAt: at(1000) },
      { name: 'd', state: 'ready' as const, leaseExpiresAt: at(-1) },
    ];
    expect(nextHostExpiryMs(hosts, T0)).toBe(T0 + 2000);
  });
});
