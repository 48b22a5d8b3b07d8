// The real `turnout up` or `turnout demo` as a child process on free loopback ports: one place
// that picks the listeners, builds the command line and captures the output, for every test that
// needs the whole embedded system.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSameProcess } from '../../src/runtime/process-identity.js';
import { ROOT } from './build.js';
import { freePort } from './turnout-up.js';

const BIN = join(ROOT, 'bin', 'turnout.js');
/** Output kept per child (the tail), so a long run cannot grow the test's memory without bound. */
const KEEP = 1_000_000;

export interface Listeners {
  readonly api: number;
  readonly outbound: number;
  readonly edge: number;
  readonly admin: number;
}

export async function freeListeners(): Promise<Listeners> {
  return {
    api: await freePort(),
    outbound: await freePort(),
    edge: await freePort(),
    admin: await freePort(),
  };
}

/** `node bin/turnout.js <command> --data … --api … --outbound … --edge … --admin … <extra>`, without node. */
export function localArgs(
  command: 'up' | 'demo',
  data: string,
  at: Listeners,
  extra: readonly string[] = [],
): string[] {
  const on = (port: number) => `127.0.0.1:${port}`;
  return [
    BIN,
    command,
    '--data',
    data,
    '--api',
    on(at.api),
    '--outbound',
    on(at.outbound),
    '--edge',
    on(at.edge),
    '--admin',
    on(at.admin),
    ...extra,
  ];
}

export interface LocalRun {
  readonly child: ChildProcess;
  /** Base URLs of the API, edge, outbound and admin listeners. */
  readonly api: string;
  readonly edge: string;
  readonly outbound: string;
  readonly admin: string;
  /** stdout and stderr so far, interleaved (the last megabyte). */
  out(): string;
  readonly exit: Promise<number | null>;
}

export async function spawnLocal(
  command: 'up' | 'demo',
  data: string,
  extra: readonly string[] = [],
  options: { cwd?: string; at?: Listeners } = {},
): Promise<LocalRun> {
  const at = options.at ?? (await freeListeners());
  const child = spawn(process.execPath, localArgs(command, data, at, extra), {
    cwd: options.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-KEEP);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return {
    child,
    api: url(at.api),
    edge: url(at.edge),
    outbound: url(at.outbound),
    admin: url(at.admin),
    out: () => out,
    exit,
  };
}

/**
 * The processes a run of `up`/`demo` in `data` left running, as its records name them: each
 * instance (`instances/<id>.json`) and the proxy (`proxy.json`), with pid and /proc start time.
 * They are detached on purpose (they outlive a control plane killed with SIGKILL, and the next run
 * adopts them), so killing the run's own process leaves them.
 */
export function leftovers(data: string): { pid: number; processStart: number }[] {
  const read = (path: string) => {
    try {
      const r = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; processStart?: unknown };
      return typeof r.pid === 'number' && typeof r.processStart === 'number'
        ? [{ pid: r.pid, processStart: r.processStart }]
        : [];
    } catch {
      return []; // gone (a clean stop removes it) or half-written
    }
  };
  const dir = join(data, 'instances');
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  return [...names.flatMap((f) => read(join(dir, f))), ...read(join(data, 'proxy.json'))];
}

/**
 * A test's clean-up of a run: SIGKILL the run, then every process its records name that is still
 * that process (pid and start time, so a reused pid is left alone), with its process group (an
 * instance's or the proxy's own children). Answers the pids it killed.
 */
export async function endLocal(run: LocalRun, data: string): Promise<number[]> {
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGKILL');
    await run.exit; // its supervisor restarts no proxy after this
  }
  const killed: number[] = [];
  for (const { pid, processStart } of leftovers(data)) {
    if (!isSameProcess(pid, processStart)) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL'); // -pid first: detached, it leads its own group
        break;
      } catch {
        // no such group (or already gone): the pid alone next
      }
    }
    killed.push(pid);
  }
  return killed;
}
