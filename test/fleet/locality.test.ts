// Locality (issue 13): which endpoints a proxy in a zone balances over (preferZone, pure), where
// an endpoint's zone comes from (its instance's host's `zone` label, in the compiled snapshot),
// and the `--zone` / TURNOUT_ZONE setting.

import { describe, expect, it } from 'vitest';
import { parseZone } from '../../src/cli/proxy-command.js';
import { compileSnapshot } from '../../src/config/compile.js';
import { snapshotSchema } from '../../src/config/snapshot.js';
import type { StoreState } from '../../src/control/compile-snapshot.js';
import { compileStoreSnapshot, SnapshotCompiler } from '../../src/control/compile-snapshot.js';
import { chooseUpstream } from '../../src/proxy/balance-stage.js';
import { preferZone } from '../../src/proxy/balancer.js';
import type { EndpointState } from '../../src/proxy/endpoint-state.js';
import { newEndpointState } from '../../src/proxy/endpoint-state.js';
import type { ProxyRuntime } from '../../src/proxy/handler.js';
import { createUpstreams } from '../../src/proxy/upstreams.js';
import type { Host } from '../../src/store/host-model.js';
import type { Instance } from '../../src/store/model.js';

const NOW = 100_000;
const NOW_DATE = new Date('2026-01-01T00:00:00.000Z');
const LIMIT = 10;

type Shape = 'ok' | 'ejected' | 'draining' | 'full' | 'ejected-past';

/** `a1:ok` — an endpoint named a1 in zone a (its first letter) in the given shape. */
function endpoint(spec: string): EndpointState {
  const [name, shape] = spec.split(':') as [string, Shape];
  const s = newEndpointState(name, 0);
  if (shape === 'ejected') s.ejectedUntilMs = NOW + 1;
  if (shape === 'ejected-past') s.ejectedUntilMs = NOW; // ended now: takes requests again
  if (shape === 'draining') s.draining = true;
  if (shape === 'full') s.inflight = LIMIT;
  return s;
}

/** Zone a's addresses among `states` (what the proxy builds once per snapshot). */
const zoneA = (states: readonly EndpointState[]) =>
  new Set(states.map((s) => s.address).filter((a) => a.startsWith('a')));

describe('preferZone (zone a)', () => {
  const table: [string, string[], string[]][] = [
    [
      'in-zone endpoints only, while all can take a request',
      ['a1:ok', 'b1:ok', 'a2:ok', 'b2:ok'],
      ['a1', 'a2'],
    ],
    ['the in-zone endpoints that can, when some cannot', ['a1:ejected', 'a2:ok', 'b1:ok'], ['a2']],
    [
      'every candidate when the only in-zone one is ejected',
      ['a1:ejected', 'b1:ok', 'b2:ok'],
      ['a1', 'b1', 'b2'],
    ],
    ['every candidate when the in-zone ones are draining', ['a1:draining', 'b1:ok'], ['a1', 'b1']],
    [
      'every candidate when the in-zone ones are at their pending limit',
      ['a1:full', 'a2:full', 'b1:ok'],
      ['a1', 'a2', 'b1'],
    ],
    ['every candidate when none is in the zone', ['b1:ok', 'c1:ok'], ['b1', 'c1']],
    [
      'every candidate when all are ejected (pickEndpoint then ignores ejection)',
      ['a1:ejected', 'b1:ejected'],
      ['a1', 'b1'],
    ],
    ['an ejection that has ended counts as available', ['a1:ejected-past', 'b1:ok'], ['a1']],
    ['nothing from nothing', [], []],
  ];
  it.each(table)('%s', (_what, specs, expected) => {
    const states = specs.map(endpoint);
    const chosen = preferZone(states, zoneA(states), NOW, LIMIT, []);
    expect(chosen.map((s) => s.address)).toEqual(expected);
  });

  it('answers the candidates themselves when locality cannot help', () => {
    const all = ['b1:ok', 'b2:ok'].map(endpoint);
    expect(preferZone(all, zoneA(all), NOW, LIMIT, [])).toBe(all);
  });

  it('allocates nothing per call: the in-zone endpoints go into the scratch array given', () => {
    const first = ['a1:ok', 'b1:ok', 'a2:ok'].map(endpoint);
    const second = ['a3:ok', 'b2:ok'].map(endpoint);
    const scratch: EndpointState[] = [];
    const a = preferZone(first, zoneA(first), NOW, LIMIT, scratch);
    expect(a).toBe(scratch);
    expect(a.map((s) => s.address)).toEqual(['a1', 'a2']);
    // The next call reuses (and first empties) the same array.
    expect(preferZone(second, zoneA(second), NOW, LIMIT, scratch)).toBe(scratch);
    expect(scratch.map((s) => s.address)).toEqual(['a3']);
  });
});

const T0 = '2026-01-01T00:00:00.000Z';
const stamp = { createdAt: T0, updatedAt: T0 };

/** Only what the compile reads; cast, so the fields other helpers add to Host need no change here. */
function host(name: string, labels: Record<string, string>): Host {
  return { name, address: '10.0.0.1', labels, capacity: null, state: 'ready', ...stamp } as Host;
}

function instance(id: string, hostName: string, port: number): Instance {
  return {
    id,
    module: 'orders',
    version: '1',
    host: hostName,
    address: `127.0.0.1:${port}`,
    state: 'ready',
    health: 'healthy',
    weight: 1,
    leaseExpiresAt: null,
    ...stamp,
  };
}

function storeState(hosts: readonly Host[] | undefined): StoreState {
  return {
    changeVersion: 3,
    products: [
      {
        name: 'shop',
        org: 'acme',
        hosts: ['shop.example.com'],
        entry: 'orders',
        retainTickets: 5,
        baseDtab: '/svc => /v;',
        ...stamp,
      },
    ],
    lanes: [],
    modules: [
      {
        name: 'orders',
        org: 'acme',
        calls: [],
        health: { path: '/healthz', intervalMs: 5000, healthyThreshold: 1, unhealthyThreshold: 3 },
        run: { process: { command: 'node', args: [], cwd: null, env: {} } },
        placement: null,
        ...stamp,
      } as StoreState['modules'][number],
    ],
    versions: [{ module: 'orders', version: '1', run: null, artifact: null, createdAt: T0 }],
    instances: [
      instance('i1', 'h1', 9001),
      instance('i2', 'h2', 9002),
      instance('i3', 'h3', 9003),
      instance('i4', 'gone', 9004),
    ],
    ...(hosts === undefined ? {} : { hosts }),
  };
}

describe('chooseUpstream with a zone (the proxy path)', () => {
  it('sends to its zone while an endpoint there can take the request, per snapshot', async () => {
    const compiledIn = (zoneOfH1: string) => {
      const r = compileStoreSnapshot(
        storeState([host('h1', { zone: zoneOfH1 }), host('h2', { zone: 'b' })]),
      );
      if (!r.ok) throw r.error;
      return compileSnapshot(r.snapshot);
    };
    let compiled = compiledIn('a');
    const upstreams = createUpstreams({
      connectTimeoutMs: 1000,
      connectionsPerEndpoint: 1,
      keepAliveTimeoutMs: 1000,
    });
    const rt = {
      options: { zone: 'a', maxPendingPerEndpoint: LIMIT },
      current: () => compiled,
      upstreams,
      now: () => NOW,
      random: () => 0.3,
    } as unknown as ProxyRuntime;
    const addrs = compiled.snapshot.modules[0]!.versions[0]!.endpoints.map((e) => e.address);
    try {
      // Each pick counts in flight: zone a's one endpoint takes LIMIT, then the others do.
      for (let i = 0; i < LIMIT; i++)
        expect(chooseUpstream(rt, addrs, null, rt.now())?.address).toBe('127.0.0.1:9001');
      expect(chooseUpstream(rt, addrs, null, rt.now())?.address).not.toBe('127.0.0.1:9001');
      // A new snapshot moves h1 out of the zone: its zone set is built again.
      compiled = compiledIn('c');
      for (const up of upstreams.all()) up.state.inflight = 0;
      expect(chooseUpstream(rt, addrs, null, rt.now())?.address).not.toBe('127.0.0.1:9001');
    } finally {
      await upstreams.close();
    }
  });
});

describe('endpoint zones in the compiled snapshot', () => {
  it("carries the zone label of each instance's host; none when the host has no zone or is unknown", () => {
    const r = compileStoreSnapshot(
      storeState([
        host('h1', { zone: 'a', gpu: 'yes' }),
        host('h2', { zone: 'b' }),
        host('h3', { rack: '7' }),
      ]),
    );
    if (!r.ok) throw r.error;
    expect(r.snapshot.modules[0]!.versions[0]!.endpoints).toEqual([
      { address: '127.0.0.1:9001', state: 'ready', weight: 1, zone: 'a' },
      { address: '127.0.0.1:9002', state: 'ready', weight: 1, zone: 'b' },
      { address: '127.0.0.1:9003', state: 'ready', weight: 1 },
      { address: '127.0.0.1:9004', state: 'ready', weight: 1 },
    ]);
    // No zone, no field: the snapshot of a zoneless fleet is byte for byte what it was.
    expect(r.json).not.toContain('"zone":""');
  });

  it('compiles as before without hosts (a caller that does not read them)', () => {
    const r = compileStoreSnapshot(storeState(undefined));
    if (!r.ok) throw r.error;
    expect(r.json).not.toContain('zone');
  });

  it('the snapshot schema refuses a zone that is no label value, naming the field', () => {
    const bad = snapshotSchema.safeParse({
      version: 1,
      modules: [
        {
          name: 'orders',
          versions: [{ version: '1', endpoints: [{ address: '127.0.0.1:1', zone: 'a b' }] }],
        },
      ],
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual([
      'modules',
      0,
      'versions',
      0,
      'endpoints',
      0,
      'zone',
    ]);
    expect(bad.error?.issues[0]?.message).toBe('a zone is a host label value');
  });
});

describe('parseZone (--zone, TURNOUT_ZONE)', () => {
  it('takes the flag over the environment, and neither means no locality', () => {
    expect(parseZone('a', 'b')).toBe('a');
    expect(parseZone(undefined, 'eu-west-1a')).toBe('eu-west-1a');
    expect(parseZone(undefined, undefined)).toBeUndefined();
    expect(parseZone(undefined, '')).toBeUndefined();
  });

  it('refuses what no host label could hold, naming where it came from', () => {
    expect(() => parseZone('a/b', undefined)).toThrow(/^--zone "a\/b": a zone is 1–63 of/);
    expect(() => parseZone(undefined, '-a')).toThrow(/^TURNOUT_ZONE "-a": a zone is/);
    expect(() => parseZone('', undefined)).toThrow(/^--zone "": a zone is/);
  });
});

describe('endpoint zones through the incremental compile (what the publisher sends)', () => {
  it('a zone that changes on a later endpoint is sent, although the first endpoint has none', () => {
    // i1 (first by id) is on a host without a zone label: the compare must still cover zone.
    const before = storeState([host('h1', {}), host('h2', { zone: 'a' }), host('h3', {})]);
    const after = {
      ...storeState([host('h1', {}), host('h2', { zone: 'b' }), host('h3', {})]),
      changeVersion: 4,
    };
    const compiler = new SnapshotCompiler();
    compiler.compile(before, NOW_DATE);
    const incremental = compiler.compile(after, NOW_DATE);
    const full = compileStoreSnapshot(after, NOW_DATE);
    if (!incremental.ok || !full.ok) throw new Error('did not compile');
    expect(incremental.json).toBe(full.json);
    expect(incremental.json).toContain('"zone":"b"');
  });
});
