// Static stability at start: an agent whose server is unreachable acts on its saved list
// (<data>/assignments.json) — it starts what was assigned here to run — and with no saved list it
// stops nothing it adopted. A real HostAgent with a real process runtime; the server is a closed
// port on 127.0.0.1.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentLog } from '../../src/agent/agent.js';
import { HostAgent } from '../../src/agent/agent.js';
import type { Assignment } from '../../src/agent/assignment.js';
import { saveAssignments } from '../../src/agent/saved-assignments.js';
import { createServerLink } from '../../src/agent/server-link.js';
import { openProcessRuntime } from '../../src/runtime/process-runtime.js';
import { alive, get, killAll, SERVICE, tempDir } from '../runtime/support.js';
import { freePort } from '../support/turnout-up.js';
import { waitFor } from '../support/wait.js';

function assignment(id: string, host: string): Assignment {
  return {
    id,
    host,
    module: 'web',
    version: '1.0.0',
    run: {
      command: process.execPath,
      args: [SERVICE],
      cwd: null,
      env: { SERVICE_NAME: 'web', SERVICE_VERSION: '1.0.0' },
    },
    health: { path: '/healthz', intervalMs: 200 },
    artifact: null,
    desired: 'run',
    status: {
      phase: 'running',
      address: null,
      pid: null,
      startedAt: null,
      restarts: 0,
      health: 'unknown',
      lastExit: null,
      error: null,
      logTail: [],
      step: null,
      download: null,
      reportedAt: null,
    },
    createdAt: '2026-12-06T11:00:00.000Z',
    updatedAt: '2026-12-06T11:00:00.000Z',
  };
}

function recorder(): AgentLog & { events: { event: string; fields: Record<string, unknown> }[] } {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const push = (event: string, fields: Record<string, unknown>) => events.push({ event, fields });
  return { events, info: push, warn: push, error: push };
}

describe('agent without its server', () => {
  const agents: HostAgent[] = [];
  const pids: number[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop({ stopInstances: true });
    killAll(pids);
  });

  async function agentOn(dataDir: string, log: AgentLog) {
    const closed = await freePort(); // nothing listens: connection refused
    const agent = new HostAgent({
      name: 'h1',
      advertise: '127.0.0.1',
      labels: {},
      capacity: null,
      ttlMs: 1500,
      dataDir,
      link: createServerLink({ server: `http://127.0.0.1:${closed}`, token: 't' }),
      runtime: await openProcessRuntime({ dataDir, host: '127.0.0.1' }),
      startProxy: null,
      proxyAdminUrl: null,
      log,
      tickMs: 20,
    });
    agents.push(agent);
    await agent.start();
    return agent;
  }

  it('runs the saved assignments of its host, and no other host’s', async () => {
    const dataDir = tempDir('agent');
    await saveAssignments(dataDir, [assignment('web-1', 'h1'), assignment('web-2', 'h2')], 7);
    const log = recorder();
    const agent = await agentOn(dataDir, log);
    expect(log.events.map((e) => e.event)).toContain('register_failed');
    expect(log.events.find((e) => e.event === 'running_saved_assignments')?.fields.count).toBe(1);
    const started = await waitFor('web-1 started', () =>
      log.events.find((e) => e.event === 'started'),
    );
    pids.push(Number(started.fields.pid));
    expect(started.fields.id).toBe('web-1');
    const answer = await waitFor('web-1 to answer', () =>
      get(String(started.fields.address)).catch(() => null),
    );
    expect(answer.json()).toMatchObject({ service: 'web' });
    expect(log.events.filter((e) => e.event === 'started')).toHaveLength(1);
    expect(agent.isRegistered).toBe(false);
  });

  it('stops nothing it adopted when it has no saved list', async () => {
    const dataDir = tempDir('agent');
    await saveAssignments(dataDir, [assignment('web-1', 'h1')], 7);
    const first = recorder();
    const earlier = await agentOn(dataDir, first);
    const started = await waitFor('web-1 started', () =>
      first.events.find((e) => e.event === 'started'),
    );
    const pid = Number(started.fields.pid);
    pids.push(pid);
    await earlier.stop(); // instances run on
    agents.splice(agents.indexOf(earlier), 1);
    rmSync(join(dataDir, 'assignments.json'));
    const log = recorder();
    await agentOn(dataDir, log);
    expect(log.events.find((e) => e.event === 'adopted')?.fields.adopted).toEqual([
      { id: 'web-1', pid, address: started.fields.address },
    ]);
    // Several rounds and reconnect attempts later, it still runs.
    await waitFor(
      'three lost streams',
      () => log.events.filter((e) => e.event === 'stream_lost').length >= 3,
    );
    expect(log.events.map((e) => e.event)).not.toContain('stopped');
    expect(alive(pid)).toBe(true);
  });
});
