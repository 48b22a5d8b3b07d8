// `turnout demo` on the real bin: the tour end to end under load (every check holds, zero failed
// requests outside the faulty lane), and the plain demo: ready with what to try next, Ctrl-C
// stops everything it started, a second run resumes, --fresh starts over.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import type { LocalRun } from '../support/local.js';
import { endLocal, spawnLocal } from '../support/local.js';
import { waitFor } from '../support/release-stack.js';

/** The demo on free ports, run from a folder that is not the repo: it finds its examples itself. */
const demo = (data: string, ...extra: string[]): Promise<LocalRun> =>
  spawnLocal('demo', data, extra, { cwd: tmpdir() });

function instancePids(data: string): number[] {
  const dir = join(data, 'instances');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number }).pid);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('turnout demo', () => {
  const dirs: string[] = [];
  const runs: [LocalRun, string][] = [];
  const tempData = () => {
    const d = mkdtempSync(join(tmpdir(), 'turnout-demo-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    await ensureBuilt();
  }, 120_000);

  // A failed or timed-out test must not leave the demo's proxy and instances running: they are
  // detached (they outlive the demo), so the clean-up ends what each run's records name too.
  afterAll(async () => {
    for (const [run, data] of runs) await endLocal(run, data);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('--tour tells the whole story under load, every check holds, and it stops what it started', async () => {
    const data = tempData();
    const run = await demo(data, '--tour', '--json');
    runs.push([run, data]);
    const code = await Promise.race([
      run.exit,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 240_000)),
    ]);
    const lines = run
      .out()
      .split('\n')
      .filter((l) => l.startsWith('{"event"'))
      .map(
        (l) =>
          JSON.parse(l) as {
            event: string;
            title?: string;
            what?: string;
            ok?: boolean;
            detail?: string;
          },
      );
    const checks = lines.filter((l) => l.event === 'check');
    const failed = checks.filter((c) => c.ok !== true);
    expect(failed, run.out().slice(-3000)).toEqual([]);
    expect(code, run.out().slice(-3000)).toBe(0);
    const titles = lines.filter((l) => l.event === 'step').map((l) => l.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'A ticket for shop changing orders and account; pre-release by header',
        'Canary: 10 % of users, then 50 %, with analysis against stable',
        'A faulty build: orders 2.1.0 answers 500 half the time',
        'Promote, then roll back',
        'Reclaim',
      ]),
    );
    expect(checks.length).toBeGreaterThanOrEqual(12);
    const summary = checks.find((c) =>
      c.what?.startsWith('no request outside the faulty canary failed'),
    );
    expect(summary?.detail).toMatch(/, 0 failed outside the faulty lane, [1-9]\d* inside it$/);
    // Each step shows the command a user would type.
    expect(lines.filter((l) => l.event === 'command').length).toBeGreaterThanOrEqual(8);
    // Nothing left running.
    for (const pid of instancePids(data)) expect(alive(pid)).toBe(false);
  }, 300_000);

  it('runs until Ctrl-C, which stops everything; a second run resumes; --fresh starts over', async () => {
    const data = tempData();
    const first = await demo(data);
    runs.push([first, data]);
    await waitFor(
      'the demo to be ready',
      async () => first.out().includes('Ctrl-C stops everything the demo started'),
      120_000,
    );
    expect(first.out()).toContain("curl -H 'Host: shop.localhost'");
    expect(first.out()).toContain(
      'npx turnout release create shop --set orders=2.0.0 --set account=2.0.0',
    );
    const res = await request(first.edge, { headers: { host: 'shop.localhost' } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({
      service: 'web',
      version: '1.0.0',
      calls: [{ service: 'orders', version: '1.0.0' }, { service: 'catalog' }],
    });
    const pids = instancePids(data);
    expect(pids).toHaveLength(5); // web, orders, account, catalog, console (account is shared)
    first.child.kill('SIGINT');
    expect(await first.exit).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);

    const second = await demo(data);
    runs.push([second, data]);
    await waitFor(
      'the second demo',
      async () => second.out().includes('Ctrl-C stops everything the demo started'),
      120_000,
    );
    expect(second.out()).toContain('examples/shop.yaml already applied');
    expect(second.out()).toContain('shop: already released');
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);

    const fresh = await demo(data, '--fresh');
    runs.push([fresh, data]);
    await waitFor(
      'the fresh demo',
      async () => fresh.out().includes('Ctrl-C stops everything the demo started'),
      120_000,
    );
    expect(fresh.out()).toContain('applied examples/shop.yaml');
    expect(fresh.out()).toContain('shop: v1 promoted');
    fresh.child.kill('SIGINT');
    expect(await fresh.exit).toBe(0);
  }, 300_000);
});
