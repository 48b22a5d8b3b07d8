// Contract: hosts of the fleet. Registration (new, again with changes, again unchanged), heartbeats
// that move the lease without a change (or bring a down host back, audited), operator states that
// survive a registration, validation that names the field and changes nothing.

import { describe, expect, it } from 'vitest';
import { ACTOR, expectError } from './fixtures.js';
import type { ContractEnv } from './store-contract.js';

const A1 = { name: 'a1.example', address: '10.0.0.11', labels: { zone: 'a' }, capacity: 8 };

export function hostTests(env: ContractEnv): void {
  describe('hosts', () => {
    it('registers a host as ready, audited and counted; again unchanged writes nothing', async () => {
      const s = env.store();
      const v0 = await s.changeVersion();
      const h = await s.registerHost(A1, 'agent-a1');
      expect(h).toMatchObject({ ...A1, state: 'ready', leaseExpiresAt: null });
      expect(await s.getHost('a1.example')).toEqual(h);
      const v1 = await s.changeVersion();
      expect(v1).toBe(v0 + 1);
      expect(await s.registerHost(A1, 'agent-a1')).toEqual(h);
      expect(await s.changeVersion()).toBe(v1);
      const audit = (await s.listAudit({ target: 'host/a1.example' })).items;
      expect(audit.map((e) => [e.action, e.actor])).toEqual([['host.register', 'agent-a1']]);
    });

    it('a heartbeat moves the lease without counting a change', async () => {
      const s = env.store();
      await s.registerHost(A1, 'agent-a1');
      const v = await s.changeVersion();
      const until = new Date(Date.now() + 10_000).toISOString();
      const h = await s.renewHostLease('a1.example', until, 'agent-a1');
      expect(h.leaseExpiresAt).toBe(until);
      expect((await s.getHost('a1.example'))?.leaseExpiresAt).toBe(until);
      expect(await s.changeVersion()).toBe(v);
    });

    it('keeps an operator cordon across registrations and across being down', async () => {
      const s = env.store();
      await s.registerHost(A1, 'agent-a1');
      expect((await s.setHostState('a1.example', 'cordoned', 'ada')).state).toBe('cordoned');
      const again = await s.registerHost({ ...A1, labels: { zone: 'a', gpu: 'yes' } }, 'agent-a1');
      expect(again).toMatchObject({ state: 'cordoned', labels: { zone: 'a', gpu: 'yes' } });

      await s.setHostState('a1.example', 'down', 'registry');
      const v = await s.changeVersion();
      const until = new Date(Date.now() + 10_000).toISOString();
      const back = await s.renewHostLease('a1.example', until, 'agent-a1');
      // Lost and back: still cordoned (the sweeper's down does not overwrite the operator's cordon).
      expect(back).toMatchObject({ state: 'cordoned', leaseExpiresAt: until });
      expect((await s.getHost('a1.example'))?.state).toBe('cordoned');
      expect(await s.changeVersion()).toBe(v + 1);
      const actions = (await s.listAudit({ target: 'host/a1.example' })).items.map((e) => e.action);
      expect(actions).toEqual([
        'host.register',
        'host.cordoned',
        'host.register',
        'host.down',
        'host.up',
      ]);
      // The same state again writes nothing.
      const v2 = await s.changeVersion();
      await s.setHostState('a1.example', 'cordoned', 'ada');
      expect(await s.changeVersion()).toBe(v2);
    });

    it('a host down and back returns to the state it had: a drain by registering, ready by a heartbeat', async () => {
      const s = env.store();
      await s.registerHost(A1, 'agent-a1');
      await s.setHostState('a1.example', 'draining', 'ada');
      await s.setHostState('a1.example', 'down', 'registry');
      expect((await s.registerHost(A1, 'agent-a1')).state).toBe('draining');
      await s.setHostState('a1.example', 'ready', 'ada');
      await s.setHostState('a1.example', 'down', 'registry');
      const until = new Date(Date.now() + 10_000).toISOString();
      expect((await s.renewHostLease('a1.example', until, 'agent-a1')).state).toBe('ready');
      // Down twice in a row keeps what it held; an operator's state on a down host replaces it.
      await s.setHostState('a1.example', 'cordoned', 'ada');
      await s.setHostState('a1.example', 'down', 'registry');
      await s.setHostState('a1.example', 'down', 'registry');
      expect((await s.renewHostLease('a1.example', until, 'agent-a1')).state).toBe('cordoned');
      await s.setHostState('a1.example', 'down', 'registry');
      await s.setHostState('a1.example', 'ready', 'ada');
      await s.setHostState('a1.example', 'down', 'registry');
      expect((await s.renewHostLease('a1.example', until, 'agent-a1')).state).toBe('ready');
    });

    it('lists hosts by name, filtered by state, a page at a time', async () => {
      const s = env.store();
      for (const name of ['c.example', 'a.example', 'b.example'])
        await s.registerHost({ name, address: '10.0.0.1' }, 'agent');
      await s.setHostState('b.example', 'draining', 'ada');
      const first = await s.listHosts({ limit: 2 });
      expect(first.items.map((h) => h.name)).toEqual(['a.example', 'b.example']);
      const rest = await s.listHosts({ limit: 2, cursor: first.nextCursor ?? undefined });
      expect(rest.items.map((h) => h.name)).toEqual(['c.example']);
      expect((await s.listHosts({ state: 'draining' })).items.map((h) => h.name)).toEqual([
        'b.example',
      ]);
      expect((await s.getHost('a.example'))?.labels).toEqual({});
    });

    it.each([
      [{ ...A1, name: 'A1' }, 'name', /lower-case DNS name/],
      [{ ...A1, address: '10.0.0.1:8080' }, 'address', /without a port/],
      [{ ...A1, labels: { 'Zone!': 'a' } }, 'labels.Zone!', /label key/],
      [{ ...A1, labels: { zone: 'a b' } }, 'labels.zone', /label value/],
      [{ ...A1, capacity: 0 }, 'capacity', /./],
      [{ ...A1, extra: 1 }, 'extra', /./],
    ])(
      'refuses a bad registration (%#) naming the field, changing nothing',
      async (input, field, reason) => {
        const s = env.store();
        const v = await s.changeVersion();
        await expectError(s.registerHost(input as never, ACTOR), 'invalid_config', field, reason);
        expect(await s.changeVersion()).toBe(v);
        expect((await s.listHosts()).items).toEqual([]);
      },
    );

    it('answers not_found for a host that never registered', async () => {
      const s = env.store();
      const until = new Date(Date.now() + 1_000).toISOString();
      await expectError(s.renewHostLease('nope.example', until, 'agent'), 'not_found', undefined);
      await expectError(s.setHostState('nope.example', 'cordoned', 'ada'), 'not_found', undefined);
    });
  });
}
