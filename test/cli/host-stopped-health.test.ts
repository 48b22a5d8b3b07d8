// `turnout host describe` in a real fleet of one: a real `turnout server` and a real `turnout
// agent` (its proxy and instances) on 127.0.0.1. A release replaces web 1.0.0 by 2.0.0; the 1.0.0
// instance, healthy while it ran, is drained and stopped. Nothing probes a stopped instance, so its
// health must not read `healthy` (it was left at its last verdict): `unknown`, in JSON and text.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../runtime/support.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { madeTempDir } from '../support/temp-dir.js';
import type { RunningServer } from '../support/turnout-server.js';
import { call, startServer } from '../support/turnout-server.js';
import { freePort, runTurnout } from '../support/turnout-up.js';
import { Hopeless, waitFor } from '../support/wait.js';

const BIN = join(ROOT, 'bin', 'turnout.js');
const LONG = { timeoutMs: 90_000, everyMs: 100 };

interface Instance {
  id: string;
  version: string;
  state: string;
  health: string;
}

let dir: string;
let server: RunningServer;
let admin: string;
let agent: ChildProcess | null = null;
let agentOut = '';
const pids: number[] = [];

/** An API call as the admin; a failure ends the wait it is in. The body as the caller expects it. */
const api = async <T = Record<string, never>>(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> => {
  const r = await call(`${server.url}${path}`, admin, method, body);
  if (r.status >= 300)
    throw new Hopeless(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
};

const instances = async () =>
  (await api<{ items: Instance[] }>('GET', '/v1/instances?host=h1')).items;

/** Creates a ticket for web@version and promotes it; answers once it is promoted. */
async function release(version: string): Promise<void> {
  const { id } = await api<{ id: number }>('POST', '/v1/tickets', {
    product: 'shop',
    items: [{ module: 'web', version }],
  });
  await api('POST', `/v1/tickets/${id}/promote`);
  await waitFor(
    `ticket ${id} (web ${version}) promoted`,
    async () => {
      const t = await api<{ state: string; progress?: { message?: string } }>(
        'GET',
        `/v1/tickets/${id}`,
      );
      if (['failed', 'aborted'].includes(t.state))
        throw new Hopeless(`ticket ${id} is ${t.state}: ${t.progress?.message}\n${agentOut}`);
      return t.state === 'promoted';
    },
    LONG,
  );
}

beforeAll(async () => {
  await ensureBuilt();
  dir = madeTempDir('turnout-host-stopped-');
  server = await startServer([
    '--data',
    join(dir, 'server'),
    '--listen',
    `127.0.0.1:${await freePort()}`,
  ]);
  admin = readFileSync(join(dir, 'server', 'admin-token'), 'utf8').trim();
  const join_ = readFileSync(join(dir, 'server', 'join-token'), 'utf8').trim();
  const on = async () => `127.0.0.1:${await freePort()}`;
  agent = spawn(
    process.execPath,
    [
      BIN,
      'agent',
      '--server',
      server.url,
      '--token',
      join_,
      '--name',
      'h1',
      '--advertise',
      '127.0.0.1',
      '--data',
      join(dir, 'agent'),
      '--edge',
      await on(),
      '--outbound',
      await on(),
      '--admin',
      await on(),
      '--ttl',
      '3000',
      '--json',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (agent.pid !== undefined) pids.push(agent.pid);
  const keep = (b: Buffer) => {
    agentOut += b.toString();
    // The proxy and the instances outlive the agent's SIGKILL: killed after the tests.
    for (const m of b.toString().matchAll(/"pid":(\d+)/g)) pids.push(Number(m[1]));
  };
  agent.stdout?.on('data', keep);
  agent.stderr?.on('data', keep);
  await waitFor(
    'host h1 registered and ready',
    async () =>
      (await api<{ items: { name: string; state: string }[] }>('GET', '/v1/hosts')).items.some(
        (h) => h.name === 'h1' && h.state === 'ready',
      ),
    LONG,
  );
  const documents = [
    { kind: 'Org', name: 'acme' },
    {
      kind: 'Module',
      name: 'web',
      org: 'acme',
      health: { path: '/healthz', intervalMs: 500 },
      run: {
        process: {
          command: 'node',
          args: ['examples/services/service.mjs'],
          env: { SERVICE_NAME: 'web' },
        },
      },
    },
    ...['1.0.0', '2.0.0'].map((version) => ({
      kind: 'Version',
      module: 'web',
      version,
      run: { process: { env: { SERVICE_VERSION: version } } },
    })),
    // Only the last promotion's versions are kept: promoting 2.0.0 reclaims 1.0.0.
    {
      kind: 'Product',
      name: 'shop',
      org: 'acme',
      hosts: ['shop.localhost'],
      entry: 'web',
      retainTickets: 1,
    },
  ];
  await api('POST', '/v1/apply', { documents });
}, 180_000);

afterAll(async () => {
  agent?.kill('SIGKILL');
  killAll(pids);
  await server?.stop();
});

describe('turnout host describe: a stopped instance', () => {
  it('shows health unknown, not the healthy it had while it ran', async () => {
    await release('1.0.0');
    const old = await waitFor(
      'web 1.0.0 ready and healthy on h1',
      async () =>
        (await instances()).find(
          (i) => i.version === '1.0.0' && i.state === 'ready' && i.health === 'healthy',
        ),
      LONG,
    );
    // Its pid, for the clean-up should the agent be gone before it stops it.
    const { assignments } = await api<{ assignments: { status: { pid: number | null } }[] }>(
      'GET',
      '/v1/hosts/h1/assignments',
    );
    for (const a of assignments) if (typeof a.status.pid === 'number') pids.push(a.status.pid);
    await release('2.0.0');
    await waitFor(
      'web 1.0.0 stopped',
      async () => {
        const all = await instances();
        const found = all.find((i) => i.id === old.id && i.state === 'stopped');
        if (found === undefined) throw new Error(JSON.stringify(all));
        return found;
      },
      LONG,
    );

    const env = { TURNOUT_SERVER: server.url, TURNOUT_TOKEN: admin };
    const json = await runTurnout(['host', 'describe', 'h1', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const described = JSON.parse(json.stdout) as { instances: Instance[] };
    expect(described.instances.find((i) => i.id === old.id)).toMatchObject({
      state: 'stopped',
      health: 'unknown',
    });
    const text = await runTurnout(['host', 'describe', 'h1'], { env });
    expect(text.code, text.stderr).toBe(0);
    const row = text.stdout.split('\n').find((l) => l.includes(old.id)) ?? '';
    expect(row).toMatch(/\sstopped\s+unknown\s/);
  });
});
