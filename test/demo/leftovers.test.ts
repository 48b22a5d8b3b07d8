// What a `turnout demo` killed with SIGKILL leaves: its proxy and instances run on (detached on
// purpose, like `up`'s: they outlive a control plane that cannot stop them, and the next run in the
// same folder adopts them). The tests' clean-up (endLocal) ends them too, so a failed or timed-out
// demo test leaves nothing running; and the next demo in the folder adopts them, and its Ctrl-C
// stops all of it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSameProcess } from '../../src/runtime/process-identity.js';
import { ensureBuilt } from '../support/build.js';
import type { Listeners, LocalRun } from '../support/local.js';
import { endLocal, freeListeners, leftovers, spawnLocal } from '../support/local.js';
import { waitFor } from '../support/wait.js';

const READY = 'Ctrl-C stops everything the demo started';
const LONG = { timeoutMs: 120_000, everyMs: 100 };

describe('what a killed demo leaves', () => {
  const runs: [LocalRun, string][] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    await ensureBuilt();
  }, 120_000);

  afterAll(async () => {
    for (const [run, data] of runs) await endLocal(run, data);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function demo(data: string, at?: Listeners): Promise<LocalRun> {
    const run = await spawnLocal('demo', data, ['--no-load'], {
      cwd: tmpdir(),
      ...(at === undefined ? {} : { at }),
    });
    runs.push([run, data]);
    await waitFor('the demo to be ready', () => run.out().includes(READY), LONG);
    return run;
  }

  function tempData(): string {
    const d = mkdtempSync(join(tmpdir(), 'turnout-demo-left-'));
    dirs.push(d);
    return d;
  }

  it("the tests' clean-up ends the proxy and the instances of a demo killed with SIGKILL", async () => {
    const data = tempData();
    const run = await demo(data);
    const left = leftovers(data);
    expect(left).toHaveLength(6); // web, orders, account, catalog, console and the proxy
    run.child.kill('SIGKILL');
    await run.exit;
    // Detached: the demo's death alone does not end them.
    for (const p of left) expect(isSameProcess(p.pid, p.processStart)).toBe(true);
    await endLocal(run, data);
    await waitFor(
      'every process the demo left to end',
      () => left.every((p) => !isSameProcess(p.pid, p.processStart)),
      LONG,
    );
  }, 240_000);

  it('the next demo in the folder adopts what a SIGKILL left, and its Ctrl-C stops all of it', async () => {
    const data = tempData();
    const at = await freeListeners();
    const first = await demo(data, at);
    const left = leftovers(data);
    expect(left).toHaveLength(6);
    first.child.kill('SIGKILL');
    await first.exit;
    const second = await demo(data, at);
    expect(second.out()).toContain('5 instance(s) adopted');
    second.child.kill('SIGINT');
    expect(await second.exit).toBe(0);
    for (const p of left) expect(isSameProcess(p.pid, p.processStart)).toBe(false);
    expect(leftovers(data)).toEqual([]);
  }, 240_000);
});
