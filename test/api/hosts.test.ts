// /v1/hosts over real HTTP: an agent (agent token) registers its host and heartbeats; viewers
// read; only admins cordon, drain and uncordon; bad input names the field and changes nothing.

import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Api } from './harness.js';
import { startApi } from './harness.js';

let api: Api;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

const BODY = { address: '10.0.0.11', labels: { zone: 'a' }, capacity: 4 };

it('registers, heartbeats, lists and cordons a host, each by the role it needs', async () => {
  const put = await api.call('PUT', '/v1/hosts/a1.example', { as: 'agent', body: BODY });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  expect(put.body).toMatchObject({ name: 'a1.example', ...BODY, state: 'ready' });

  const beat = await api.call('POST', '/v1/hosts/a1.example/heartbeat', {
    as: 'agent',
    body: { ttlMs: 10_000 },
  });
  expect(beat.status).toBe(200);
  expect(Date.parse(beat.body.leaseExpiresAt)).toBeGreaterThan(Date.now());

  const list = await api.call('GET', '/v1/hosts', { as: 'viewer' });
  expect(list.body.items.map((h: { name: string }) => h.name)).toEqual(['a1.example']);

  expect((await api.call('POST', '/v1/hosts/a1.example/cordon', { as: 'releaser' })).status).toBe(
    403,
  );
  const cordoned = await api.call('POST', '/v1/hosts/a1.example/cordon', { as: 'admin' });
  expect(cordoned.body.state).toBe('cordoned');
  expect((await api.call('POST', '/v1/hosts/a1.example/drain', { as: 'admin' })).body.state).toBe(
    'draining',
  );
  const ready = await api.call('GET', '/v1/hosts?state=draining', { as: 'viewer' });
  expect(ready.body.items).toHaveLength(1);
  expect(
    (await api.call('POST', '/v1/hosts/a1.example/uncordon', { as: 'admin' })).body.state,
  ).toBe('ready');
  const audit = await api.call('GET', '/v1/audit?target=host/a1.example', { as: 'viewer' });
  expect(
    audit.body.items.map((e: { action: string; actor: string }) => `${e.action} ${e.actor}`),
  ).toEqual(['host.register agent-a', 'host.cordoned ada', 'host.draining ada', 'host.ready ada']);
});

it.each([
  ['PUT', '/v1/hosts/A1', BODY, 'name'],
  ['PUT', '/v1/hosts/a1.example', { ...BODY, address: '10.0.0.1:80' }, 'address'],
  ['PUT', '/v1/hosts/a1.example', { ...BODY, name: 'other' }, 'name'],
  ['PUT', '/v1/hosts/a1.example', { ...BODY, labels: { 'bad key': 'x' } }, 'labels.bad key'],
  ['POST', '/v1/hosts/a1.example/heartbeat', { ttlMs: 1 }, 'ttlMs'],
] as const)('%s %s refuses %j naming %s, changing nothing', async (method, path, body, field) => {
  const res = await api.call(method, path, { as: 'agent', body });
  expect(res.status).toBe(400);
  expect(res.body.error.field).toBe(field);
  expect((await api.call('GET', '/v1/hosts', { as: 'viewer' })).body.items).toEqual([]);
});

it('answers 404 for a heartbeat or cordon of a host that never registered', async () => {
  const beat = await api.call('POST', '/v1/hosts/nope.example/heartbeat', {
    as: 'agent',
    body: { ttlMs: 1_000 },
  });
  expect(beat.status).toBe(404);
  expect((await api.call('POST', '/v1/hosts/nope.example/cordon', { as: 'admin' })).status).toBe(
    404,
  );
  expect((await api.call('GET', '/v1/hosts/nope.example', { as: 'viewer' })).status).toBe(404);
});
