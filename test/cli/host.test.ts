// `turnout host list | describe | cordon | drain | uncordon` against a real `turnout server`, with
// hosts registered through the API (PUT /v1/hosts/:name, as an agent does) and an instance a
// deploy placed on one of them (the agent's report played with the admin token): tables with
// human headers and ages, --json as the API answers, and errors as every other command (the API's
// code and message, exit code, nothing changed).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeHostText, hostRow, leaseText } from '../../src/cli/host-command.js';
import type { HostRecord } from '../../src/client/api-client.js';
import { ensureBuilt } from '../support/build.js';
import type { RunningServer } from '../support/turnout-server.js';
import { call, placeInstance, startServer } from '../support/turnout-server.js';
import { freePort, runTurnout } from '../support/turnout-up.js';

let dir: string;
let server: RunningServer;
let admin: string;
let instance: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-host-'));
  server = await startServer(['--data', dir, '--listen', `127.0.0.1:${await freePort()}`]);
  admin = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  const put = (name: string, body: unknown) =>
    call(`${server.url}/v1/hosts/${name}`, admin, 'PUT', body);
  expect(
    (await put('rack-a1', { address: '10.0.0.1', labels: { zone: 'a' }, capacity: 4 })).status,
  ).toBe(200);
  expect(
    (await put('rack-b1', { address: '10.0.0.2', labels: { zone: 'b', gpu: 'yes' } })).status,
  ).toBe(200);
  const beat = await call(`${server.url}/v1/hosts/rack-a1/heartbeat`, admin, 'POST', {
    ttlMs: 600_000,
  });
  expect(beat.status).toBe(200);
  // An instance on rack-a1 (the only host with a lease), placed there by a deploy.
  instance = await placeInstance(server.url, { admin, agent: admin }, 'rack-a1', '10.0.0.1:4001');
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const host = (...args: string[]) =>
  runTurnout(['host', ...args], { env: { TURNOUT_SERVER: server.url, TURNOUT_TOKEN: admin } });

describe('turnout host', () => {
  it('list: a table with human headers, instances against capacity, lease and age', async () => {
    const run = await host('list');
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'NAME',
      'ADDRESS',
      'STATE',
      'LABELS',
      'INSTANCES',
      'LEASE',
      'AGE',
    ]);
    expect(rows.map((r) => r.split(/\s{2,}/).slice(0, 5))).toEqual([
      ['rack-a1', '10.0.0.1', 'ready', 'zone=a', '1/4'],
      ['rack-b1', '10.0.0.2', 'ready', 'zone=b,gpu=yes', '0'],
    ]);
    expect(rows[0]).toMatch(/expires in \d+m\s+\d+s$/);
    expect(rows[1]).toMatch(/none\s+\d+s$/);
  });

  it('list --json answers the hosts as the API does; --state filters', async () => {
    const run = await host('list', '--json');
    expect(run.code).toBe(0);
    const hosts = JSON.parse(run.stdout) as HostRecord[];
    expect(hosts.map((h) => [h.name, h.capacity, h.labels])).toEqual([
      ['rack-a1', 4, { zone: 'a' }],
      ['rack-b1', null, { zone: 'b', gpu: 'yes' }],
    ]);
    const down = await host('list', '--state', 'down');
    expect(down).toMatchObject({ code: 0, stdout: 'No resources found.\n' });
  });

  it('describe: labels, capacity, lease and the instances on the host', async () => {
    const run = await host('describe', 'rack-a1');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Host:       rack-a1\n');
    expect(run.stdout).toContain('Labels:     zone=a\n');
    expect(run.stdout).toContain('Capacity:   4 instances (1 placed)\n');
    expect(run.stdout).toMatch(/Lease:\s+expires in \d+m \(\d{4}-\d\d-\d\dT/);
    expect(run.stdout).toContain('Agent:      (no agent token: registered by an admin)\n');
    expect(run.stdout).toContain('Instances (1):\n');
    expect(run.stdout).toMatch(/ID\s+MODULE\s+VERSION\s+ADDRESS\s+STATE\s+HEALTH\s+SERVING/);
    expect(run.stdout).toMatch(
      new RegExp(
        `${instance}\\s+orders\\s+1\\.0\\.0\\s+10\\.0\\.0\\.1:4001\\s+ready\\s+healthy\\s+true`,
      ),
    );
    const json = JSON.parse((await host('describe', 'rack-b1', '--json')).stdout);
    expect(json).toMatchObject({ name: 'rack-b1', instances: [], leaseExpiresAt: null });
    expect((await host('describe', 'rack-b1')).stdout).toContain(
      'Lease:      none (no heartbeat yet)\n',
    );
  });

  it('cordon, drain and uncordon set the state the API keeps', async () => {
    for (const [action, state, said] of [
      ['cordon', 'cordoned', 'host rack-b1 cordoned: no new instances are placed on it'],
      ['drain', 'draining', 'host rack-b1 draining: no new instances are placed on it'],
      ['uncordon', 'ready', 'host rack-b1 ready: it takes new instances again'],
    ] as const) {
      const run = await host(action, 'rack-b1');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(said);
      const now = await call(`${server.url}/v1/hosts/rack-b1`, admin);
      expect((now.body as HostRecord).state).toBe(state);
    }
    const json = await host('cordon', 'rack-b1', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'rack-b1', state: 'cordoned' });
    expect((await host('uncordon', 'rack-b1')).code).toBe(0);
  });

  it('errors: an unknown host, a token whose role may not, no token, bad --state', async () => {
    const missing = await host('describe', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('turnout: not_found: host nope does not exist\n');
    const missingJson = await host('cordon', 'nope', '--json');
    expect(JSON.parse(missingJson.stderr)).toEqual({
      error: { code: 'not_found', message: 'host nope does not exist' },
    });
    // The join token (role agent) may not cordon a host.
    const joinToken = readFileSync(join(dir, 'join-token'), 'utf8').trim();
    const agent = await host('cordon', 'rack-b1', '--token', joinToken);
    expect(agent.code).not.toBe(0);
    expect(agent.stderr).toContain(
      'forbidden: POST /v1/hosts/:name/cordon is not open to role agent',
    );
    const anonymous = await runTurnout(['host', 'list', '--server', server.url]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain('unauthorized: missing bearer token');
    const bad = await host('list', '--state', 'gone');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('state');
    // Nothing changed on the way.
    expect(((await call(`${server.url}/v1/hosts/rack-b1`, admin)).body as HostRecord).state).toBe(
      'ready',
    );
  });
});

describe('host views (pure)', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const h: HostRecord = {
    name: 'h',
    address: '10.0.0.3',
    labels: {},
    capacity: null,
    state: 'down',
    leaseExpiresAt: '2026-01-01T11:57:00Z',
    createdAt: '2026-01-01T10:00:00Z',
    updatedAt: '2026-01-01T11:57:00Z',
  };
  it('says a lease that ran out, one still running, and none', () => {
    expect(leaseText('2026-01-01T11:57:00Z', now)).toBe('expired 3m ago');
    expect(leaseText('2026-01-01T12:00:09Z', now)).toBe('expires in 9s');
    expect(leaseText(null, now)).toBe('none');
  });
  it('rows and describe text for a host with no labels and no limit', () => {
    expect(hostRow(h, 0, now)).toMatchObject({
      labels: '-',
      instances: '0',
      lease: 'expired 3m ago',
    });
    const text = describeHostText(h, [], now);
    expect(text).toContain('Labels:     (none)\n');
    expect(text).toContain('Capacity:   no limit (0 placed)\n');
    expect(text).toContain('Registered: 2h ago\n');
    expect(text).toContain('Instances (0):\n  (none)');
  });
});
