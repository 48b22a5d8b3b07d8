// The supervision of `turnout up`'s proxy, on real child processes (a node process that only
// waits stands in for the proxy): a proxy that dies is started again with a doubling delay and
// logged; stop() ends supervision without racing a restart, and leaves no proxy behind.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProxyCommand, ProxySupervisor } from '../../src/cli/up-proxy.js';
import { PROXY_RECORD, superviseProxy } from '../../src/cli/up-proxy.js';
import type { BackoffPolicy } from '../../src/runtime/backoff.js';
import { alive } from '../runtime/support.js';
import { waitFor } from '../support/release-stack.js';

type LogLine = Record<string, unknown>;

function captureLogger(onLine: (line: LogLine) => void = () => {}) {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text === '') continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        onLine(line);
      }
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

let data: string;
let supervisors: ProxySupervisor[];

beforeEach(() => {
  data = mkdtempSync(join(tmpdir(), 'turnout-supervise-'));
  supervisors = [];
});

afterEach(async () => {
  await Promise.all(supervisors.map((s) => s.stop(1_000)));
  rmSync(data, { recursive: true, force: true });
});

const command = (): ProxyCommand => ({
  command: process.execPath,
  // Says it listens, as `turnout proxy` does once its listeners are up (up waits for that line).
  args: [
    '-e',
    "process.stderr.write('turnout proxy: outbound off, edge off, admin off\\n'); setInterval(() => {}, 1 << 30)",
  ],
  config: 'http://127.0.0.1:1/v1/stream',
  listeners: { outbound: 'off', edge: 'off', admin: 'off' },
  token: null,
  env: process.env,
  cwd: data,
});

async function supervise(backoff: BackoffPolicy, onLine?: (line: LogLine) => void) {
  const { logger, lines } = captureLogger(onLine);
  const s = await superviseProxy(data, command(), { logger, backoff });
  supervisors.push(s);
  const events = (name: string) => lines.filter((l) => l.event === name);
  return { s, events };
}

const recordedPid = () =>
  existsSync(join(data, PROXY_RECORD))
    ? (JSON.parse(readFileSync(join(data, PROXY_RECORD), 'utf8')) as { pid: number }).pid
    : null;

describe('superviseProxy', () => {
  it('restarts a proxy that dies, doubling the delay on repeated fast crashes', async () => {
    const { s, events } = await supervise({ initialMs: 1, maxMs: 1_000, resetAfterMs: 3_600_000 });
    const first = s.current().pid;
    expect(s.first.proxy.adopted).toBe(false);

    process.kill(first, 'SIGKILL');
    await waitFor('the first restart', async () => events('proxy_restarted').length === 1);
    const second = s.current().pid;
    expect(second).not.toBe(first);
    expect(alive(second)).toBe(true);
    expect(recordedPid()).toBe(second);

    process.kill(second, 'SIGTERM');
    await waitFor('the second restart', async () => events('proxy_restarted').length === 2);
    const third = s.current().pid;

    expect(events('proxy_exited')).toMatchObject([
      { pid: first, signal: 'SIGKILL', code: null, restartInMs: 1, failures: 1 },
      { pid: second, signal: 'SIGTERM', code: null, restartInMs: 2, failures: 2 },
    ]);
    expect(events('proxy_restarted')).toMatchObject([
      { pid: second, previousPid: first },
      { pid: third, previousPid: second },
    ]);

    await s.stop(1_000);
    expect(alive(third)).toBe(false);
    expect(recordedPid()).toBeNull();
    expect(events('proxy_exited')).toHaveLength(2); // the stop itself is no crash
  });

  it('a stop during the backoff ends supervision at once, without a restart', async () => {
    const { s, events } = await supervise({
      initialMs: 3_600_000,
      maxMs: 3_600_000,
      resetAfterMs: 3_600_000,
    });
    const pid = s.current().pid;
    process.kill(pid, 'SIGKILL');
    await waitFor('the exit', async () => events('proxy_exited').length === 1);
    expect(events('proxy_exited')[0]).toMatchObject({ pid, restartInMs: 3_600_000 });
    await s.stop(1_000); // does not wait out the hour
    expect(events('proxy_restarted')).toEqual([]);
    expect(recordedPid()).toBeNull();
  });

  it('a stop as the exit is noticed leaves no proxy running', async () => {
    let stopping: Promise<void> | null = null;
    let supervisor: ProxySupervisor | null = null;
    const { s, events } = await supervise({ initialMs: 0, maxMs: 0, resetAfterMs: 0 }, (line) => {
      if (line.event === 'proxy_exited') stopping = supervisor?.stop(1_000) ?? null;
    });
    supervisor = s;
    process.kill(s.current().pid, 'SIGKILL');
    await waitFor('the stop', async () => stopping !== null);
    await stopping;
    const started = events('proxy_restarted').map((l) => l.pid as number);
    for (const pid of [s.current().pid, ...started]) expect(alive(pid)).toBe(false);
    expect(recordedPid()).toBeNull();
  });
});
