// Two assignment lists arriving back to back are saved one after the other: the later one ends up
// in <data>/assignments.json and no save fails. (Both saves once wrote the same `<pid>.tmp` at
// once, and the second rename found it gone: `save_failed ENOENT`, seen in `turnout demo`.)

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentLog } from '../../src/agent/agent.js';
import { HostAgent } from '../../src/agent/agent.js';
import type { Assignment } from '../../src/agent/assignment.js';
import { createServerLink } from '../../src/agent/server-link.js';
import { openProcessRuntime } from '../../src/runtime/process-runtime.js';
import { tempDir } from '../runtime/support.js';

/** A stop assignment: reconciling it starts nothing. */
function stopped(id: string): Assignment {
  return {
    id,
    host: 'h1',
    module: 'web',
    version: '1.0.0',
    run: { command: process.execPath, args: [], cwd: null, env: {} },
    health: null,
    artifact: null,
    desired: 'stop',
    status: {
      phase: 'stopped',
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

describe('agent saving its assignments', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('saves lists that arrive back to back in order, none failing', async () => {
    const dataDir = tempDir('turnout-agent-save-');
    dirs.push(dataDir);
    const problems: string[] = [];
    const log: AgentLog = {
      info: () => {},
      warn: (event) => problems.push(event),
      error: (event) => problems.push(event),
    };
    const agent = new HostAgent({
      name: 'h1',
      advertise: '127.0.0.1',
      labels: {},
      capacity: null,
      ttlMs: 1500,
      dataDir,
      // Never called: the agent is not started, only handed lists as its stream would.
      link: createServerLink({ server: 'http://127.0.0.1:9', token: 't' }),
      runtime: await openProcessRuntime({ dataDir, host: '127.0.0.1' }),
      startProxy: null,
      proxyAdminUrl: null,
      log,
    });
    const onList = (
      agent as unknown as { onList(l: Assignment[], v: number | null): Promise<void> }
    ).onList.bind(agent);
    // As the stream hands them over: each without waiting for the one before.
    const lists = [[stopped('a-1')], [stopped('a-1'), stopped('a-2')], [stopped('a-3')]];
    await Promise.all(lists.map((l, i) => onList(l, i + 1)));
    expect(problems).toEqual([]);
    const saved = JSON.parse(readFileSync(join(dataDir, 'assignments.json'), 'utf8')) as {
      version: number;
      assignments: Assignment[];
    };
    expect(saved.version).toBe(3);
    expect(saved.assignments.map((a) => a.id)).toEqual(['a-3']);
    await agent.stop();
  });
});
