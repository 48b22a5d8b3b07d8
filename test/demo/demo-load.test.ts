// The demo as a newcomer meets it, through npm: `npx turnout demo` runs a gentle background load
// (simulated users with x-user-id, in /v1/traffic and the proxy's /stats), so the release commands
// it prints — run here exactly as printed — take a canary to "ready to promote"; `npm start --
// --no-load` sends nothing of its own. Signalling the top process (npm, as a terminal or a process
// manager does) ends everything the demo started: the demo, its proxy and every instance.

import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSameProcess, readProcStat } from '../../src/runtime/process-identity.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { freeListeners, localArgs } from '../support/local.js';
import { waitFor } from '../support/wait.js';

const BIN = join(ROOT, 'bin', 'turnout.js');
/** The last line the demo prints once ready. */
const READY = 'Ctrl-C stops everything the demo started';
const KEEP = 1_000_000;

interface Started {
  readonly child: ChildProcess;
  readonly api: string;
  readonly edge: string;
  readonly admin: string;
  readonly data: string;
  out(): string;
  readonly exit: Promise<number | null>;
}

/** `npx turnout demo …` or `npm start -- …` from the checkout, on free ports. */
async function startThroughNpm(how: 'npx' | 'npm start', data: string, extra: string[] = []) {
  const at = await freeListeners();
  const args = localArgs('demo', data, at, extra).slice(2); // without the bin and `demo`
  const [command, argv] =
    how === 'npx'
      ? ['npx', ['turnout', 'demo', ...args]]
      : ['npm', ['start', '--silent', '--', ...args]];
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-KEEP);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return {
    child,
    api: url(at.api),
    edge: url(at.edge),
    admin: url(at.admin),
    data,
    out: () => out,
    exit: new Promise<number | null>((r) => child.once('exit', (code) => r(code))),
  } satisfies Started;
}

/** The real bin, as the printed commands run it; the bound only catches a hang. */
function bin(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, timeout: 400_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        }),
    );
  });
}

/** The pid a state file names, or null when it is not (or no longer) there. */
function pidIn(path: string): number | null {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { pid: number }).pid;
  } catch {
    return null;
  }
}

/** Every process the demo recorded starting: itself (up.pid), its proxy, its instances. */
function recordedPids(data: string): number[] {
  const instances = join(data, 'instances');
  let files: string[] = [];
  try {
    files = readdirSync(instances).filter((f) => f.endsWith('.json'));
  } catch {
    // no instance started yet
  }
  return [
    pidIn(join(data, 'up.pid')),
    pidIn(join(data, 'proxy.json')),
    ...files.map((f) => pidIn(join(instances, f))),
  ].filter((pid): pid is number => pid !== null);
}

/** pid → /proc start time of those running now (a zombie has ended). */
function running(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const stat = readProcStat(pid);
    if (stat !== null && stat.state !== 'Z' && stat.state !== 'X') out.set(pid, stat.startTime);
  }
  return out;
}

/** Resolves once none of `pids` runs; the last look names those still running. */
const allEnded = (pids: ReadonlyMap<number, number>) =>
  waitFor(
    'every process the demo started to end',
    () => {
      const left = [...pids].filter(([pid, start]) => isSameProcess(pid, start)).map(([p]) => p);
      if (left.length > 0) throw new Error(`still running: ${left.join(', ')}`);
      return true;
    },
    { timeoutMs: 60_000, everyMs: 100 },
  );

/** Requests the proxy counted at the shop's entry module (web), from its admin /stats. */
async function shopRequests(admin: string): Promise<number> {
  const res = await request(`${admin}/stats`);
  const body = (await res.body.json()) as {
    metrics: { name: string; values: { labels: Record<string, string>; value: number }[] }[];
  };
  const total = body.metrics.find((m) => m.name === 'turnout_requests_total');
  return (total?.values ?? [])
    .filter((v) => v.labels.product === 'shop' && v.labels.module === 'web')
    .reduce((n, v) => n + v.value, 0);
}

/** The `$ npx turnout …` lines the demo printed: argv without `npx turnout` and the comment. */
function printedCommands(out: string): string[][] {
  return out
    .split('\n')
    .map((l) => /^\s*\$ npx turnout (.*)$/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined)
    .map((c) => (c.split(/\s+#\s/)[0] ?? '').trim().split(/\s+/));
}

describe('the demo through npm', () => {
  const dirs: string[] = [];
  /** pid → its /proc start time, so the cleanup never signals a pid reused by another process. */
  const pids = new Map<number, number>();
  const children: ChildProcess[] = [];
  const tempData = () => {
    const d = mkdtempSync(join(tmpdir(), 'turnout-demo-npm-'));
    dirs.push(d);
    return d;
  };
  const remember = (data: string) => {
    for (const pid of recordedPids(data)) {
      const stat = readProcStat(pid);
      if (stat !== null && !pids.has(pid)) pids.set(pid, stat.startTime);
    }
  };

  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);

  // Even when a check failed midway: nothing the demos started outlives the tests.
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const data of dirs) remember(data);
    for (const [pid, start] of pids) if (isSameProcess(pid, start)) process.kill(pid, 'SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('npx: background load, the printed canary completes, SIGTERM to npx ends everything', async () => {
    const data = tempData();
    const demo = await startThroughNpm('npx', data);
    children.push(demo.child);
    await waitFor('the demo to be ready', () => demo.out().includes(READY), {
      timeoutMs: 240_000,
      everyMs: 200,
    });
    remember(data);
    expect(demo.out()).toContain('background load: 10 requests/s to shop from 1000 users');

    // The load is what the dashboard's Traffic page shows (/v1/traffic) and the proxy counts.
    const traffic = await waitFor(
      'background traffic in /v1/traffic for shop and admin',
      async () => {
        const get = async (product: string) => {
          const res = await request(`${demo.api}/v1/traffic?product=${product}`);
          return (await res.body.json()) as {
            keys: { key: { module: string; lane: string }; summary: { requests: number } }[];
          };
        };
        // Requests at each product's entry module: each is one request the load sent.
        const entered = (t: Awaited<ReturnType<typeof get>>, entry: string) =>
          t.keys.filter((k) => k.key.module === entry).reduce((n, k) => n + k.summary.requests, 0);
        const [shop, admin] = [await get('shop'), await get('admin')];
        return entered(shop, 'web') >= 30 && entered(admin, 'console') >= 5 && shop;
      },
      { timeoutMs: 120_000, everyMs: 200 },
    );
    expect(new Set(traffic.keys.map((k) => k.key.module))).toEqual(
      new Set(['web', 'orders', 'account', 'catalog']),
    );
    expect(await shopRequests(demo.admin)).toBeGreaterThanOrEqual(30);

    // The printed commands, as printed, against the printed server.
    const server = /export TURNOUT_SERVER=(\S+)/.exec(demo.out())?.[1];
    expect(server).toBe(demo.api);
    const env = { TURNOUT_SERVER: server ?? '' };
    const commands = printedCommands(demo.out());
    const release = (verb: string) => {
      const c = commands.find((argv) => argv[0] === 'release' && argv[1] === verb);
      if (c === undefined) throw new Error(`the demo printed no release ${verb}`);
      return c;
    };
    const create = await bin(release('create'), env);
    expect(create.code, create.stderr).toBe(0);
    const ticket = /^ticket (\d+)/m.exec(create.stdout)?.[1] ?? '';
    expect(ticket).toMatch(/^\d+$/);
    const withTicket = (argv: string[]) => argv.map((a) => (a === '<ticket>' ? ticket : a));

    const pre = await bin(withTicket(release('prerelease')), env);
    expect(pre.code, pre.stdout + pre.stderr).toBe(0);
    const header = /pre-release header\s+(x-prerelease: \S+)/.exec(pre.stdout)?.[1];
    expect(header).toBeDefined();

    // The printed `turnout load` with that header, bounded here: its requests ride the lane.
    const loadLine = commands.find((argv) => argv[0] === 'load');
    expect(loadLine).toContain('--header');
    const edge = loadLine?.[loadLine.indexOf('--edge') + 1];
    expect(edge).toBe(demo.edge);
    const lane = await bin(
      ['load', '--edge', edge ?? '', '--header', header ?? '', '--max-requests', '20', '--json'],
      env,
    );
    expect(lane.code, lane.stderr).toBe(0);
    const summary = JSON.parse(lane.stdout) as {
      lanes: { lane: string; requests: number }[];
      versions: { module: string; version: string; lane: string; requests: number }[];
    };
    expect(summary.lanes).toEqual([expect.objectContaining({ lane: `t-${ticket}`, requests: 20 })]);
    expect(summary.versions).toContainEqual({
      module: 'orders',
      version: '2.0.0',
      lane: `t-${ticket}`,
      requests: 20,
    });

    // The canary, judged on the background load alone, gets to "ready to promote".
    const canary = await bin(withTicket(release('canary')), env);
    expect(canary.code, canary.stdout.slice(-3000) + canary.stderr).toBe(0);
    expect(canary.stdout).toContain('ready to promote');
    const done = await request(`${demo.api}/v1/tickets/${ticket}`);
    expect(await done.body.json()).toMatchObject({
      state: 'canary',
      progress: { canaryDone: true },
    });
    remember(data); // the ticket's instances too

    // SIGTERM to the top process, npm: the demo must not run on without it.
    const recorded = running(recordedPids(data));
    expect(recorded.size).toBeGreaterThanOrEqual(9); // demo, proxy, 5 v1 + 2 ticket instances
    demo.child.kill('SIGTERM');
    await allEnded(recorded);
    await demo.exit;
  }, 900_000);

  it('npm start -- --no-load sends nothing of its own; SIGINT to npm ends everything', async () => {
    const data = tempData();
    const demo = await startThroughNpm('npm start', data, ['--no-load']);
    children.push(demo.child);
    await waitFor('the demo to be ready', () => demo.out().includes(READY), {
      timeoutMs: 240_000,
      everyMs: 200,
    });
    remember(data);
    expect(demo.out()).toContain('background load: off (--no-load)');
    expect(demo.out()).toMatch(/\$ npx turnout load --edge \S+ --host shop\.localhost --rate 10/);

    // Exactly what this test sends reaches shop: nothing else runs meanwhile.
    const before = await shopRequests(demo.admin);
    const sent = await bin(
      ['load', '--edge', demo.edge, '--max-requests', '15', '--rate', '5', '--json'],
      {},
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ requests: 15, ok: 15 });
    expect((await shopRequests(demo.admin)) - before).toBe(15);

    const recorded = running(recordedPids(data));
    expect(recorded.size).toBeGreaterThanOrEqual(7); // demo, proxy, 5 instances
    demo.child.kill('SIGINT');
    await allEnded(recorded);
    await demo.exit;
  }, 600_000);
});
