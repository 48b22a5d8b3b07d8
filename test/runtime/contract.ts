// The behaviour every Runtime driver must show (process now; agent and Kubernetes later), as one
// suite a driver's test file runs with its own factory. Instances are real and answer HTTP.

import { afterEach, describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import type {
  InstanceExited,
  InstanceSpec,
  RunningInstance,
  Runtime,
} from '../../src/runtime/runtime.js';
import { alive, FIXTURES, get, inFlightGet, killAll, SERVICE, waitFor } from './support.js';

export interface RuntimeUnderTest {
  runtime: Runtime;
}

/** Backoff the factory must configure, so restarts are quick enough to watch. */
export const TEST_BACKOFF = { initialMs: 200, maxMs: 1600, resetAfterMs: 60_000 };

export function serviceSpec(id: string, env: Record<string, string> = {}): InstanceSpec {
  const [module = id, version = '1.0.0'] = id.split('-');
  const serviceEnv = { SERVICE_NAME: module, SERVICE_VERSION: version, ...env };
  return {
    id,
    module,
    version,
    run: { command: process.execPath, args: [SERVICE], cwd: null, env: serviceEnv },
  };
}

export function fixtureSpec(id: string, env: Record<string, string> = {}): InstanceSpec {
  const run = { command: process.execPath, args: [`${FIXTURES}/instance.mjs`], cwd: null, env };
  return { id, module: 'fixture', version: '1.0.0', run };
}

export function runtimeContract(name: string, open: () => Promise<RuntimeUnderTest>): void {
  describe(`${name} runtime contract`, () => {
    let current: Runtime | null = null;
    const pids: number[] = [];

    async function runtime(): Promise<Runtime> {
      current = (await open()).runtime;
      return current;
    }

    async function started(r: Runtime, spec: InstanceSpec): Promise<RunningInstance> {
      const instance = await r.start(spec);
      pids.push(instance.pid);
      await waitFor(`${spec.id} to answer`, () =>
        get(instance.address, '/healthz').then(
          () => true,
          () => false,
        ),
      );
      return instance;
    }

    afterEach(async () => {
      const r = current;
      current = null;
      if (r !== null) {
        for (const i of r.list()) pids.push(i.pid);
        await Promise.all(r.list().map((i) => r.stop(i.id, { deadlineMs: 1000 })));
        await r.close();
      }
      killAll(pids); // anything a failed test left behind
    });

    it('starts two instances on distinct ports, each answering HTTP', async () => {
      const r = await runtime();
      const orders = await started(r, serviceSpec('orders-2.0.0'));
      const account = await started(r, serviceSpec('account-1.4.0'));
      expect(orders.address).not.toBe(account.address);
      expect(orders.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect((await get(orders.address)).json()).toMatchObject({
        service: 'orders',
        version: '2.0.0',
      });
      expect((await get(account.address)).json()).toMatchObject({
        service: 'account',
        version: '1.4.0',
      });
      expect(
        r
          .list()
          .map((i) => i.id)
          .sort(),
      ).toEqual(['account-1.4.0', 'orders-2.0.0']);
    });

    it('answers the running instance when started again with the same id, even concurrently', async () => {
      const r = await runtime();
      const spec = serviceSpec('orders-2.0.0');
      const [a, b] = await Promise.all([r.start(spec), r.start(spec)]);
      pids.push(a.pid, b.pid);
      const c = await r.start(spec);
      expect(b.pid).toBe(a.pid);
      expect(c).toEqual(a);
      expect(r.list()).toHaveLength(1);
      await expect(r.start({ ...spec, version: '3.0.0' })).rejects.toThrow(
        /already runs orders 2.0.0/,
      );
    });

    it('stops gracefully: the request in flight completes before the process exits', async () => {
      const r = await runtime();
      const orders = await started(r, serviceSpec('orders-2.0.0', { FAULT_LATENCY_MS: '1000' }));
      let answeredAt = 0;
      const inFlight = (await inFlightGet(orders.address, '/slow')).answer.then((a) => {
        answeredAt = Date.now();
        return a;
      });
      await r.stop(orders.id, { deadlineMs: 5000 });
      const stoppedAt = Date.now();
      expect((await inFlight).status).toBe(200);
      expect(answeredAt).toBeGreaterThan(0);
      expect(stoppedAt).toBeGreaterThanOrEqual(answeredAt);
      expect(alive(orders.pid)).toBe(false);
      expect(r.list()).toEqual([]);
      await r.stop(orders.id); // again: already stopped
      await r.stop('never-started');
    });

    it('starts afresh when started while a stop is still under way', async () => {
      const r = await runtime();
      const spec = fixtureSpec('again', { IGNORE_SIGTERM: '1' });
      const first = await started(r, spec);
      const stopping = r.stop(spec.id, { deadlineMs: 500 });
      const second = await started(r, spec);
      await stopping;
      expect(second.pid).not.toBe(first.pid);
      expect(alive(first.pid)).toBe(false);
      expect((await get(second.address)).json().pid).toBe(second.pid);
      expect(r.list()).toEqual([second]);
    });

    it('stops an instance whose start was still under way when stop was called', async () => {
      const r = await runtime();
      const starting = r.start(fixtureSpec('brief'));
      await r.stop('brief', { deadlineMs: 1000 });
      const instance = await starting;
      pids.push(instance.pid);
      expect(alive(instance.pid)).toBe(false);
      expect(r.list()).toEqual([]);
    });

    it('escalates to SIGKILL once the deadline passes for a process that ignores SIGTERM', async () => {
      const r = await runtime();
      const stubborn = await started(r, fixtureSpec('stubborn', { IGNORE_SIGTERM: '1' }));
      const t = Date.now();
      await r.stop(stubborn.id, { deadlineMs: 600 });
      expect(Date.now() - t).toBeGreaterThanOrEqual(590);
      expect(alive(stubborn.pid)).toBe(false);
      expect(await r.logs(stubborn.id)).toContain('fixture: SIGTERM ignored');
    });

    it('restarts a crashed instance after a backoff, on the same port', async () => {
      const r = await runtime();
      const exits: InstanceExited[] = [];
      const restarts: RunningInstance[] = [];
      r.on('exited', (e) => exits.push(e));
      r.on('restarted', (i) => {
        pids.push(i.pid);
        restarts.push(i);
      });
      const first = await started(r, fixtureSpec('crashy'));
      await get(first.address, '/crash');
      const crashedAt = Date.now();
      await waitFor('the restart', () => restarts.length === 1);
      expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(TEST_BACKOFF.initialMs - 5);
      expect(exits[0]).toMatchObject({ id: 'crashy', pid: first.pid, code: 3, restartInMs: 200 });
      const again = restarts[0]!;
      expect(again).toMatchObject({ id: 'crashy', address: first.address, restarts: 1 });
      expect(again.pid).not.toBe(first.pid);
      await waitFor('the new process to answer', () =>
        get(again.address).then(
          (a) => a.json().pid === again.pid,
          () => false,
        ),
      );
      expect(r.list()[0]).toEqual(again);
    });

    it('doubles the backoff while an instance keeps crashing, and a stop ends the loop', async () => {
      const r = await runtime();
      const exits: { at: number; e: InstanceExited }[] = [];
      const restartedAt: number[] = [];
      r.on('exited', (e) => exits.push({ at: Date.now(), e }));
      r.on('restarted', (i) => {
        pids.push(i.pid);
        restartedAt.push(Date.now());
      });
      await started(r, fixtureSpec('crashloop', { EXIT_AFTER_MS: '100' }));
      await waitFor('three restarts', () => restartedAt.length === 3, 15_000);
      expect(exits.slice(0, 3).map((x) => x.e.restartInMs)).toEqual([200, 400, 800]);
      for (let i = 0; i < 3; i++) {
        expect(restartedAt[i]! - exits[i]!.at).toBeGreaterThanOrEqual(exits[i]!.e.restartInMs! - 5);
      }
      await r.stop('crashloop', { deadlineMs: 1000 });
      const seen = restartedAt.length;
      await new Promise((w) => setTimeout(w, 1800)); // past the next backoff
      expect(restartedAt).toHaveLength(seen);
      expect(r.list()).toEqual([]);
    });

    it('returns the tail of what the instance printed on stdout and stderr', async () => {
      const r = await runtime();
      const orders = await started(r, serviceSpec('orders-2.0.0'));
      const log = await r.logs(orders.id);
      expect(log).toMatch(/orders 2\.0\.0 listening on 127\.0\.0\.1:\d+/);
      const stubborn = await started(r, fixtureSpec('stubborn', { IGNORE_SIGTERM: '1' }));
      process.kill(stubborn.pid, 'SIGTERM'); // prints a second line
      await waitFor('the second line', async () => (await r.logs(stubborn.id)).includes('ignored'));
      expect(await r.logs(stubborn.id, { tailLines: 1 })).toBe('fixture: SIGTERM ignored\n');
      await expect(r.logs('nobody')).rejects.toMatchObject({ code: 'not_found' });
    });

    it('fails start clearly when the command does not exist', async () => {
      const r = await runtime();
      const spec = fixtureSpec('broken');
      spec.run.command = 'turnout-no-such-command';
      const failure = await r.start(spec).then(
        () => null,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(TurnoutError);
      expect(failure).toMatchObject({ code: 'instance_start_failed' });
      expect((failure as Error).message).toContain('"turnout-no-such-command" not found');
      expect(r.list()).toEqual([]);
    });
  });
}
