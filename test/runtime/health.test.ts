// Runtime.health, how an instance fares, from both runtimes: the process runtime counts a real
// crash-looping child's exits and reads its own log lines (its notes left out); the fleet runtime
// answers from the agent's report in the assignment status, on a real SQLite store.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetRuntime } from '../../src/release/fleet-runtime.js';
import type { ProcessRuntime } from '../../src/runtime/process-runtime.js';
import { openProcessRuntime } from '../../src/runtime/process-runtime.js';
import type { InstanceExited } from '../../src/runtime/runtime.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { fixtureSpec, TEST_BACKOFF } from './contract.js';
import { tempDir, waitFor } from './support.js';

describe('process runtime: health', () => {
  let runtime: ProcessRuntime | null = null;

  afterEach(async () => {
    await runtime?.stop('crashloop', { deadlineMs: 1000 });
    await runtime?.close();
  });

  it('counts the exits of a crash loop, the last exit, restarts, and the instance’s own last lines', async () => {
    runtime = await openProcessRuntime({ dataDir: tempDir('health'), backoff: TEST_BACKOFF });
    const exited: InstanceExited[] = [];
    runtime.on('exited', (e) => exited.push(e));
    expect(await runtime.health('crashloop')).toBeNull(); // not known yet
    await runtime.start(fixtureSpec('crashloop', { EXIT_AFTER_MS: '100' }));
    await waitFor('two exits', () => exited.length >= 2);
    // Counted synchronously with each `exited` event, so this many are counted by now.
    const seen = exited.length;
    const h = await runtime.health('crashloop');
    expect(h?.exits).toBe(seen);
    expect(h?.lastExit).toMatchObject({ code: 1, signal: null });
    expect(Date.parse(h?.lastExit?.at ?? '')).not.toBeNaN();
    expect(h?.restarts).toBeGreaterThanOrEqual(seen - 1);
    expect(h?.restarts).toBeLessThanOrEqual(seen);
    // The fixture prints one line a run; the runtime's "exited …; restarting" notes are left out.
    expect(h?.logTail.length).toBeGreaterThan(0);
    expect(h?.logTail.length).toBeLessThanOrEqual(5);
    for (const line of h?.logTail ?? []) expect(line).toMatch(/^fixture pid \d+ listening/);
    const raw = await runtime.logs('crashloop');
    expect(raw).toContain('[turnout '); // the notes are in the log, only health leaves them out
  });
});

describe('fleet runtime: health from the agent’s report', () => {
  let dir = '';
  let store: Store | null = null;

  afterEach(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function reported(status: Record<string, unknown>) {
    dir = tempDir('fleet-health');
    store = await openSqliteStore(join(dir, 'turnout.db'));
    await store.createOrg({ name: 'acme' }, 'rey');
    await store.createModule(
      { name: 'orders', org: 'acme', run: { process: { command: 'node' } } },
      'rey',
    );
    await store.createVersion({ module: 'orders', version: '2.0.0' }, 'rey');
    await store.registerHost({ name: 'h1', address: '10.0.0.1', labels: {} }, 'agent:h1');
    const run = { command: 'node', args: [], cwd: null, env: {} };
    await store.createAssignment(
      { id: 'orders-2.0.0-0', host: 'h1', module: 'orders', version: '2.0.0', run, health: null },
      'engine',
    );
    await store.reportAssignment('orders-2.0.0-0', 'h1', {
      phase: 'running',
      address: '10.0.0.1:20000',
      pid: 42,
      health: 'unknown',
      error: null,
      ...status,
    } as never);
    return new FleetRuntime({ store });
  }

  const tail = [
    'one',
    '[turnout 2026-12-06T10:00:00.000Z] orders-2.0.0-0: exited (code 3); restarting in 500 ms',
    'two',
    'three',
    'four',
    'five',
    'six',
  ];

  it('the process reported has exited after it started: restarts + 1 exits; its own last 5 lines', async () => {
    const fleet = await reported({
      startedAt: '2026-12-06T10:00:01.000Z',
      restarts: 2,
      lastExit: { code: 3, signal: null, at: '2026-12-06T10:00:02.000Z' },
      logTail: tail,
    });
    expect(await fleet.health('orders-2.0.0-0')).toEqual({
      exits: 3,
      restarts: 2,
      lastExit: { code: 3, signal: null, at: '2026-12-06T10:00:02.000Z' },
      logTail: ['two', 'three', 'four', 'five', 'six'],
    });
    expect(await fleet.health('no-such-instance')).toBeNull();
  });

  it('the process reported started after the last exit: as many exits as restarts', async () => {
    const fleet = await reported({
      startedAt: '2026-12-06T10:00:03.000Z',
      restarts: 2,
      lastExit: { code: null, signal: 'SIGKILL', at: '2026-12-06T10:00:02.000Z' },
      logTail: [],
    });
    expect(await fleet.health('orders-2.0.0-0')).toMatchObject({
      exits: 2,
      lastExit: { signal: 'SIGKILL' },
      logTail: [],
    });
  });
});
