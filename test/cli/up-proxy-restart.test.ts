// A dead proxy does not take `turnout up` down (issue 11, defect 4): the real `turnout up` serves a
// promoted module through its edge; the proxy's last good snapshot is corrupted (every generation,
// so the new proxy can only start from the stream) and the proxy is killed with SIGKILL. `up`
// starts a new proxy, which answers on the edge again, while the API and the very same instance
// processes keep running; the restart is in up's structured log. SIGTERM then stops everything.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSameProcess, readProcStat } from '../../src/runtime/process-identity.js';
import { ensureBuilt } from '../support/build.js';
import type { Stack } from '../support/release-stack.js';
import { Hopeless, startStack, waitFor } from '../support/release-stack.js';

type LogLine = Record<string, unknown>;

const DOCUMENTS = [
  { kind: 'Org', name: 'acme' },
  {
    kind: 'Module',
    name: 'catalog',
    org: 'acme',
    health: { path: '/healthz' },
    run: {
      process: {
        command: 'node',
        args: ['examples/services/service.mjs'],
        env: { SERVICE_NAME: 'catalog', SERVICE_VERSION: '1.0.0' },
      },
    },
  },
  { kind: 'Product', name: 'cat', org: 'acme', hosts: ['cat.localhost'], entry: 'catalog' },
  { kind: 'Version', module: 'catalog', version: '1.0.0' },
];

describe('turnout up: a proxy killed with SIGKILL', () => {
  let stack: Stack;
  const logs: LogLine[] = [];
  const events = (name: string) => logs.filter((l) => l.event === name);

  beforeAll(async () => {
    await ensureBuilt();
    stack = await startStack();
    let partial = '';
    stack.process.stderr?.on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line
        }
      }
    });
  }, 180_000);

  afterAll(async () => {
    const pids = stack?.instancePids() ?? [];
    const proxy = existsSync(join(stack.data, 'proxy.json')) ? proxyRecord().pid : null;
    await stack?.stop();
    // SIGTERM of `up` stops every instance and the proxy it restarted.
    for (const pid of [...pids, ...(proxy === null ? [] : [proxy])]) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
  }, 60_000);

  const upAlive = () => {
    if (stack.process.exitCode !== null || stack.process.signalCode !== null) {
      throw new Hopeless(
        `turnout up exited (${stack.process.exitCode ?? stack.process.signalCode})`,
      );
    }
  };
  const edge = async () => {
    const res = await request(`${stack.edge}/`, { headers: { host: 'cat.localhost' } });
    const text = await res.body.text();
    return res.statusCode === 200 ? (JSON.parse(text) as { service: string }) : null;
  };
  const proxyRecord = () =>
    JSON.parse(readFileSync(join(stack.data, 'proxy.json'), 'utf8')) as { pid: number };

  it('is restarted with backoff while the API and the instances keep running', async () => {
    await stack.post('/v1/apply', { documents: DOCUMENTS });
    const ticket = (
      await stack.post('/v1/tickets', {
        product: 'cat',
        items: [{ module: 'catalog', version: '1.0.0' }],
      })
    ).id as number;
    await stack.post(`/v1/tickets/${ticket}/promote`);
    await waitFor('the edge to serve catalog', async () => {
      upAlive();
      return (await edge())?.service === 'catalog';
    });

    const instances = stack.instancePids().map((pid) => ({ pid, start: readProcStat(pid) }));
    expect(instances.length).toBeGreaterThan(0);
    const lastGood = join(stack.data, 'proxy', 'last-good.json');
    await waitFor('the last good snapshot on disk', async () => existsSync(lastGood));
    // Corrupt every generation kept, so the new proxy can only start from the stream.
    for (const file of [lastGood, join(stack.data, 'proxy', 'last-good.previous.json')]) {
      if (existsSync(file))
        writeFileSync(file, `${readFileSync(file, 'utf8').slice(0, 40)}\u0000junk`);
    }

    const dead = proxyRecord().pid;
    process.kill(dead, 'SIGKILL');

    const restarted = await waitFor('a new proxy answering on the edge', async () => {
      upAlive();
      const now = proxyRecord().pid;
      if (now === dead || (await edge())?.service !== 'catalog') return null;
      return now;
    });
    await waitFor('the restart in the log', async () => {
      upAlive();
      return events('proxy_restarted').length > 0;
    });

    expect(events('proxy_exited')[0]).toMatchObject({
      pid: dead,
      signal: 'SIGKILL',
      code: null,
      restartInMs: expect.any(Number),
    });
    expect(events('proxy_restarted')[0]).toMatchObject({ pid: restarted, previousPid: dead });
    // The API answers, and the instances are the same processes as before the proxy died.
    expect(await stack.get('/v1/orgs')).toMatchObject({ items: [{ name: 'acme' }] });
    for (const { pid, start } of instances) {
      expect(start).not.toBeNull();
      expect(isSameProcess(pid, start?.startTime ?? -1)).toBe(true);
    }
    expect(stack.instancePids().sort()).toEqual(instances.map((i) => i.pid).sort());
  }, 180_000);
});
