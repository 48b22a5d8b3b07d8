// Contract: assignments (the control plane's wish that an instance run on a host) and the host's
// binding to the agent token that registered it. Wishes are audited and counted; an agent's
// reports are neither; bad input names the field and changes nothing.

import { describe, expect, it } from 'vitest';
import type { AssignmentInput, AssignmentReport } from '../../src/store/assignment-model.js';
import type { Store } from '../../src/store/store.js';
import { expectError, seed } from './fixtures.js';
import type { ContractEnv } from './store-contract.js';

const H1 = { name: 'h1.example', address: '10.0.0.11', labels: { zone: 'a' } };
const H2 = { name: 'h2.example', address: '10.0.0.12', labels: { zone: 'b' } };

const A: AssignmentInput = {
  id: 'orders-1.0.0-a1',
  host: 'h1.example',
  module: 'orders',
  version: '1.0.0',
  run: { command: 'node', args: ['server.js'], cwd: null, env: { PORT: '0' } },
  health: { path: '/healthz', intervalMs: 1000 },
};

const RUNNING: AssignmentReport = {
  phase: 'running',
  address: '10.0.0.11:41000',
  pid: 4242,
  startedAt: '2026-01-01T00:00:00.000Z',
  restarts: 0,
  health: 'healthy',
  lastExit: null,
  error: null,
  logTail: ['listening on 41000'],
};

async function fleet(s: Store): Promise<void> {
  await seed(s);
  await s.registerHost(H1, 'agent-h1', 'agent-h1');
  await s.registerHost(H2, 'agent-h2', 'agent-h2');
}

async function everything(s: Store) {
  return {
    version: await s.changeVersion(),
    assignments: await s.listAssignments(),
    audit: (await s.listAudit({ limit: 1000 })).items.length,
  };
}

export function assignmentTests(env: ContractEnv): void {
  describe('assignments', () => {
    it('creates one pending with desired run, audited and counted; the same again writes nothing', async () => {
      const s = env.store();
      await fleet(s);
      const v0 = await s.changeVersion();
      const a = await s.createAssignment(A, 'engine');
      expect(a).toMatchObject({
        ...A,
        desired: 'run',
        status: { phase: 'pending', address: null, logTail: [], reportedAt: null },
      });
      expect(await s.getAssignment(A.id)).toEqual(a);
      expect(await s.changeVersion()).toBe(v0 + 1);
      expect(await s.createAssignment(A, 'engine')).toEqual(a);
      expect(await s.changeVersion()).toBe(v0 + 1);
      const audit = (await s.listAudit({ target: `assignment/${A.id}` })).items;
      expect(audit.map((e) => [e.action, e.actor])).toEqual([['assignment.create', 'engine']]);
    });

    it('refuses the same id with other content as a conflict, changing nothing', async () => {
      const s = env.store();
      await fleet(s);
      await s.createAssignment(A, 'engine');
      const before = await everything(s);
      await expectError(
        s.createAssignment({ ...A, host: 'h2.example' }, 'engine'),
        'conflict',
        'id',
        /already exists/,
      );
      expect(await everything(s)).toEqual(before);
    });

    it.each([
      [{ ...A, id: '-bad' }, 'id', /instance id/],
      [{ ...A, host: 'nope.example' }, 'host', /unknown host/],
      [{ ...A, version: '9.9.9' }, 'version', /unknown version/],
      [{ ...A, run: { command: '' } }, 'run.command', /command is empty/],
      [{ ...A, health: { path: 'healthz', intervalMs: 1000 } }, 'health.path', /starts with \//],
      [{ ...A, extra: 1 }, 'extra', /not a known field/],
    ])(
      'refuses a bad assignment (%#) naming the field, changing nothing',
      async (input, field, reason) => {
        const s = env.store();
        await fleet(s);
        const before = await everything(s);
        await expectError(
          s.createAssignment(input as never, 'engine'),
          'invalid_config',
          field,
          reason,
        );
        expect(await everything(s)).toEqual(before);
      },
    );

    it('sets desired stop, audited and counted; the same value again writes nothing', async () => {
      const s = env.store();
      await fleet(s);
      await s.createAssignment(A, 'engine');
      const v = await s.changeVersion();
      const stopped = await s.setAssignmentDesired(A.id, 'stop', 'engine');
      expect(stopped.desired).toBe('stop');
      expect(await s.changeVersion()).toBe(v + 1);
      await s.setAssignmentDesired(A.id, 'stop', 'engine');
      expect(await s.changeVersion()).toBe(v + 1);
      const actions = (await s.listAudit({ target: `assignment/${A.id}` })).items.map(
        (e) => e.action,
      );
      expect(actions).toEqual(['assignment.create', 'assignment.stop']);
      await expectError(s.setAssignmentDesired('nope', 'stop', 'engine'), 'not_found', undefined);
      await expectError(
        s.setAssignmentDesired(A.id, 'halt' as never, 'engine'),
        'invalid_config',
        undefined,
        /desired/,
      );
    });

    it('stores a report stamped with reportedAt, neither audited nor counted', async () => {
      const s = env.store();
      await fleet(s);
      await s.createAssignment(A, 'engine');
      const before = await everything(s);
      const reported = await s.reportAssignment(A.id, 'h1.example', RUNNING);
      expect(reported.status).toMatchObject({ ...RUNNING, reportedAt: expect.any(String) });
      expect(await s.getAssignment(A.id)).toEqual(reported);
      const after = await everything(s);
      expect([after.version, after.audit]).toEqual([before.version, before.audit]);
      // Defaults fill what a short report leaves out.
      const failed = await s.reportAssignment(A.id, 'h1.example', {
        phase: 'failed',
        error: 'spawn node ENOENT',
      });
      expect(failed.status).toMatchObject({
        phase: 'failed',
        address: null,
        restarts: 0,
        logTail: [],
      });
    });

    it('refuses a report from another host (not_found) or with a bad field, changing nothing', async () => {
      const s = env.store();
      await fleet(s);
      await s.createAssignment(A, 'engine');
      const before = await s.getAssignment(A.id);
      await expectError(s.reportAssignment(A.id, 'h2.example', RUNNING), 'not_found', undefined);
      await expectError(s.reportAssignment('nope', 'h1.example', RUNNING), 'not_found', undefined);
      await expectError(
        s.reportAssignment(A.id, 'h1.example', { ...RUNNING, logTail: ['x'.repeat(301)] }),
        'invalid_config',
        'logTail[0]',
        /300 characters/,
      );
      await expectError(
        s.reportAssignment(A.id, 'h1.example', { ...RUNNING, phase: 'dancing' as never }),
        'invalid_config',
        'phase',
      );
      await expectError(
        s.reportAssignment(A.id, 'h1.example', { ...RUNNING, address: '10.0.0.11' }),
        'invalid_config',
        'address',
        /host:port/,
      );
      expect(await s.getAssignment(A.id)).toEqual(before);
    });

    it('lists by id, filtered by host and by desired', async () => {
      const s = env.store();
      await fleet(s);
      await s.createAssignment({ ...A, id: 'c' }, 'engine');
      await s.createAssignment({ ...A, id: 'a', host: 'h2.example' }, 'engine');
      await s.createAssignment({ ...A, id: 'b' }, 'engine');
      await s.setAssignmentDesired('b', 'stop', 'engine');
      const ids = (list: { id: string }[]) => list.map((a) => a.id);
      expect(ids(await s.listAssignments())).toEqual(['a', 'b', 'c']);
      expect(ids(await s.listAssignments({ host: 'h1.example' }))).toEqual(['b', 'c']);
      expect(ids(await s.listAssignments({ host: 'h1.example', desired: 'run' }))).toEqual(['c']);
      expect(ids(await s.listAssignments({ desired: 'stop' }))).toEqual(['b']);
    });

    it('deletes one, audited and counted; a missing one is not_found', async () => {
      const s = env.store();
      await fleet(s);
      await s.createAssignment(A, 'engine');
      const v = await s.changeVersion();
      await s.deleteAssignment(A.id, 'engine');
      expect(await s.getAssignment(A.id)).toBeNull();
      expect(await s.changeVersion()).toBe(v + 1);
      await expectError(s.deleteAssignment(A.id, 'engine'), 'not_found', undefined);
      expect(await s.changeVersion()).toBe(v + 1);
    });

    it('rolls a report back with its transaction', async () => {
      const s = env.store();
      await fleet(s);
      await s.createAssignment(A, 'engine');
      const before = await s.getAssignment(A.id);
      await expect(
        s.transaction(async (tx) => {
          await tx.reportAssignment(A.id, 'h1.example', RUNNING);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await s.getAssignment(A.id)).toEqual(before);
    });
  });

  describe('host binding', () => {
    it('binds a host to the first agent token that registers it; another agent token is forbidden', async () => {
      const s = env.store();
      const h = await s.registerHost(H1, 'agent-a', 'agent-a');
      expect(h.registeredBy).toBe('agent-a');
      expect((await s.getHost(H1.name))?.registeredBy).toBe('agent-a');
      const before = await s.changeVersion();
      await expectError(
        s.registerHost({ ...H1, address: '10.9.9.9' }, 'agent-b', 'agent-b'),
        'forbidden',
        undefined,
        /bound to agent token agent-a/,
      );
      expect(await s.changeVersion()).toBe(before);
      expect((await s.getHost(H1.name))?.address).toBe(H1.address);
      // The same agent registers again; an admin (no agent) may too, and the binding stays.
      expect((await s.registerHost(H1, 'agent-a', 'agent-a')).registeredBy).toBe('agent-a');
      const byAdmin = await s.registerHost({ ...H1, capacity: 4 }, 'ada');
      expect(byAdmin).toMatchObject({ capacity: 4, registeredBy: 'agent-a' });
    });

    it('a host an admin registered is bound by the first agent that registers it', async () => {
      const s = env.store();
      expect((await s.registerHost(H2, 'ada')).registeredBy).toBeNull();
      expect((await s.registerHost(H2, 'agent-b', 'agent-b')).registeredBy).toBe('agent-b');
      await expectError(s.registerHost(H2, 'agent-c', 'agent-c'), 'forbidden', undefined);
    });
  });
}
