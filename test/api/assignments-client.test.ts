// The agent client against a real API over HTTP: register, heartbeat, list, report, push stats,
// and the assignment stream as an async iterator — the whole list at connect, a new message when a
// desired state changes (also for a write that bypasses the API, as the engine's do), none for a
// report alone, a resume after reconnecting, the per-token stream limit and the binding check.

import { afterEach, expect, it } from 'vitest';
import type { AssignmentsMessage } from '../../src/client/agent-client.js';
import { createAgentClient, parseEvent } from '../../src/client/agent-client.js';
import { StatsScraper } from '../../src/control/stats-scraper.js';
import { FleetRuntime } from '../../src/release/fleet-runtime.js';
import { StatsWindow } from '../../src/release/stats-window.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { AssignmentInput } from '../../src/store/assignment-model.js';
import { turnout } from '../cli/run.js';
import { ensureBuilt } from '../support/build.js';
import type { Api, StartApiOptions } from './harness.js';
import { seedCatalog, startApi, TOKENS } from './harness.js';

const H1 = 'h1.example';
const WEB: AssignmentInput = {
  id: 'web-1.0.0-a',
  host: H1,
  module: 'web',
  version: '1.0.0',
  run: { command: 'node', args: ['web.js'], cwd: null, env: {} },
  health: null,
};

let api: Api | undefined;
const scrapers: StatsScraper[] = [];
afterEach(async () => {
  for (const s of scrapers.splice(0)) await s.stop();
  await api?.close();
  api = undefined;
});

async function start(options: StartApiOptions = {}): Promise<Api> {
  api = await startApi(options);
  await seedCatalog(api);
  return api;
}

/** Pulls the next message, failing (not hanging) if the stream ends first. */
async function next(it: AsyncGenerator<AssignmentsMessage>): Promise<AssignmentsMessage> {
  const r = await it.next();
  if (r.done) throw new Error('the stream ended');
  return r.value;
}

const view = (m: AssignmentsMessage) => m.assignments.map((a) => `${a.id} ${a.desired}`);

it('registers, heartbeats, lists, reports and pushes stats as the agent', async () => {
  const scraper = new StatsScraper({ window: new StatsWindow(), targets: () => [] });
  scrapers.push(scraper);
  const a = await start({ pushStats: (h, j) => scraper.push(h, j) });
  const agent = createAgentClient({ server: a.url, token: TOKENS.agent });
  const host = await agent.register(H1, { address: '10.0.0.11', labels: { zone: 'a' } });
  expect(host).toMatchObject({ name: H1, state: 'ready', registeredBy: 'agent-a' });
  const beat = await agent.heartbeat(H1, 10_000);
  expect(Date.parse(beat.leaseExpiresAt ?? '')).toBeGreaterThan(Date.now());
  expect(await agent.assignments(H1)).toEqual([]);
  await a.store.createAssignment(WEB, 'engine');
  expect((await agent.assignments(H1)).map((x) => x.id)).toEqual([WEB.id]);
  await agent.report(H1, WEB.id, { phase: 'failed', error: 'spawn node ENOENT' });
  expect((await a.store.getAssignment(WEB.id))?.status).toMatchObject({
    phase: 'failed',
    error: 'spawn node ENOENT',
  });
  await agent.pushStats(H1, {
    metrics: [{ name: 'turnout_config_version', values: [{ value: 3, labels: {} }] }],
  });
  expect([scraper.allApplied(3), scraper.allApplied(4)]).toEqual([true, false]);

  // Errors come back as TurnoutErrors naming the field.
  await expect(agent.report(H1, WEB.id, { phase: 'nope' as never })).rejects.toMatchObject({
    code: 'invalid_argument',
    field: 'phase',
  });
  const other = createAgentClient({ server: a.url, token: TOKENS.agentB });
  await expect(other.heartbeat(H1, 10_000)).rejects.toMatchObject({ code: 'forbidden' });
});

it('streams the whole list at connect and again on each desired change, not on a report', async () => {
  const a = await start();
  const agent = createAgentClient({ server: a.url, token: TOKENS.agent });
  await agent.register(H1, { address: '10.0.0.11' });
  await a.store.createAssignment(WEB, 'engine');
  const ac = new AbortController();
  const stream = agent.stream(H1, { signal: ac.signal });

  const first = await next(stream);
  expect(view(first)).toEqual([`${WEB.id} run`]);
  expect(first.version).toBe(await a.store.changeVersion());

  // A report changes no wish: no message for it. The store write below bypasses the API (as the
  // engine's writes do), so only the change poll can wake the stream.
  await agent.report(H1, WEB.id, { phase: 'running', address: '10.0.0.11:4000', pid: 7 });
  await a.store.setAssignmentDesired(WEB.id, 'stop', 'engine');
  const second = await next(stream);
  expect(view(second)).toEqual([`${WEB.id} stop`]);
  expect(second.assignments[0]?.status.phase).toBe('running');
  expect(second.version).toBeGreaterThan(first.version);

  // Another host's assignment is not this host's news.
  await a.store.registerHost({ name: 'h2.example', address: '10.0.0.12' }, 'ada');
  await a.store.createAssignment({ ...WEB, id: 'elsewhere', host: 'h2.example' }, 'engine');
  await a.store.createAssignment({ ...WEB, id: 'web-2' }, 'engine');
  expect(view(await next(stream))).toEqual([`${WEB.id} stop`, 'web-2 run']);
  ac.abort();
  expect((await stream.next()).done).toBe(true);

  // A reconnect is a resume: the whole list again at once.
  const again = agent.stream(H1);
  expect(view(await next(again))).toEqual([`${WEB.id} stop`, 'web-2 run']);
  await again.return();
});

it('refuses a stream for another agent token, and beyond the per-token limit', async () => {
  const a = await start({ streamsPerToken: 1 });
  const agent = createAgentClient({ server: a.url, token: TOKENS.agent });
  await agent.register(H1, { address: '10.0.0.11' });
  const other = createAgentClient({ server: a.url, token: TOKENS.agentB });
  await expect(next(other.stream(H1))).rejects.toMatchObject({ code: 'forbidden' });
  const one = agent.stream(H1);
  await next(one);
  await expect(next(agent.stream(H1))).rejects.toMatchObject({ code: 'too_many_streams' });
  await one.return();
});

it("GET /v1/instances/:id/logs in a fleet: the agent's reported tail, saying so, also after its assignment is deleted", async () => {
  // The fleet runtime on the API's own store, which exists only once the API has started.
  let fleet: FleetRuntime | undefined;
  const runtime = {
    logs: (id: string, o?: { tailLines?: number }) => (fleet as FleetRuntime).logs(id, o),
    logOrigin: (id: string) => (fleet as FleetRuntime).logOrigin(id),
  } as Partial<Runtime> as Runtime;
  const a = await start({ runtime });
  fleet = new FleetRuntime({ store: a.store });
  const agent = createAgentClient({ server: a.url, token: TOKENS.agent });
  await agent.register(H1, { address: '10.0.0.11' });
  await a.store.createAssignment(WEB, 'engine');
  await a.store.createInstance(
    { id: WEB.id, module: 'web', version: '1.0.0', host: H1, address: '10.0.0.11:4000' },
    'engine',
  );
  await agent.report(H1, WEB.id, {
    phase: 'running',
    address: '10.0.0.11:4000',
    pid: 7,
    logTail: ['web listening', 'GET / 200'],
  });
  const running = await a.call('GET', `/v1/instances/${WEB.id}/logs?tail=1`, { as: 'viewer' });
  expect(running.status).toBe(200);
  expect(running.body).toEqual({
    id: WEB.id,
    lines: ['GET / 200'],
    from: expect.stringMatching(
      /^the last lines host h1\.example's agent reported for web-1\.0\.0-a, at \S+$/,
    ),
  });

  // Stopped: reported with its last lines, then deleted (as the engine does once it is stopped).
  await a.store.setAssignmentDesired(WEB.id, 'stop', 'engine');
  await agent.report(H1, WEB.id, { phase: 'stopped', logTail: ['web listening', 'web: SIGTERM'] });
  await a.store.deleteAssignment(WEB.id, 'engine');
  const stopped = await a.call('GET', `/v1/instances/${WEB.id}/logs`, { as: 'viewer' });
  expect(stopped.status).toBe(200);
  expect(stopped.body).toEqual({
    id: WEB.id,
    lines: ['web listening', 'web: SIGTERM'],
    from: expect.stringMatching(/; it has stopped$/),
  });

  // `turnout logs`: the lines alone on stdout, where they come from on stderr; --json has both.
  await ensureBuilt();
  const as = ['--server', a.url, '--token', TOKENS.viewer];
  const text = await turnout('logs', WEB.id, ...as);
  expect(text).toMatchObject({ code: 0, stdout: 'web listening\nweb: SIGTERM\n' });
  expect(text.stderr).toMatch(/^\(the last lines host h1\.example's agent .+; it has stopped\)\n$/);
  const json = await turnout('logs', WEB.id, ...as, '--json');
  expect(JSON.parse(json.stdout)).toEqual({ id: WEB.id, ...(stopped.body as object) });
}, 120_000);

it('parses SSE blocks: comments and other events are not messages', () => {
  expect(parseEvent(': keepalive')).toBeNull();
  expect(parseEvent('event: snapshot\ndata: {}')).toBeNull();
  expect(parseEvent('event: assignments\nid: 4\ndata: {"version":4,"assignments":[]}')).toEqual({
    version: 4,
    assignments: [],
  });
});
