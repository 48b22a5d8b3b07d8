// The agent protocol over real HTTP with real tokens: which role reaches which route (agent tokens
// only their host's agent routes and /v1/stream; admins every agent route), the host's binding to
// the agent token that registered it, heartbeats renewing the host's instance leases, status
// reports moving the instance's health in the same transaction, the assignment stream (whole list
// per message, a message only when a desired state changes) and pushed stats feeding the scraper's
// bookkeeping. Bad input answers 400 naming the field and changes nothing.

import { afterEach, describe, expect, it } from 'vitest';
import { StatsScraper } from '../../src/control/stats-scraper.js';
import { StatsWindow } from '../../src/release/stats-window.js';
import type { AssignmentInput } from '../../src/store/assignment-model.js';
import type { Api, StartApiOptions } from './harness.js';
import { seedCatalog, startApi, TOKENS } from './harness.js';

const H1 = 'h1.example';
const H2 = 'h2.example';
const BODY = { address: '10.0.0.11', labels: { zone: 'a' }, capacity: 4 };

const WEB: AssignmentInput = {
  id: 'web-1.0.0-a',
  host: H1,
  module: 'web',
  version: '1.0.0',
  run: { command: 'node', args: ['web.js'], cwd: null, env: {} },
  health: { path: '/healthz', intervalMs: 1000 },
};

const RUNNING = {
  phase: 'running',
  address: '10.0.0.11:41000',
  pid: 4242,
  startedAt: '2026-01-01T00:00:00.000Z',
  restarts: 0,
  health: 'healthy',
  lastExit: null,
  error: null,
  logTail: ['listening'],
};

/** A proxy admin's /stats JSON: applied snapshot `version`, `inFlight` requests to one endpoint. */
function stats(version: number, inFlight: number) {
  return {
    metrics: [
      { name: 'turnout_config_version', values: [{ value: version, labels: {} }] },
      {
        name: 'turnout_requests_in_flight',
        values: [{ value: inFlight, labels: { endpoint: '10.0.0.11:41000' } }],
      },
      {
        name: 'turnout_requests_total',
        values: [
          {
            value: 3,
            labels: { product: 'shop', lane: 'stable', module: 'web', version: '1.0.0' },
          },
        ],
      },
    ],
  };
}

let api: Api | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** An API with the catalog, h1 registered by agent-a, h2 by agent-b, and WEB assigned to h1. */
async function fleetApi(options: StartApiOptions = {}): Promise<Api> {
  const a = await startApi(options);
  api = a;
  await seedCatalog(a);
  const ok = async (p: ReturnType<Api['call']>) => {
    const r = await p;
    if (r.status >= 300) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
  };
  await ok(a.call('PUT', `/v1/hosts/${H1}`, { as: 'agent', body: BODY }));
  await ok(a.call('PUT', `/v1/hosts/${H2}`, { as: 'agentB', body: BODY }));
  await a.store.createAssignment(WEB, 'engine');
  return a;
}

type As = keyof typeof TOKENS;

describe('roles', () => {
  it('agent tokens reach only agent routes and /v1/stream; admins every agent route', async () => {
    const scraper = new StatsScraper({ window: new StatsWindow(), targets: () => [] });
    const a = await fleetApi({ pushStats: (h, j) => scraper.push(h, j) });
    const routes: [string, 'GET' | 'POST' | 'PUT', string, unknown?][] = [
      ['register', 'PUT', `/v1/hosts/${H1}`, BODY],
      ['heartbeat', 'POST', `/v1/hosts/${H1}/heartbeat`, { ttlMs: 10_000 }],
      ['assignments', 'GET', `/v1/hosts/${H1}/assignments`],
      ['status', 'PUT', `/v1/hosts/${H1}/assignments/${WEB.id}/status`, RUNNING],
      ['stats', 'POST', `/v1/hosts/${H1}/stats`, stats(1, 0)],
      ['list hosts', 'GET', '/v1/hosts'],
      ['get host', 'GET', `/v1/hosts/${H1}`],
      ['cordon', 'POST', `/v1/hosts/${H1}/cordon`],
      ['orgs', 'GET', '/v1/orgs'],
      ['create org', 'POST', '/v1/orgs', { name: 'evil' }],
      ['instances', 'GET', '/v1/instances'],
      ['whoami', 'GET', '/v1/whoami'],
      ['audit', 'GET', '/v1/audit'],
    ];
    const roles: As[] = ['viewer', 'releaser', 'agentB', 'agent', 'admin'];
    const seen: string[] = [];
    for (const [label, method, path, body] of routes) {
      const row: string[] = [];
      for (const as of roles) {
        const res = await a.call(method, path, { as, body });
        row.push(String(res.status));
        if (res.status === 403 && as === 'agent')
          expect(res.body.error.message).toMatch(/not open to role agent/);
        if (res.status === 403 && (as === 'viewer' || as === 'releaser') && label !== 'cordon')
          expect(res.body.error.message).toMatch(/needs role (agent or admin|releaser|admin)/);
      }
      seen.push(`${label}: ${row.join(' ')}`);
    }
    // viewer releaser agent-b agent-a admin
    expect(seen).toEqual([
      'register: 403 403 403 200 200',
      'heartbeat: 403 403 403 200 200',
      'assignments: 403 403 403 200 200',
      'status: 403 403 403 204 204',
      'stats: 403 403 403 204 204',
      'list hosts: 200 200 403 403 200',
      'get host: 200 200 403 403 200',
      'cordon: 403 403 403 403 200',
      'orgs: 200 200 403 403 200',
      'create org: 403 403 403 403 201',
      'instances: 200 200 403 403 200',
      'whoami: 200 200 403 403 200',
      'audit: 200 200 403 403 200',
    ]);
    await scraper.stop();
  });

  it('an agent token reads the config stream', async () => {
    const a = await fleetApi();
    const ac = new AbortController();
    const res = await fetch(`${a.url}/v1/stream`, {
      headers: { authorization: `Bearer ${TOKENS.agent}` },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    ac.abort();
  });
});

describe('host binding', () => {
  it('refuses another agent token for a bound host on every host route, changing nothing', async () => {
    const a = await fleetApi();
    const before = await a.store.getHost(H1);
    expect(before?.registeredBy).toBe('agent-a');
    const reg = await a.call('PUT', `/v1/hosts/${H1}`, {
      as: 'agentB',
      body: { ...BODY, address: '10.6.6.6' },
    });
    expect(reg.status).toBe(403);
    expect(reg.body.error.message).toMatch(/bound to agent token agent-a/);
    const status = await a.call('PUT', `/v1/hosts/${H1}/assignments/${WEB.id}/status`, {
      as: 'agentB',
      body: RUNNING,
    });
    expect(status.status).toBe(403);
    expect(await a.store.getHost(H1)).toEqual(before);
    expect((await a.store.getAssignment(WEB.id))?.status.phase).toBe('pending');
  });

  it('an agent token may not speak for a host no agent registered until it registers it', async () => {
    const a = await fleetApi();
    expect((await a.call('PUT', '/v1/hosts/h3.example', { as: 'admin', body: BODY })).status).toBe(
      200,
    );
    const beat = await a.call('POST', '/v1/hosts/h3.example/heartbeat', {
      as: 'agent',
      body: { ttlMs: 5000 },
    });
    expect(beat.status).toBe(403);
    expect(beat.body.error.message).toMatch(/register it first/);
    expect((await a.store.getHost('h3.example'))?.leaseExpiresAt).toBeNull();
    expect((await a.call('PUT', '/v1/hosts/h3.example', { as: 'agent', body: BODY })).status).toBe(
      200,
    );
    expect(
      (
        await a.call('POST', '/v1/hosts/h3.example/heartbeat', {
          as: 'agent',
          body: { ttlMs: 5000 },
        })
      ).status,
    ).toBe(200);
  });
});

describe('heartbeat', () => {
  it("renews the lease of each of the host's instances that is not stopped, to the host's", async () => {
    const a = await fleetApi();
    const s = a.store;
    const mk = (id: string, host: string, state: 'starting' | 'stopped') =>
      s.createInstance(
        { id, module: 'web', version: '1.0.0', host, address: '10.0.0.11:4000', state },
        'engine',
      );
    await mk('on-h1', H1, 'starting');
    await mk('stopped-h1', H1, 'stopped');
    await mk('on-h2', H2, 'starting');
    const beat = await a.call('POST', `/v1/hosts/${H1}/heartbeat`, {
      as: 'agent',
      body: { ttlMs: 10_000 },
    });
    expect(beat.status).toBe(200);
    const until = beat.body.leaseExpiresAt;
    expect(Date.parse(until)).toBeGreaterThan(Date.now());
    expect((await s.getInstance('on-h1'))?.leaseExpiresAt).toBe(until);
    expect((await s.getInstance('stopped-h1'))?.leaseExpiresAt).toBeNull();
    expect((await s.getInstance('on-h2'))?.leaseExpiresAt).toBeNull();
  });
});

describe('status reports', () => {
  it("records the report and moves the instance's health in the same transaction", async () => {
    const a = await fleetApi();
    const s = a.store;
    await s.createInstance(
      { id: WEB.id, module: 'web', version: '1.0.0', host: H1, address: RUNNING.address },
      'engine',
    );
    const path = `/v1/hosts/${H1}/assignments/${WEB.id}/status`;
    const ok = await a.call('PUT', path, { as: 'agent', body: RUNNING });
    expect(ok.status, JSON.stringify(ok.body)).toBe(204);
    expect((await s.getAssignment(WEB.id))?.status).toMatchObject({
      ...RUNNING,
      reportedAt: expect.any(String),
    });
    expect(await s.getInstance(WEB.id)).toMatchObject({ state: 'ready', health: 'healthy' });
    const v = await s.changeVersion();
    // The same again changes nothing routing reads: no write, no change counted.
    expect((await a.call('PUT', path, { as: 'agent', body: RUNNING })).status).toBe(204);
    expect(await s.changeVersion()).toBe(v);
    await a.call('PUT', path, { as: 'agent', body: { ...RUNNING, health: 'unhealthy' } });
    expect(await s.getInstance(WEB.id)).toMatchObject({ state: 'ready', health: 'unhealthy' });
    const audit = (await s.listAudit({ target: `instance/${WEB.id}` })).items;
    expect(audit.map((e) => `${e.action} ${e.actor}`)).toEqual([
      'instance.create engine',
      'instance.update agent:h1.example',
      'instance.update agent:h1.example',
    ]);
  });

  it('a report running the instance at another address (its agent advertises a new one) moves the instance there', async () => {
    const a = await fleetApi();
    const s = a.store;
    await s.createInstance(
      { id: WEB.id, module: 'web', version: '1.0.0', host: H1, address: RUNNING.address },
      'engine',
    );
    const path = `/v1/hosts/${H1}/assignments/${WEB.id}/status`;
    await a.call('PUT', path, { as: 'agent', body: RUNNING });
    // The agent restarts with --advertise 10.0.0.99: the host row follows its registration…
    const again = await a.call('PUT', `/v1/hosts/${H1}`, {
      as: 'agent',
      body: { ...BODY, address: '10.0.0.99' },
    });
    expect(again.status).toBe(200);
    expect((await s.getHost(H1))?.address).toBe('10.0.0.99');
    // …and the instance, restarted there, follows its report.
    const moved = { ...RUNNING, address: '10.0.0.99:41000', health: 'unknown' };
    expect((await a.call('PUT', path, { as: 'agent', body: moved })).status).toBe(204);
    // Not routed there before it is healthy there: starting again.
    expect(await s.getInstance(WEB.id)).toMatchObject({
      address: '10.0.0.99:41000',
      state: 'starting',
      health: 'unknown',
    });
    await a.call('PUT', path, { as: 'agent', body: { ...moved, health: 'healthy' } });
    expect(await s.getInstance(WEB.id)).toMatchObject({
      address: '10.0.0.99:41000',
      state: 'ready',
      health: 'healthy',
    });
    // A stopped report carries no address and moves nothing.
    await a.call('PUT', path, {
      as: 'agent',
      body: { ...RUNNING, phase: 'stopped', address: null, health: 'unknown' },
    });
    expect((await s.getInstance(WEB.id))?.address).toBe('10.0.0.99:41000');
  });

  it.each([
    [{ ...RUNNING, phase: 'dancing' }, 'phase'],
    [{ ...RUNNING, logTail: ['x'.repeat(301)] }, 'logTail[0]'],
    [{ ...RUNNING, address: '10.0.0.11' }, 'address'],
    [{ ...RUNNING, extra: true }, 'extra'],
    [{ ...RUNNING, phase: undefined }, 'phase'],
  ])('refuses a bad report (%#) naming the field, changing nothing', async (body, field) => {
    const a = await fleetApi();
    await a.store.createInstance(
      { id: WEB.id, module: 'web', version: '1.0.0', host: H1, address: RUNNING.address },
      'engine',
    );
    const before = [await a.store.getAssignment(WEB.id), await a.store.getInstance(WEB.id)];
    const res = await a.call('PUT', `/v1/hosts/${H1}/assignments/${WEB.id}/status`, {
      as: 'agent',
      body,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
    expect([await a.store.getAssignment(WEB.id), await a.store.getInstance(WEB.id)]).toEqual(
      before,
    );
  });

  it("answers 404 for an assignment that is not on the reporting host's list", async () => {
    const a = await fleetApi();
    await a.store.createAssignment({ ...WEB, id: 'web-on-h2', host: H2 }, 'engine');
    const res = await a.call('PUT', `/v1/hosts/${H1}/assignments/web-on-h2/status`, {
      as: 'agent',
      body: RUNNING,
    });
    expect(res.status).toBe(404);
    expect((await a.store.getAssignment('web-on-h2'))?.status.phase).toBe('pending');
  });
});

describe('stats push', () => {
  it("feeds the scraper's applied-version and in-flight bookkeeping, keyed by host, until pushes stop", async () => {
    let now = 1_000_000;
    let h1Down = false;
    const window = new StatsWindow();
    const scraper = new StatsScraper({
      window,
      targets: () => [],
      now: () => now,
      pushIntervalMs: 1000,
      isHostDown: async (h) => h === H1 && h1Down,
    });
    const a = await fleetApi({ pushStats: (h, j) => scraper.push(h, j) });
    const push = (host: string, as: As, body: unknown) =>
      a.call('POST', `/v1/hosts/${host}/stats`, { as, body });
    expect(scraper.allApplied(7)).toBe(true); // nobody pushes yet
    expect((await push(H1, 'agent', stats(6, 2))).status).toBe(204);
    expect(scraper.allApplied(7)).toBe(false);
    expect(scraper.inFlight().get('10.0.0.11:41000')).toBe(2);
    expect((await push(H2, 'agentB', stats(7, 1))).status).toBe(204);
    expect(scraper.inFlight().get('10.0.0.11:41000')).toBe(3);
    expect((await push(H1, 'agent', stats(7, 2))).status).toBe(204);
    expect(scraper.allApplied(7)).toBe(true);
    expect(scraper.allApplied(8)).toBe(false);

    // h2 stops pushing: after 3× the interval it counts no more, and a round forgets it.
    now += 3001;
    expect((await push(H1, 'agent', stats(8, 2))).status).toBe(204);
    expect(scraper.allApplied(8)).toBe(true);
    expect(scraper.inFlight().get('10.0.0.11:41000')).toBe(2);
    // h1 goes down: the next round forgets it although its last push is recent.
    h1Down = true;
    await scraper.scrape();
    expect(scraper.inFlight().size).toBe(0);
    expect(scraper.allApplied(1000)).toBe(true);
    await scraper.stop();
  });

  it('refuses a body that is not /stats JSON (400 naming the field) and a down host (409)', async () => {
    const scraper = new StatsScraper({ window: new StatsWindow(), targets: () => [] });
    const a = await fleetApi({ pushStats: (h, j) => scraper.push(h, j) });
    const bad = await a.call('POST', `/v1/hosts/${H1}/stats`, {
      as: 'agent',
      body: { metrics: [{ name: 'x', values: [{ value: 'nope', labels: {} }] }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('metrics[0].values[0].value');
    expect(scraper.allApplied(1)).toBe(true);
    await a.store.setHostState(H1, 'down', 'registry');
    const down = await a.call('POST', `/v1/hosts/${H1}/stats`, { as: 'agent', body: stats(1, 1) });
    expect(down.status).toBe(409);
    expect(scraper.inFlight().size).toBe(0);
    await scraper.stop();
  });
});
