// `turnout server` runs the release engine with the fleet runtime: a deploy writes an assignment
// for a host an agent registered (with the join token), the agent's status report makes the
// instance, and `turnout host describe` shows it on that host. The agent is played over the API
// with the join token, as `turnout agent` speaks it.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import type { RunningServer } from '../support/turnout-server.js';
import { call, startServer } from '../support/turnout-server.js';
import { freePort, runTurnout } from '../support/turnout-up.js';
import { waitFor } from '../support/wait.js';

let dir: string;
let server: RunningServer;
let admin: string;
let agent: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-server-fleet-'));
  server = await startServer(['--data', dir, '--listen', `127.0.0.1:${await freePort()}`]);
  admin = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  agent = readFileSync(join(dir, 'join-token'), 'utf8').trim();
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Assignment {
  id: string;
  host: string;
  module: string;
  version: string;
  desired: string;
}

describe('turnout server with agents', () => {
  it('places a deploy on a registered host and records the instance the agent reports', async () => {
    expect(server.summary.runtime).toBe(
      "fleet: the release engine places instances on the agents' hosts",
    );
    const api = (path: string, token: string, method: 'GET' | 'PUT' | 'POST', body?: unknown) =>
      call(`${server.url}${path}`, token, method, body);
    for (const [path, body] of [
      ['/v1/orgs', { name: 'acme' }],
      ['/v1/modules', { name: 'orders', org: 'acme', run: { process: { command: 'node' } } }],
      ['/v1/modules/orders/versions', { version: '1.0.0' }],
      [
        '/v1/products',
        { name: 'shop', org: 'acme', entry: 'orders', baseDtab: '/svc/orders => /v/orders/1.0.0;' },
      ],
    ] as const) {
      const r = await api(path, admin, 'POST', body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    // The agent registers its host and heartbeats (a long lease: the test must not race it).
    const put = await api('/v1/hosts/rack-a1', agent, 'PUT', {
      address: '10.0.0.1',
      labels: { zone: 'a' },
    });
    expect(put.status).toBe(200);
    expect(
      (await api('/v1/hosts/rack-a1/heartbeat', agent, 'POST', { ttlMs: 600_000 })).status,
    ).toBe(200);

    const ticket = await api('/v1/tickets', admin, 'POST', {
      product: 'shop',
      items: [{ module: 'orders', version: '1.0.0' }],
    });
    expect(ticket.status, JSON.stringify(ticket.body)).toBe(201);
    const id = (ticket.body as { id: number }).id;
    expect((await api(`/v1/tickets/${id}/deploy`, admin, 'POST')).status).toBe(200);

    const assigned = await waitFor('an assignment on rack-a1', async () => {
      const r = await api('/v1/hosts/rack-a1/assignments', agent, 'GET');
      const list = (r.body as { assignments: Assignment[] }).assignments;
      return list.find((a) => a.module === 'orders' && a.desired === 'run');
    });
    expect(assigned).toMatchObject({ host: 'rack-a1', version: '1.0.0' });

    // The agent reports it running; the engine registers the instance on that host.
    const status = {
      phase: 'running',
      address: '10.0.0.1:4001',
      pid: 4242,
      startedAt: new Date().toISOString(),
      restarts: 0,
      health: 'unknown',
      lastExit: null,
      error: null,
      logTail: [],
    };
    const reported = await api(
      `/v1/hosts/rack-a1/assignments/${assigned.id}/status`,
      agent,
      'PUT',
      status,
    );
    expect(reported.status, JSON.stringify(reported.body)).toBe(204);
    await waitFor('the instance registered on rack-a1', async () => {
      const r = await api('/v1/instances?host=rack-a1', admin, 'GET');
      return (r.body as { items: { id: string }[] }).items.some((i) => i.id === assigned.id);
    });

    const described = await runTurnout(['host', 'describe', 'rack-a1'], {
      env: { TURNOUT_SERVER: server.url, TURNOUT_TOKEN: admin },
    });
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('Agent:      token join\n');
    expect(described.stdout).toContain('Instances (1):\n');
    expect(described.stdout).toMatch(
      new RegExp(`${assigned.id}\\s+orders\\s+1\\.0\\.0\\s+10\\.0\\.0\\.1:4001`),
    );
  });
});
