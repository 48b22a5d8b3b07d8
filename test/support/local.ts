// The real `turnout up` or `turnout demo` as a child process on free loopback ports: one place
// that picks the listeners, builds the command line and captures the output, for every test that
// needs the whole embedded system.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
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
