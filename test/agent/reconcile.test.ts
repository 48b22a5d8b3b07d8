// The agent's pure decision: assignments × local instances → start, stop, report. Table-driven.

import { describe, expect, it } from 'vitest';
import type { Assignment, StatusReport } from '../../src/agent/assignment.js';
import type { Action, InstanceNote, LocalView } from '../../src/agent/reconcile.js';
import { reconcile } from '../../src/agent/reconcile.js';
import type { RunningInstance } from '../../src/runtime/runtime.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');

function assignment(id: string, over: Partial<Assignment> = {}): Assignment {
  return {
    id,
    host: 'h1',
    module: 'orders',
    version: '1.0.0',
    run: { command: 'node', args: ['s.mjs'], cwd: null, env: {} },
    health: { path: '/healthz', intervalMs: 1000 },
    artifact: null,
    desired: 'run',
    status: {
      phase: 'pending',
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
    createdAt: '2026-12-06T11:00:00Z',
    updatedAt: '2026-12-06T11:00:00Z',
    ...over,
  };
}

function running(id: string, over: Partial<RunningInstance> = {}): RunningInstance {
  return {
    id,
    module: 'orders',
    version: '1.0.0',
    address: '10.0.0.1:20001',
    pid: 4242,
    startedAt: '2026-12-06T11:30:00Z',
    restarts: 0,
    ...over,
  };
}

function runningReport(id: string, over: Partial<StatusReport> = {}): StatusReport {
  const r = running(id);
  return {
    phase: 'running',
    address: r.address,
    pid: r.pid,
    startedAt: r.startedAt,
    restarts: 0,
    health: 'unknown',
    lastExit: null,
    error: null,
    logTail: [],
    download: null,
    ...over,
    step: (over.health ?? 'unknown') === 'healthy' ? 'routing' : 'health',
  };
}

const STOPPED: StatusReport = {
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
};

const failedNote = (retryAtMs: number): InstanceNote => ({
  lastExit: null,
  logTail: ['sh: no-such-command: not found'],
  error: 'command no-such-command not found',
  retryAtMs,
});

function view(over: Partial<LocalView> = {}): LocalView {
  return {
    running: [],
    health: new Map(),
    notes: new Map(),
    reported: new Map(),
    starting: new Set(),
    stopping: new Set(),
    nowMs: NOW,
    ...over,
  };
}

const a1 = assignment('orders-1');

const cases: { name: string; assignments: Assignment[]; local: LocalView; actions: Action[] }[] = [
  {
    name: 'stops an instance bound to another address than the one advertised (the next round starts it there)',
    assignments: [a1],
    local: view({ running: [running('orders-1')], advertise: '10.0.0.2' }),
    actions: [{ kind: 'stop', id: 'orders-1', reason: 'moved' }],
  },
  {
    name: 'keeps an instance bound to the advertised address, IPv6 included',
    assignments: [a1],
    local: view({
      running: [running('orders-1', { address: '[fd00::1]:20001' })],
      reported: new Map([['orders-1', runningReport('orders-1', { address: '[fd00::1]:20001' })]]),
      advertise: 'fd00::1',
    }),
    actions: [],
  },
  {
    name: 'starts an assignment that does not run here',
    assignments: [a1],
    local: view(),
    actions: [{ kind: 'start', assignment: a1 }],
  },
  {
    name: 'does not start twice while a start is under way',
    assignments: [a1],
    local: view({ starting: new Set(['orders-1']) }),
    actions: [],
  },
  {
    name: 'reports a running instance the server still has as pending',
    assignments: [a1],
    local: view({ running: [running('orders-1')] }),
    actions: [{ kind: 'report', id: 'orders-1', status: runningReport('orders-1') }],
  },
  {
    name: 'reports nothing when the last report says the same (no report per round)',
    assignments: [a1],
    local: view({
      running: [running('orders-1')],
      reported: new Map([['orders-1', runningReport('orders-1')]]),
    }),
    actions: [],
  },
  {
    name: "reports nothing when the server's status already says it (after an agent restart)",
    assignments: [
      assignment('orders-1', { status: { ...runningReport('orders-1'), reportedAt: 'x' } }),
    ],
    local: view({ running: [running('orders-1')] }),
    actions: [],
  },
  {
    name: 'reports a health change',
    assignments: [a1],
    local: view({
      running: [running('orders-1')],
      health: new Map([['orders-1', 'healthy']]),
      reported: new Map([['orders-1', runningReport('orders-1')]]),
    }),
    actions: [
      { kind: 'report', id: 'orders-1', status: runningReport('orders-1', { health: 'healthy' }) },
    ],
  },
  {
    name: 'reports a restart (new pid, restarts, the exit that caused it)',
    assignments: [a1],
    local: view({
      running: [running('orders-1', { pid: 5000, restarts: 1 })],
      notes: new Map([
        [
          'orders-1',
          {
            lastExit: { code: 1, signal: null, at: '2026-12-06T11:59:00Z' },
            logTail: ['boom'],
            error: null,
            retryAtMs: null,
          },
        ],
      ]),
      reported: new Map([['orders-1', runningReport('orders-1')]]),
    }),
    actions: [
      {
        kind: 'report',
        id: 'orders-1',
        status: runningReport('orders-1', {
          pid: 5000,
          restarts: 1,
          lastExit: { code: 1, signal: null, at: '2026-12-06T11:59:00Z' },
          logTail: ['boom'],
        }),
      },
    ],
  },
  {
    name: 'stops an instance whose assignment says stop',
    assignments: [assignment('orders-1', { desired: 'stop' })],
    local: view({ running: [running('orders-1')] }),
    actions: [{ kind: 'stop', id: 'orders-1', reason: 'desired_stop' }],
  },
  {
    name: 'reports stopped once a desired-stop instance is gone',
    assignments: [assignment('orders-1', { desired: 'stop' })],
    local: view(),
    actions: [{ kind: 'report', id: 'orders-1', status: STOPPED }],
  },
  {
    name: 'reports a stopped instance with the last lines noted when it stopped',
    assignments: [assignment('orders-1', { desired: 'stop' })],
    local: view({
      notes: new Map([
        [
          'orders-1',
          { lastExit: null, logTail: ['orders: SIGTERM'], error: null, retryAtMs: null },
        ],
      ]),
    }),
    actions: [
      { kind: 'report', id: 'orders-1', status: { ...STOPPED, logTail: ['orders: SIGTERM'] } },
    ],
  },
  {
    name: 'neither stops twice nor reports while a stop is under way',
    assignments: [assignment('orders-1', { desired: 'stop' })],
    local: view({ running: [running('orders-1')], stopping: new Set(['orders-1']) }),
    actions: [],
  },
  {
    name: 'stops an instance no assignment names (a lost host come back)',
    assignments: [a1],
    local: view({ running: [running('orders-1'), running('orders-old')] }),
    actions: [
      { kind: 'report', id: 'orders-1', status: runningReport('orders-1') },
      { kind: 'stop', id: 'orders-old', reason: 'unassigned' },
    ],
  },
  {
    name: 'stops everything when no assignment is left',
    assignments: [],
    local: view({ running: [running('a'), running('b')] }),
    actions: [
      { kind: 'stop', id: 'a', reason: 'unassigned' },
      { kind: 'stop', id: 'b', reason: 'unassigned' },
    ],
  },
  {
    name: 'stops an instance of the id that runs another version (then starts it)',
    assignments: [assignment('orders-1', { version: '2.0.0' })],
    local: view({ running: [running('orders-1')] }),
    actions: [{ kind: 'stop', id: 'orders-1', reason: 'other_version' }],
  },
  {
    name: 'reports a failed start while it backs off',
    assignments: [a1],
    local: view({ notes: new Map([['orders-1', failedNote(NOW + 1000)]]) }),
    actions: [
      {
        kind: 'report',
        id: 'orders-1',
        status: {
          ...STOPPED,
          phase: 'failed',
          error: 'command no-such-command not found',
          logTail: ['sh: no-such-command: not found'],
          // A note without a step is a failed process start.
          step: 'start',
        },
      },
    ],
  },
  {
    name: 'tries a failed start again once its backoff is over',
    assignments: [a1],
    local: view({ notes: new Map([['orders-1', failedNote(NOW)]]) }),
    actions: [{ kind: 'start', assignment: a1 }],
  },
];

describe('reconcile', () => {
  it.each(cases)('$name', ({ assignments, local, actions }) => {
    expect(reconcile(assignments, local)).toEqual(actions);
  });
});
