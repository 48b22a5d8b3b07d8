// One OS process of an instance, whether we spawned it (our child: its exit is an event) or adopted
// it from an earlier run (not our child: its exit is found by polling its pid and start time).
// Children are spawned detached, with the log file as stdout and stderr (no pipes to us), so they
// outlive a control plane that is killed; signals go to the instance's whole process group.

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { TurnoutError } from '../errors.js';
import { isSameProcess, readProcStat } from './process-identity.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessHandle {
  readonly pid: number;
  /** /proc start time (0 when unknown, which no later check will match). */
  readonly processStart: number;
  /** Resolves when the process has ended (never, once released). */
  readonly exited: Promise<Exit>;
  gone(): boolean;
  /** Signals the process group; does nothing once the process is gone. */
  signal(signal: NodeJS.Signals): void;
  /** Stops watching and leaves the process running. */
  release(): void;
}

export interface SpawnRequest {
  command: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  logFile: string;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // detached: the instance leads its own process group
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function spawnFailure(request: SpawnRequest, error: NodeJS.ErrnoException): TurnoutError {
  const what = `command "${request.command}"`;
  const message =
    error.code === 'ENOENT'
      ? `${what} not found${request.command.includes('/') ? ` (from ${request.cwd})` : ' in PATH'}`
      : error.code === 'EACCES'
        ? `${what} is not executable`
        : `${what} could not be started: ${error.message}`;
  return new TurnoutError('instance_start_failed', message, 'run.command');
}

/** Spawns the process; resolves once the OS has started it, rejects when it could not. */
export async function spawnProcess(request: SpawnRequest): Promise<ProcessHandle> {
  const dir = await stat(request.cwd).catch(() => null);
  if (!dir?.isDirectory()) {
    throw new TurnoutError(
      'instance_start_failed',
      `working directory ${request.cwd} does not exist`,
      'run.cwd',
    );
  }
  const log = openSync(request.logFile, 'a', 0o600);
  const child = (() => {
    try {
      return spawn(request.command, request.args, {
        cwd: request.cwd,
        env: request.env,
        detached: true,
        stdio: ['ignore', log, log],
      });
    } finally {
      closeSync(log); // the child has its own copy
    }
  })();
  await new Promise<void>((started, failed) => {
    child.once('spawn', started);
    child.once('error', (error) => failed(spawnFailure(request, error)));
  });
  child.unref();
  const pid = child.pid!;
  // Read now, before the event loop could reap a process that exits at once.
  const processStart = readProcStat(pid)?.startTime ?? 0;
  let onExit: ((exit: Exit) => void) | null = null;
  const exited = new Promise<Exit>((resolve) => {
    onExit = resolve;
  });
  const listener = (code: number | null, signal: NodeJS.Signals | null) =>
    onExit?.({ code, signal });
  child.once('exit', listener);
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    pid,
    processStart,
    exited,
    gone,
    signal: (signal) => {
      if (!gone()) signalGroup(pid, signal);
    },
    release: () => {
      child.off('exit', listener);
    },
  };
}

/** Watches a process we did not spawn, checking every `pollMs` that it is still the same one. */
export function watchProcess(pid: number, processStart: number, pollMs: number): ProcessHandle {
  const gone = () => !isSameProcess(pid, processStart);
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<Exit>((resolve) => {
    timer = setInterval(() => {
      if (!gone()) return;
      clearInterval(timer);
      resolve({ code: null, signal: null });
    }, pollMs);
    timer.unref();
  });
  return {
    pid,
    processStart,
    exited,
    gone,
    signal: (signal) => {
      if (!gone()) signalGroup(pid, signal); // never signal a pid that now belongs to another
    },
    release: () => clearInterval(timer),
  };
}

/** SIGTERM, then SIGKILL once `deadlineMs` has passed; resolves when the process is gone. */
export async function terminate(handle: ProcessHandle, deadlineMs: number): Promise<void> {
  handle.signal('SIGTERM');
  if (await waitGone(handle, deadlineMs)) return;
  handle.signal('SIGKILL');
  await waitGone(handle, Number.POSITIVE_INFINITY);
}

const CHECK_MS = 25;

async function waitGone(handle: ProcessHandle, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (!handle.gone()) {
    const left = until - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<void>((r) => {
      timer = setTimeout(r, Math.min(CHECK_MS, left));
    });
    await Promise.race([handle.exited, tick]);
    clearTimeout(timer);
  }
  return true;
}
