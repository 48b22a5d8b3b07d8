// Durability of a rollout on the real bin: `turnout up` killed with SIGKILL mid-canary and again
// mid-deploy, then started again on the same data dir. The proxy it left keeps answering the edge
// while no control plane runs and is kept by the next run; the ticket resumes at the step it was
// at; no instance is started twice and none is left without a record; not one request fails.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSameProcess } from '../../src/runtime/process-identity.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { freeListeners, localArgs } from '../support/local.js';
import { freePort, runTurnout } from '../support/turnout-up.js';
import { waitFor } from '../support/wait.js';

const SERVICE = 'examples/services/service.mjs';
/** The same service behind a gate (web 2.0.1 in the deploy test). */
const GATED_SERVICE = 'test/support/gated-service.mjs';

interface Event {
  seq: number;
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
}
interface Ticket {
  id: number;
  state: string;
  progress: { canaryStep?: number; canaryDone?: boolean; message?: string };
}
interface InstanceRow {
  id: string;
  module: string;
  version: string;
  state: string;
}
interface Summary {
  proxy: { pid: number; adopted: boolean };
  instances: { adopted: number; dead: number };
}

/** One `turnout up` run: the child, its --json summary, its stderr. */
interface UpRun {
  child: ChildProcess;
  summary: Summary;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** A bounded load on the edge: `perSecond` GETs with Host shop.localhost and an x-user-id each. */
class EdgeLoad {
  readonly results: { at: number; ok: boolean; what: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private sent = 0;
  private readonly pool: Pool;

  constructor(
    origin: string,
    private readonly perSecond: number,
    private readonly maxRequests: number,
  ) {
    this.pool = new Pool(origin, { connections: 8, headersTimeout: 10_000, bodyTimeout: 10_000 });
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.sent >= this.maxRequests) return this.stopSending();
      const n = this.sent++;
      const one = this.one(n).finally(() => this.inFlight.delete(one));
      this.inFlight.add(one);
    }, 1000 / this.perSecond);
  }

  private async one(n: number): Promise<void> {
    try {
      const res = await this.pool.request({
        path: '/',
        method: 'GET',
        headers: { host: 'shop.localhost', 'x-user-id': `user-${n % 97}` },
      });
      const body = await res.body.text();
      this.results.push({
        at: Date.now(),
        ok: res.statusCode === 200,
        what: `${res.statusCode} ${body.slice(0, 200)}`,
      });
    } catch (error) {
      this.results.push({ at: Date.now(), ok: false, what: String(error) });
    }
  }

  private stopSending(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private stopped: Promise<void> | null = null;

  /** Stops sending, waits for the requests in flight; idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopSending();
      await Promise.all([...this.inFlight]);
      await this.pool.close();
    })();
    return this.stopped;
  }

  failures() {
    return this.results.filter((r) => !r.ok);
  }

  okBetween(from: number, to: number): number {
    return this.results.filter((r) => r.ok && r.at >= from && r.at <= to).length;
  }
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Processes of the example service whose http_proxy is this run's outbound listener. */
function serviceProcesses(proxyUrl: string): { pid: number; id: string | undefined }[] {
  const found: { pid: number; id: string | undefined }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!cmdline.includes(SERVICE) && !cmdline.includes(GATED_SERVICE)) continue;
      const env = new Map(
        readFileSync(`/proc/${name}/environ`, 'utf8')
          .split('\0')
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
      );
      if (env.get('http_proxy') !== proxyUrl) continue;
      if (!isSameProcess(Number(name), readStart(Number(name)))) continue; // a zombie is gone
      found.push({ pid: Number(name), id: env.get('TURNOUT_INSTANCE_ID') });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function readStart(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
}

describe('durability: turnout up killed with SIGKILL mid-rollout', () => {
  let data: string;
  let server: string;
  let upArgs: string[];
  let proxyUrl: string;
  let edgeOrigin: string;
  let up: UpRun | null = null;
  let load: EdgeLoad;
  let proxyPid = 0;

  async function startUp(): Promise<UpRun> {
    const child = spawn(process.execPath, upArgs, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const line = await waitFor(
      'the summary of turnout up',
      async () => {
        if (child.exitCode !== null) throw new Error(`turnout up exited: ${stderr}`);
        return stdout.includes('\n') ? stdout.slice(0, stdout.indexOf('\n')) : null;
      },
      30_000,
    );
    const run = { child, summary: JSON.parse(line) as Summary, stderr: () => stderr, exited };
    up = run;
    await waitFor('the API', async () => (await get('/v1/orgs')) !== null, 30_000);
    return run;
  }

  async function kill9(run: UpRun): Promise<number> {
    process.kill(run.child.pid as number, 'SIGKILL');
    await run.exited;
    return Date.now();
  }

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const res = await request(`${server}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.body.json();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${JSON.stringify(json)}`);
    return json;
  }
  const get = (path: string) => call('GET', path);
  const ticket = async (id: number) => (await get(`/v1/tickets/${id}`)) as Ticket;

  async function all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = (await get(
        `${path}${sep}limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      )) as { items: T[]; nextCursor: string | null };
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return items;
  }
  const events = (id: number) => all<Event>(`/v1/tickets/${id}/events`);

  /** An instance's state in the store file, read while no `up` runs; 'not registered' when absent. */
  function stateAtKill(id: string): string {
    const db = new Database(join(data, 'turnout.db'), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('select state from instances where id = ?').get(id) as
        | { state: string }
        | undefined;
      return row?.state ?? 'not registered';
    } finally {
      db.close();
    }
  }

  /** Every live instance in the store has one record and one process, and nothing else runs. */
  async function expectOneProcessPerInstance(): Promise<void> {
    const live = (await all<InstanceRow>('/v1/instances')).filter((i) => i.state !== 'stopped');
    const ids = live.map((i) => i.id).sort();
    expect(new Set(ids).size).toBe(ids.length);
    const dir = join(data, 'instances');
    const records = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => readJson<{ id: string; pid: number; processStart: number }>(join(dir, n)))
      .filter((r) => r !== null);
    expect(records.map((r) => r.id).sort()).toEqual(ids);
    for (const r of records) expect(isSameProcess(r.pid, r.processStart), r.id).toBe(true);
    expect(new Set(records.map((r) => r.pid)).size).toBe(records.length);
    const running = serviceProcesses(proxyUrl);
    expect(running.map((p) => p.id).sort()).toEqual(ids);
    const pidOf = new Map(records.map((r) => [r.id, r.pid]));
    for (const p of running) expect(p.pid, p.id).toBe(pidOf.get(p.id as string));
  }

  /** instance.start once per id and once per deploy level; everything by the engine. */
  function expectDeployedOnce(list: Event[], ids: string[]): void {
    const starts = list.filter((e) => e.type === 'instance.start').map((e) => e.data.id);
    expect(starts.sort()).toEqual([...ids].sort());
    const levels = list.filter((e) => e.type === 'deploy.level').map((e) => e.data.level);
    expect(new Set(levels).size).toBe(levels.length);
    expect(list.filter((e) => e.type === 'deployed')).toHaveLength(1);
    const engineTypes = /^(deploy|deployed|instance|canary|prerelease|promoted)/;
    for (const e of list.filter((e) => engineTypes.test(e.type))) {
      expect(e.actor, `${e.type} by ${e.actor}`).toBe('engine');
    }
  }

  beforeAll(async () => {
    await ensureBuilt();
    data = mkdtempSync(join(tmpdir(), 'turnout-durability-'));
    const at = await freeListeners();
    server = `http://127.0.0.1:${at.api}`;
    proxyUrl = `http://127.0.0.1:${at.outbound}`;
    edgeOrigin = `http://127.0.0.1:${at.edge}`;
    upArgs = localArgs('up', data, at, ['--insecure-local', '--json']);
    load = new EdgeLoad(edgeOrigin, 20, 2_400);
  }, 120_000);

  afterAll(async () => {
    await load?.stop();
    // Whatever is left, by pid: up, the proxy it recorded, every instance of this run.
    const pids = new Set<number>();
    if (up !== null && up.child.exitCode === null && up.child.signalCode === null)
      pids.add(up.child.pid as number);
    const proxy = readJson<{ pid: number; processStart: number }>(join(data, 'proxy.json'));
    if (proxy !== null && isSameProcess(proxy.pid, proxy.processStart)) pids.add(proxy.pid);
    if (proxyPid !== 0) pids.add(proxyPid);
    for (const p of serviceProcesses(proxyUrl)) pids.add(p.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(data, { recursive: true, force: true });
  }, 30_000);

  it('a canary resumes at its step after kill -9, with the proxy serving while nothing controls it', async () => {
    // Given turnout up with the shop applied and its v1 promoted (ticket 1)
    let run = await startUp();
    proxyPid = run.summary.proxy.pid;
    expect(run.summary.proxy.adopted).toBe(false);
    const cli = (...args: string[]) => runTurnout([...args, '--server', server]);
    const applied = await cli('apply', '-f', 'examples/shop.yaml');
    expect(applied.code, applied.stderr).toBe(0);
    const created = await cli(
      'release',
      'create',
      'shop',
      '--set',
      'web=1.0.0',
      '--set',
      'orders=1.0.0',
      '--set',
      'account=1.0.0',
      '--set',
      'catalog=1.0.0',
    );
    expect(created.code, created.stderr).toBe(0);
    await call('POST', '/v1/tickets/1/promote', {});
    await waitFor('ticket 1 promoted', async () => (await ticket(1)).state === 'promoted', 60_000);
    await waitFor('the edge to answer', async () => {
      const res = await request(`${edgeOrigin}/`, { headers: { host: 'shop.localhost' } });
      await res.body.text();
      return res.statusCode === 200;
    });
    load.start();

    // And ticket 2 (orders, account 2.0.0) in its canary's first step under load
    await call('POST', '/v1/tickets', {
      product: 'shop',
      items: [
        { module: 'orders', version: '2.0.0' },
        { module: 'account', version: '2.0.0' },
      ],
      plan: { analysis: { minRequests: 5 } },
    });
    await call('POST', '/v1/tickets/2/canary', { steps: [10, 50], pauseMs: 4000 });
    await waitFor(
      'the first canary step',
      async () => (await events(2)).some((e) => e.type === 'canary.step'),
      { timeoutMs: 60_000, everyMs: 20 },
    );

    // When turnout up is killed with SIGKILL
    const killedAt = await kill9(run);
    await waitFor(
      '20 answers at the edge with turnout up down',
      () => load.okBetween(killedAt, Number.POSITIVE_INFINITY) > 20,
    );
    const restartAt = Date.now();
    // Then the proxy it left answered the edge meanwhile
    expect(load.okBetween(killedAt, restartAt)).toBeGreaterThan(20);
    expect(load.failures()).toEqual([]);

    // When it starts again on the same data dir
    run = await startUp();
    // Then it keeps that proxy and the instances
    expect(run.summary.proxy).toMatchObject({ pid: proxyPid, adopted: true });
    expect(run.summary.instances).toEqual({ adopted: 6, dead: 0 });
    // And a second up on the data dir it holds fails, naming it, and leaves it be
    const [api2, admin2] = [await freePort(), await freePort()];
    const second = await runTurnout([
      'up',
      '--insecure-local',
      '--data',
      data,
      '--api',
      `127.0.0.1:${api2}`,
      '--outbound',
      'off',
      '--edge',
      'off',
      '--admin',
      `127.0.0.1:${admin2}`,
    ]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `another turnout up (pid ${run.child.pid}) is running on data dir ${data}`,
    );
    expect(readJson<{ pid: number }>(join(data, 'proxy.json'))?.pid).toBe(proxyPid);
    // And the ticket is where it was: step 0 until the next step's event
    const resumed = await ticket(2);
    const early = await events(2);
    if (!early.some((e) => e.type === 'canary.step' && e.data.step === 1)) {
      expect(resumed.state).toBe('canary');
      expect(resumed.progress.canaryStep).toBe(0);
    }
    // And it completes
    await waitFor(
      'the canary to complete',
      async () => (await ticket(2)).progress.canaryDone,
      60_000,
    );

    const list = await events(2);
    expectDeployedOnce(list, ['account-2.0.0-0', 'orders-2.0.0-0']);
    for (const e of list.filter(
      (e) => e.type.startsWith('deploy') || e.type.startsWith('instance'),
    ))
      expect(Date.parse(e.at), `${e.type} before the kill`).toBeLessThan(killedAt);
    const steps = list.filter((e) => e.type === 'canary.step');
    expect(steps.map((e) => [e.data.step, e.data.percent])).toEqual([
      [0, 10],
      [1, 50],
    ]);
    expect(Date.parse(steps[0]?.at ?? '')).toBeLessThan(killedAt);
    expect(Date.parse(steps[1]?.at ?? '')).toBeGreaterThan(restartAt);
    expect(list.filter((e) => e.type === 'canary.done')).toHaveLength(1);
    await expectOneProcessPerInstance();
    expect(load.failures()).toEqual([]);
  }, 300_000); // a hang bound: two starts of turnout up and a canary, on a busy machine

  it('a deploy resumes after kill -9 between an instance start and its readiness, starting nothing twice', async () => {
    // Given ticket 3 (web 2.0.1, catalog 2.0.0) deploying, where web 2.0.1 is the example service
    // behind a gate: it listens (and can be ready) only once the test opens the gate
    let run = up as UpRun;
    const gate = join(data, 'web-2.0.1.gate');
    await call('POST', '/v1/modules/web/versions', {
      version: '2.0.1',
      run: {
        process: {
          args: [GATED_SERVICE],
          env: { SERVICE_VERSION: '2.0.1', GATE_FILE: gate },
        },
      },
    });
    await call('POST', '/v1/tickets', {
      product: 'shop',
      items: [
        { module: 'web', version: '2.0.1' },
        { module: 'catalog', version: '2.0.0' },
      ],
    });
    await call('POST', '/v1/tickets/3/deploy', {});

    // When turnout up is killed with SIGKILL as soon as catalog's process is recorded (before
    // the engine could register it: the runtime's record is written first)
    const record = join(data, 'instances', 'catalog-2.0.0-0.json');
    await waitFor('catalog 2.0.0 to start', async () => existsSync(record), {
      timeoutMs: 60_000,
      everyMs: 5,
    });
    let killedAt = await kill9(run);
    // Then it was not ready (read from the store file while nothing holds it)
    expect(stateAtKill('catalog-2.0.0-0')).toMatch(/^(starting|not registered)$/);
    await waitFor(
      '10 answers at the edge with turnout up down',
      () => load.okBetween(killedAt, Number.POSITIVE_INFINITY) > 10,
    );
    expect(load.okBetween(killedAt, Date.now())).toBeGreaterThan(10);

    // When it starts again, and is killed once more when web's start is recorded, before web is
    // ready (its gate is closed: it cannot be; the health checker probes a new instance at once,
    // so without the gate a fast start could be ready before the kill lands)
    run = await startUp();
    expect(run.summary.proxy).toMatchObject({ pid: proxyPid, adopted: true });
    await waitFor(
      "web 2.0.1's start",
      async () =>
        (await events(3)).some((e) => e.type === 'instance.start' && e.data.id === 'web-2.0.1-0'),
      { timeoutMs: 60_000, everyMs: 10 },
    );
    killedAt = await kill9(run);
    expect(stateAtKill('web-2.0.1-0')).toBe('starting');
    await waitFor(
      '10 answers at the edge with turnout up down',
      () => load.okBetween(killedAt, Number.POSITIVE_INFINITY) > 10,
    );
    expect(load.okBetween(killedAt, Date.now())).toBeGreaterThan(10);

    // When it starts again, with web's gate open
    writeFileSync(gate, '');
    run = await startUp();
    expect(run.summary.proxy).toMatchObject({ pid: proxyPid, adopted: true });
    // Then the deploy finishes, with each instance started once
    await waitFor('ticket 3 deployed', async () => (await ticket(3)).state === 'deployed', 60_000);
    expectDeployedOnce(await events(3), ['catalog-2.0.0-0', 'web-2.0.1-0']);
    await expectOneProcessPerInstance();
    await load.stop();
    expect(load.failures()).toEqual([]);
    expect(load.results.length).toBeGreaterThan(200);

    // And a graceful stop ends the proxy and every instance
    const instances = serviceProcesses(proxyUrl);
    expect(instances).toHaveLength(8);
    run.child.kill('SIGTERM');
    expect(await run.exited, run.stderr()).toBe(0);
    await waitFor('the proxy to exit', async () => {
      try {
        process.kill(proxyPid, 0);
        return !isSameProcess(proxyPid, readStart(proxyPid));
      } catch {
        return true;
      }
    });
    expect(serviceProcesses(proxyUrl)).toEqual([]);
    expect(existsSync(join(data, 'proxy.json'))).toBe(false);
    expect(existsSync(join(data, 'up.pid'))).toBe(false);
  }, 300_000); // a hang bound: two starts of turnout up and a canary, on a busy machine
});
