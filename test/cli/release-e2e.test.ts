// `turnout release` end to end: the real bin against a real `turnout up --insecure-local` (free
// ports, a temp data dir) running the release engine with the process runtime and the proxy with
// its edge and outbound listeners. examples/shop.yaml is applied; real example services start.
//
// Given shop's four modules at 1.0.0 promoted, when orders 2.0.0 is pre-released, then requests
// carrying the pre-release header see orders 2.0.0 and every other request still sees 1.0.0.

import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../runtime/support.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { spawnLocal } from '../support/local.js';
import { waitFor } from '../support/release-stack.js';
import type { CliRun } from '../support/turnout-up.js';
import { runTurnout } from '../support/turnout-up.js';

interface Answer {
  service: string;
  version: string;
  lane: string | null;
  calls: Answer[];
}

/** module@version of every service that answered, depth first: web, orders, account, catalog. */
function chain(a: Answer): string[] {
  return [`${a.service}@${a.version}`, ...(a.calls ?? []).flatMap(chain)];
}

describe('turnout release against turnout up', () => {
  let data: string;
  let up: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let output: () => string = () => '';
  let server = '';
  let edge = '';

  const cli = (...args: string[]): Promise<CliRun> =>
    // No TURNOUT_EDGE: the curl `release prerelease` prints names the edge `up` reports.
    runTurnout([...args, '--server', server]);
  const ok = async (...args: string[]): Promise<CliRun> => {
    const run = await cli(...args);
    expect(run.code, `${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
    return run;
  };
  const shop = async (headers: Record<string, string> = {}) => {
    const res = await request(`${edge}/`, { headers: { host: 'shop.localhost', ...headers } });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`edge answered ${res.statusCode}: ${text}`);
    return JSON.parse(text) as Answer;
  };
  const pids = () => {
    const dir = join(data, 'instances');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number }).pid);
  };

  beforeAll(async () => {
    await ensureBuilt();
    data = mkdtempSync(join(tmpdir(), 'turnout-release-'));
    const run = await spawnLocal('up', data, ['--insecure-local', '--json']);
    server = run.api;
    edge = run.edge;
    const child = run.child;
    output = run.out;
    up = child;
    exited = run.exit;
    await waitFor('the proxy admin /ready', async () => {
      if (child.exitCode !== null) throw new Error(`turnout up exited: ${run.out()}`);
      const res = await request(`${run.admin}/ready`);
      await res.body.text();
      return res.statusCode === 200;
    });
  }, 180_000);

  afterAll(async () => {
    // Only when the test failed before its own clean stop: never leave processes behind.
    if (up !== undefined && up.exitCode === null && up.signalCode === null) {
      const left = pids();
      up.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (up.exitCode === null && up.signalCode === null) up.kill('SIGKILL');
      for (const pid of left) if (alive(pid)) process.kill(-pid, 'SIGKILL');
    }
    rmSync(data, { recursive: true, force: true });
  }, 60_000);

  it('creates, promotes and pre-releases tickets; the edge serves the versions; stop ends every service', async () => {
    await ok('apply', '-f', join(ROOT, 'examples', 'shop.yaml'));

    // Given: shop's four modules at 1.0.0, promoted.
    const created = await ok(
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
      '--json',
    );
    const first = JSON.parse(created.stdout) as { id: number; state: string; goal: unknown };
    expect(first).toMatchObject({ id: 1, product: 'shop', state: 'open', goal: null });
    const promoted = await ok('release', 'promote', '1', '--wait');
    expect(promoted.stdout).toContain('ticket 1  product shop  state promoted');
    await waitFor(
      'the edge to route shop to 1.0.0',
      async () => (await shop()).version === '1.0.0',
    );
    expect(chain(await shop())).toEqual([
      'web@1.0.0',
      'orders@1.0.0',
      'account@1.0.0',
      'catalog@1.0.0',
    ]);

    // When: orders 2.0.0 is pre-released.
    const second = await ok('release', 'create', 'shop', '--set', 'orders=2.0.0');
    expect(second.stdout).toContain('ticket 2  product shop  state open');
    expect(second.stdout).toContain('next: turnout release deploy 2 --wait');
    const pre = await ok('release', 'prerelease', '2', '--wait');
    expect(pre.stdout).toContain('state prerelease');
    // The header's value is the ticket's random secret, printed for the releaser to share.
    const secret = (
      JSON.parse((await ok('release', 'status', '2', '--json')).stdout) as {
        prereleaseSecret: string;
      }
    ).prereleaseSecret;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(pre.stdout).toContain(
      `pre-release lane t-2 is live for requests carrying the header  x-prerelease: ${secret}`,
    );
    // The curl names shop's host and the real edge: pasted into a shell, it reaches the lane.
    const curl = pre.stdout.split('\n').find((l) => l.trim().startsWith('curl '));
    expect(curl?.trim()).toBe(
      `curl -H 'Host: shop.localhost' -H 'x-prerelease: ${secret}' ${edge}/`,
    );
    expect((await ok('release', 'status', '2')).stdout).toContain(
      `pre-release header  x-prerelease: ${secret}`,
    );

    // Then: the header reaches orders 2.0.0; everyone else, and a guess of t-2, still sees 1.0.0.
    await waitFor(
      'the lane to route orders to 2.0.0',
      async () => (await shop({ 'x-prerelease': secret })).calls[0]?.version === '2.0.0',
    );
    const pasted = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', curl ?? 'false'], { timeout: 30_000 }, (error, stdout) =>
        error === null ? resolve(stdout) : reject(error),
      ),
    );
    expect(chain(JSON.parse(pasted) as Answer)).toEqual([
      'web@1.0.0',
      'orders@2.0.0',
      'account@1.0.0',
      'catalog@1.0.0',
    ]);
    const inLane = await shop({ 'x-prerelease': secret });
    expect(chain(inLane)).toEqual(['web@1.0.0', 'orders@2.0.0', 'account@1.0.0', 'catalog@1.0.0']);
    expect(inLane.lane).toBe('t-2');
    const outside = await shop();
    expect(chain(outside)).toEqual(['web@1.0.0', 'orders@1.0.0', 'account@1.0.0', 'catalog@1.0.0']);
    expect(outside.lane).toBeNull();
    expect((await shop({ 'x-prerelease': 't-2' })).lane).toBeNull();

    // When the header is rotated, the new value reaches the lane and the old one no longer does.
    const rotated = await ok('release', 'rotate-header', '2');
    const fresh = /x-prerelease: (\S+)/.exec(rotated.stdout)?.[1] ?? '';
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(fresh).not.toBe(secret);
    await waitFor(
      'the rotated header to reach the lane',
      async () => (await shop({ 'x-prerelease': fresh })).lane === 't-2',
    );
    expect((await shop({ 'x-prerelease': secret })).lane).toBeNull();

    const status = JSON.parse((await ok('release', 'status', '2', '--json')).stdout) as {
      id: number;
      state: string;
      items: unknown[];
      instances: { id: string; state: string }[];
      events: { type: string; actor: string }[];
    };
    expect(status).toMatchObject({ id: 2, state: 'prerelease', goal: 'prerelease' });
    expect(status.items).toEqual([{ module: 'orders', version: '2.0.0' }]);
    expect(status.instances).toMatchObject([{ id: 'orders-2.0.0-0', state: 'ready' }]);
    expect(status.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['created', 'command.prerelease', 'prerelease', 'prerelease.rotated']),
    );
    expect(status.events.find((e) => e.type === 'command.prerelease')?.actor).toBe('local');

    // A command on a ticket that does not exist.
    const missing = await cli('release', 'promote', '99');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ticket 99 does not exist');
    expect(missing.stdout).toBe('');
    // A command the ticket's state refuses.
    const refused = await cli('release', 'approve', '2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'ticket 2: approve: approve is not possible while the ticket is prerelease',
    );

    // Stop: SIGTERM ends turnout up and every example service it started.
    const started = pids();
    expect(started).toHaveLength(5);
    for (const pid of started) expect(alive(pid), `pid ${pid}`).toBe(true);
    up?.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 40_000)),
    ]);
    expect(code, output()).toBe(0);
    // The control plane's and the proxy's logs (one process here) never print a header value.
    expect(output()).not.toContain(secret);
    expect(output()).not.toContain(fresh);
    await waitFor('the services to exit', async () => started.every((pid) => !alive(pid)), 20_000);
  }, 300_000);
});
