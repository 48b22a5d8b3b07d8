// `turnout agent` end to end: a real control plane in this process (SQLite, an agent token), a real
// agent child on 127.0.0.1 with its real proxy child, a real instance. The agent registers; an
// assignment written through the store is started, reported running with its address, probed
// healthy by the agent (the control plane's own checker never probes here), and the instance row
// turns ready as `agent:h1`, and its log's tail is reported; kill -9 of the agent and a new one adopts (same pid, nothing started
// twice); with the server stopped the instance and the proxy keep serving; the server back,
// heartbeats resume; desired stop stops it; SIGTERM leaves the proxy for the next agent, which
// keeps it; with --stop-instances SIGTERM stops it.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiAuth } from '../../src/api/auth.js';
import type { ControlPlane } from '../../src/server/control-plane.js';
import { startControlPlane } from '../../src/server/control-plane.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { TEST_AUTH } from '../api/harness.js';
import { send } from '../proxy/harness.js';
import { alive, get, killAll, SERVICE } from '../runtime/support.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { freePort } from '../support/turnout-up.js';
import { Hopeless, waitFor } from '../support/wait.js';

const BIN = join(ROOT, 'bin', 'turnout.js');
const AGENT_TOKEN = 'agent-h1-secret-token';
const AUTH: ApiAuth = {
  tokens: [
    ...('tokens' in TEST_AUTH ? TEST_AUTH.tokens : []),
    { token: AGENT_TOKEN, role: 'agent', name: 'agent-h1' },
  ],
};
const ADMIN =
  'tokens' in TEST_AUTH ? (TEST_AUTH.tokens.find((t) => t.role === 'admin')?.token ?? '') : '';
const LONG = { timeoutMs: 60_000, everyMs: 50 };

interface AgentRun {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[];
  out(): string;
  readonly exit: Promise<number | null>;
}

let dir: string;
let data: string;
let store: Store;
let cp: ControlPlane | null = null;
let apiPort: number;
let ports: { edge: number; outbound: number; admin: number };
const pids: number[] = [];
const agents: AgentRun[] = [];

async function startServer(): Promise<ControlPlane> {
  return startControlPlane({
    store,
    auth: AUTH,
    listen: { host: '127.0.0.1', port: apiPort },
    leaseSweepMs: 100,
    // Its first round runs before any instance exists and the next one an hour later: every
    // health verdict in this test is the agent's.
    health: { tickMs: 3_600_000, refreshMs: 3_600_000 },
  });
}

function spawnAgent(advertise = '127.0.0.1', extra: readonly string[] = []): AgentRun {
  const on = (p: number) => `127.0.0.1:${p}`;
  const child = spawn(
    process.execPath,
    [
      BIN,
      'agent',
      '--server',
      `http://127.0.0.1:${apiPort}`,
      '--token',
      AGENT_TOKEN,
      '--name',
      'h1',
      '--advertise',
      advertise,
      '--labels',
      'zone=a',
      '--max-instances',
      '4',
      '--data',
      data,
      '--edge',
      on(ports.edge),
      '--outbound',
      on(ports.outbound),
      '--admin',
      on(ports.admin),
      '--ttl',
      '3000',
      '--json',
      ...extra,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Events on stdout (--json: one line each), warnings and errors as pino JSON lines on stderr.
  const events: Record<string, unknown>[] = [];
  let out = '';
  const lines = () => {
    let partial = '';
    return (b: Buffer) => {
      out += b.toString();
      partial += b.toString();
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const line of complete) if (line.startsWith('{')) events.push(JSON.parse(line));
    };
  };
  child.stdout?.on('data', lines());
  child.stderr?.on('data', lines());
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const run = { child, events, out: () => out, exit };
  agents.push(run);
  if (child.pid !== undefined) pids.push(child.pid);
  return run;
}

function event(
  run: AgentRun,
  name: string,
  match: (e: Record<string, unknown>) => boolean = () => true,
) {
  return waitFor(
    `agent event ${name}`,
    () => {
      if (run.child.exitCode !== null) throw new Hopeless(`the agent exited: ${run.out()}`);
      return run.events.find((e) => e.event === name && match(e)) ?? null;
    },
    LONG,
  );
}

function routed(outbound: number) {
  return send(outbound, { path: 'http://web/', headers: { baggage: 'turnout-product=shop' } });
}

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-agent-'));
  data = join(dir, 'agent');
  store = await openSqliteStore(join(dir, 'turnout.db'));
  apiPort = await freePort();
  ports = { edge: await freePort(), outbound: await freePort(), admin: await freePort() };
  cp = await startServer();
  await store.createOrg({ name: 'acme' }, 'ada');
  await store.createModule(
    {
      name: 'web',
      org: 'acme',
      run: { process: { command: 'node' } },
      health: { path: '/healthz', intervalMs: 1_000 },
    },
    'ada',
  );
  await store.createVersion({ module: 'web', version: '1.0.0' }, 'ada');
  await store.createProduct(
    { name: 'shop', org: 'acme', entry: 'web', baseDtab: '/svc/web => /v/web/1.0.0;' },
    'ada',
  );
}, 120_000);

afterAll(async () => {
  for (const a of agents) if (a.child.exitCode === null) a.child.kill('SIGKILL');
  killAll(pids);
  await cp?.stop();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('turnout agent', () => {
  let first: AgentRun;
  let instancePid: number;
  let proxyPid: number;
  let address: string;

  it('registers its host with its address, labels and capacity', async () => {
    first = spawnAgent();
    await event(first, 'registered');
    proxyPid = Number((await event(first, 'proxy_started')).pid);
    pids.push(proxyPid);
    const host = await store.getHost('h1');
    expect(host).toMatchObject({ address: '127.0.0.1', labels: { zone: 'a' }, capacity: 4 });
    expect(Date.parse(host?.leaseExpiresAt ?? '')).toBeGreaterThan(Date.now());
  });

  it('starts an assignment, reports it running, probes it healthy: the instance turns ready (also when registered after the report)', async () => {
    await store.createAssignment(
      {
        id: 'web-1',
        host: 'h1',
        module: 'web',
        version: '1.0.0',
        run: {
          command: process.execPath,
          args: [SERVICE],
          cwd: null,
          env: { SERVICE_NAME: 'web', SERVICE_VERSION: '1.0.0' },
        },
        health: { path: '/healthz', intervalMs: 200 },
      },
      'engine',
    );
    const running = await waitFor(
      'web-1 reported running',
      async () => {
        const a = await store.getAssignment('web-1');
        return a?.status.phase === 'running' && a.status.address !== null ? a : null;
      },
      LONG,
    );
    address = running.status.address as string;
    instancePid = running.status.pid as number;
    pids.push(instancePid);
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const answer = await waitFor('web-1 to answer', () => get(address).catch(() => null), LONG);
    expect(answer.json()).toMatchObject({ service: 'web', version: '1.0.0' });
    // The agent's healthy verdict is in before the engine registers the instance row (as it can be
    // in a real deploy): the row still turns ready, by the agent's next report of the same status.
    await waitFor(
      'web-1 reported healthy',
      async () => (await store.getAssignment('web-1'))?.status.health === 'healthy',
      LONG,
    );
    // What the engine does once the assignment runs: the instance row routing reads.
    await store.createInstance(
      { id: 'web-1', module: 'web', version: '1.0.0', host: 'h1', address },
      'engine',
    );
    await waitFor(
      'web-1 ready and healthy',
      async () => {
        const i = await store.getInstance('web-1');
        return i?.state === 'ready' && i.health === 'healthy';
      },
      LONG,
    );
    const audit = (await store.listAudit({ target: 'instance/web-1' })).items;
    expect(audit.map((e) => e.actor)).toContain('agent:h1');
    expect(audit.map((e) => e.actor)).not.toContain('health');
    expect((await store.getAssignment('web-1'))?.status.health).toBe('healthy');
    // Routed through the host's own proxy, fed by the server's stream.
    await waitFor(
      'a routed request',
      async () => (await routed(ports.outbound)).status === 200,
      LONG,
    );
    // The control plane scrapes no proxy here (no proxyAdminUrls): traffic reaches /v1/traffic only
    // through the agent's push of its proxy's /stats. A first sample is a baseline, so keep sending.
    await waitFor(
      'the pushed traffic in /v1/traffic',
      async () => {
        const status = (await routed(ports.outbound)).status;
        if (status !== 200) throw new Hopeless(`a routed request answered ${status}`);
        const res = await fetch(`${cp?.url}/v1/traffic?product=shop&lane=stable`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        const body = (await res.json()) as { total?: { requests?: number } };
        return (body.total?.requests ?? 0) >= 1;
      },
      LONG,
    );
  });

  it("reports a running instance's log tail again once a ttl (what `turnout logs` shows in a fleet)", async () => {
    // Before, only an exit or a failed start carried a tail: a healthy instance reported none.
    const reported = await waitFor(
      "web-1's report with its log's tail",
      async () => {
        const a = await store.getAssignment('web-1');
        return a?.status.logTail.some((l) => l.startsWith('web 1.0.0 listening on ')) && a;
      },
      LONG,
    );
    expect(reported.status).toMatchObject({ phase: 'running', health: 'healthy' });
  });

  it('adopts after kill -9: same pid, nothing started twice, the proxy kept', async () => {
    first.child.kill('SIGKILL');
    await first.exit;
    expect(alive(instancePid)).toBe(true);
    const second = spawnAgent();
    const adopted = await event(second, 'adopted');
    expect(adopted.adopted).toEqual([{ id: 'web-1', pid: instancePid, address }]);
    await event(second, 'registered');
    await event(second, 'assignments');
    expect(Number((await event(second, 'proxy_started')).pid)).toBe(proxyPid);
    // A round has run on the list; a later one would see the same. Nothing was started.
    await waitFor('a heartbeat after the list', async () => {
      const host = await store.getHost('h1');
      return host !== null && Date.parse(host.leaseExpiresAt ?? '') > Date.now() + 2_500;
    });
    expect(second.events.filter((e) => e.event === 'started')).toEqual([]);
    // If the host's lease ran out meanwhile its instance left routing; the new agent's reports
    // bring it back.
    await waitFor(
      'web-1 ready and healthy again',
      async () => {
        const i = await store.getInstance('web-1');
        return i?.state === 'ready' && i.health === 'healthy';
      },
      LONG,
    );
    await waitFor('routed again', async () => (await routed(ports.outbound)).status === 200, LONG);
    expect((await store.getAssignment('web-1'))?.status.pid).toBe(instancePid);
    expect(alive(instancePid)).toBe(true);
  });

  it('keeps the instance and the proxy serving while the server is away, and heartbeats again after', async () => {
    const agent = agents.at(-1) as AgentRun;
    // The server goes away: it stops listening and every connection is cut. (Then cp.stop(): not
    // first, as long as it spins when an assignment stream is still open at close — the stream loop
    // of src/api/routes/assignments.ts meets a stopped ChangeWatch that wakes it at once.)
    const server = cp?.app.server;
    const away = agent.events.length;
    server?.close();
    server?.closeAllConnections();
    const since = (from: number, name: string) => () =>
      agent.events.slice(from).some((e) => e.event === name);
    await waitFor('the stream lost', since(away, 'stream_lost'), LONG);
    await cp?.stop().catch(() => {});
    cp = null;
    // Away for at least one failed heartbeat (they come every ttl/3 = 1 s).
    await waitFor('a failed heartbeat', since(away, 'heartbeat_failed'), LONG);
    for (let i = 0; i < 5; i++) {
      expect((await get(address)).status).toBe(200);
      expect((await routed(ports.outbound)).status).toBe(200);
    }
    expect(agent.child.exitCode).toBeNull();
    const back = agent.events.length;
    cp = await startServer();
    await waitFor('heartbeats resumed', since(back, 'heartbeat_resumed'), LONG);
    await waitFor('the stream back', since(back, 'stream_connected'), LONG);
    expect(alive(instancePid)).toBe(true);
  });

  it('restarted with another --advertise: the host row and the instance move to the new address', async () => {
    const previous = agents.at(-1) as AgentRun;
    previous.child.kill('SIGKILL');
    await previous.exit;
    // 127.0.0.2 is this machine too (all of 127/8 is the loopback): a host whose address changed.
    const moved = spawnAgent('127.0.0.2');
    await event(moved, 'registered');
    expect((await store.getHost('h1'))?.address).toBe('127.0.0.2');
    await event(moved, 'stopped', (e) => e.id === 'web-1' && e.reason === 'moved');
    const running = await waitFor(
      'web-1 reported running at the new address',
      async () => {
        const a = await store.getAssignment('web-1');
        return a?.status.phase === 'running' && a.status.address?.startsWith('127.0.0.2:') && a;
      },
      LONG,
    );
    expect(alive(instancePid)).toBe(false);
    address = running.status.address as string;
    instancePid = running.status.pid as number;
    pids.push(instancePid);
    await waitFor(
      'the instance row at the new address, ready',
      async () => {
        const i = await store.getInstance('web-1');
        return i?.address === address && i.state === 'ready' && i.health === 'healthy';
      },
      LONG,
    );
    expect((await get(address)).status).toBe(200);
    await waitFor('routed there', async () => (await routed(ports.outbound)).status === 200, LONG);
  });

  it('stops an instance whose assignment says stop, and reports it stopped with its last lines', async () => {
    await store.setAssignmentDesired('web-1', 'stop', 'engine');
    const stopped = await waitFor(
      'web-1 reported stopped',
      async () => {
        const a = await store.getAssignment('web-1');
        return a?.status.phase === 'stopped' && a;
      },
      LONG,
    );
    await waitFor('the process gone', () => !alive(instancePid), LONG);
    // Read once it had stopped: what it wrote on its way out is there (`turnout logs` after a stop).
    expect(stopped.status.logTail).toContain('web 1.0.0: SIGTERM, finishing in-flight requests');
  });

  it('on SIGTERM exits 0 and leaves its proxy serving (instances left running call out through it)', async () => {
    const agent = agents.at(-1) as AgentRun;
    agent.child.kill('SIGTERM');
    expect(await agent.exit).toBe(0);
    expect(alive(proxyPid)).toBe(true);
    // Its listener still answers (an answer of its own, whatever routing now says).
    expect((await routed(ports.outbound)).status).toBeGreaterThanOrEqual(200);
  });

  it('the next agent keeps that proxy; with --stop-instances, SIGTERM stops it too', async () => {
    const next = spawnAgent('127.0.0.2', ['--stop-instances']);
    await event(next, 'registered');
    const kept = Number((await event(next, 'proxy_started')).pid);
    pids.push(kept); // killed after the tests should this one not be the kept proxy
    expect(kept).toBe(proxyPid);
    // Maybe while it still starts (it logs proxy_started before it registers): stopped all the same.
    next.child.kill('SIGTERM');
    expect(await next.exit).toBe(0);
    expect(alive(proxyPid)).toBe(false);
  });
});
