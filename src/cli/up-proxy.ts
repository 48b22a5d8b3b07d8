// The proxy of `turnout up`, a process of its own that outlives a control plane killed with SIGKILL
// and keeps routing from its last snapshot meanwhile. It is spawned detached (its own process
// group, so a Ctrl-C reaches `up`, which stops it), with its output appended to `<data>/proxy.log`
// rather than to our stderr, which dies with us. `<data>/proxy.json` records it: pid, /proc start
// time, the command line it was given (stream URL and listeners included) and a digest of its
// token. The next `up` keeps that proxy when it is still the same process and would be given the
// same command line and token — it reconnects to the stream by itself; otherwise the next `up`
// stops it (it holds the ports) and starts a new one.
//
// superviseProxy keeps it running: a proxy that ends by itself (a crash, a `kill -9`) is started
// again with backoff, while the control plane and the instances carry on; only stop() ends that
// (or leave(), which ends the supervision and leaves the proxy running for the next run).

import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { HostProxy } from '../agent/agent.js';
import type { BackoffPolicy } from '../runtime/backoff.js';
import { nextRestart } from '../runtime/backoff.js';
import { writeJsonAtomically } from '../runtime/json-file.js';
import { readTail } from '../runtime/log-tail.js';
import type { Exit, ProcessHandle } from '../runtime/process-handle.js';
import { spawnProcess, terminate, watchProcess } from '../runtime/process-handle.js';
import { isSameProcess } from '../runtime/process-identity.js';
import { logOffset, untilListening } from './up-proxy-start.js';

export const PROXY_RECORD = 'proxy.json';
export const PROXY_LOG = 'proxy.log';
/** How often a proxy adopted from an earlier run (not our child) is checked for life. */
const ADOPTED_POLL_MS = 500;

export interface ProxyCommand {
  /** The executable (node) and its arguments, stream URL and listeners included. */
  readonly command: string;
  readonly args: readonly string[];
  /** Also in `args`; recorded apart for people reading proxy.json. */
  readonly config: string;
  readonly listeners: { readonly outbound: string; readonly edge: string; readonly admin: string };
  /** The bearer token for the stream (passed as TURNOUT_TOKEN); null: none. */
  readonly token: string | null;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface UpProxy {
  readonly pid: number;
  /** Left running by an earlier `up` of this data dir and kept. */
  readonly adopted: boolean;
  readonly log: string;
  /** Resolves when the process has ended. */
  readonly exited: Promise<Exit>;
  /** SIGTERM, SIGKILL after `deadlineMs`; resolves when the process is gone. */
  stop(deadlineMs: number): Promise<void>;
}

export interface ProxyStart {
  readonly proxy: UpProxy;
  /** A proxy of an earlier run that was stopped rather than kept, and why. */
  readonly replaced: { readonly pid: number; readonly why: string } | null;
}

const recordSchema = z.object({
  pid: z.int().positive(),
  processStart: z.int().min(0),
  startedAt: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  config: z.string(),
  listeners: z.object({ outbound: z.string(), edge: z.string(), admin: z.string() }),
  tokenSha256: z.string().nullable(),
});
type ProxyRecord = z.infer<typeof recordSchema>;

const digest = (token: string | null) =>
  token === null ? null : createHash('sha256').update(token).digest('hex');

/** Keeps the proxy an earlier run left when it fits `cmd`; otherwise starts one. */
export async function ensureProxy(
  dataDir: string,
  cmd: ProxyCommand,
  /** Wait until a proxy started here listens, failing on its bad-input exit (up's first start). */
  untilUp = false,
): Promise<ProxyStart> {
  const recordPath = join(dataDir, PROXY_RECORD);
  const log = join(dataDir, PROXY_LOG);
  const earlier = await readRecord(recordPath);
  let replaced: ProxyStart['replaced'] = null;
  if (earlier !== null && isSameProcess(earlier.pid, earlier.processStart)) {
    const handle = watchProcess(earlier.pid, earlier.processStart, ADOPTED_POLL_MS);
    const why = mismatch(earlier, cmd);
    if (why === null) return { proxy: upProxy(handle, true, log, recordPath), replaced: null };
    await terminate(handle, 10_000);
    replaced = { pid: earlier.pid, why };
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(cmd.env)) if (v !== undefined) env[k] = v;
  delete env.TURNOUT_TOKEN;
  if (cmd.token !== null) env.TURNOUT_TOKEN = cmd.token;
  const from = await logOffset(log);
  const handle = await spawnProcess({
    command: cmd.command,
    args: cmd.args,
    cwd: cmd.cwd,
    env,
    logFile: log,
  });
  const record: ProxyRecord = {
    pid: handle.pid,
    processStart: handle.processStart,
    startedAt: new Date().toISOString(),
    command: cmd.command,
    args: [...cmd.args],
    config: cmd.config,
    listeners: { ...cmd.listeners },
    tokenSha256: digest(cmd.token),
  };
  try {
    await writeJsonAtomically(recordPath, record);
  } catch (error) {
    await terminate(handle, 0); // unrecorded, the next run could neither keep nor stop it
    throw error;
  }
  try {
    if (untilUp) await untilListening(handle.exited, log, from);
  } catch (error) {
    await rm(recordPath, { force: true }); // it has exited: nothing to keep
    throw error;
  }
  return { proxy: upProxy(handle, false, log, recordPath), replaced };
}

/** Why the recorded proxy does not fit `cmd`, or null when it does. */
function mismatch(record: ProxyRecord, cmd: ProxyCommand): string | null {
  if (record.config !== cmd.config) return `its stream URL was ${record.config}`;
  const l = record.listeners;
  const w = cmd.listeners;
  if (l.outbound !== w.outbound || l.edge !== w.edge || l.admin !== w.admin) {
    return `its listeners were outbound ${l.outbound}, edge ${l.edge}, admin ${l.admin}`;
  }
  if (record.tokenSha256 !== digest(cmd.token)) return 'it was given another API token';
  if (record.command !== cmd.command || JSON.stringify(record.args) !== JSON.stringify(cmd.args)) {
    return `its command line was ${[record.command, ...record.args].join(' ')}`;
  }
  return null;
}

function upProxy(
  handle: ProcessHandle,
  adopted: boolean,
  log: string,
  recordPath: string,
): UpProxy {
  let stopping: Promise<void> | null = null;
  return {
    pid: handle.pid,
    adopted,
    log,
    exited: handle.exited,
    stop(deadlineMs) {
      stopping ??= (async () => {
        await terminate(handle, deadlineMs);
        const record = await readRecord(recordPath);
        if (record?.pid === handle.pid) await rm(recordPath, { force: true });
      })();
      return stopping;
    },
  };
}

async function readRecord(path: string): Promise<ProxyRecord | null> {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // none, or not readable: nothing to keep
  }
}

/**
 * How soon a proxy that ended by itself is started again: quickly (traffic is down meanwhile),
 * doubling for a crash loop, and forgiven once a proxy had run for a while.
 */
export const PROXY_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 10_000, resetAfterMs: 30_000 };

export interface ProxySupervisor {
  /** How the first proxy came about (kept from an earlier run, or started). */
  readonly first: ProxyStart;
  /** The proxy running now (another one after every restart). */
  current(): UpProxy;
  /** Stops restarting, waits out a restart under way, then stops the proxy. Idempotent. */
  stop(deadlineMs: number): Promise<void>;
  /**
   * Stops restarting and waits out a restart under way, leaving the proxy running for the next
   * run to keep (an agent stopped without its instances: they call out through it). Idempotent;
   * after it, stop() does nothing.
   */
  leave(): Promise<void>;
}

export interface SuperviseOptions {
  /** Where proxy_exited / proxy_restarted / proxy_restart_failed go. */
  readonly logger: Logger;
  readonly backoff?: BackoffPolicy;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The last lines of the proxy's log, for the exit line (it does not write to our stderr). */
async function logTail(path: string): Promise<string | null> {
  const tail = await readTail(path, 10).catch(() => null);
  return tail === null || tail.trim() === '' ? null : tail.trimEnd();
}

/** ensureProxy, then restarts the proxy with backoff whenever it ends until stop() is called. */
export async function superviseProxy(
  dataDir: string,
  cmd: ProxyCommand,
  options: SuperviseOptions,
): Promise<ProxySupervisor> {
  const { logger } = options;
  const policy = options.backoff ?? PROXY_BACKOFF;
  // The first start fails `up` when the proxy cannot listen; a restart is only retried.
  const first = await ensureProxy(dataDir, cmd, true);
  let proxy = first.proxy;
  let startedAt = Date.now(); // for one kept from an earlier run: since we watch it
  let failures = 0;
  let stopping = false;
  let wake: (() => void) | null = null;
  let restarting: Promise<void> | null = null;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping) return resolve(); // stop() came while the exit was being logged
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      wake = null;
    });

  const restart = async (dead: UpProxy, exit: Exit) => {
    let next = nextRestart(failures, Date.now() - startedAt, policy);
    failures = next.failures;
    logger.warn(
      {
        event: 'proxy_exited',
        pid: dead.pid,
        code: exit.code,
        signal: exit.signal,
        restartInMs: next.delayMs,
        failures,
        log: dead.log,
        logTail: await logTail(dead.log),
      },
      'the proxy exited; restarting it',
    );
    for (;;) {
      await pause(next.delayMs);
      if (stopping) return;
      try {
        const started = await ensureProxy(dataDir, cmd);
        proxy = started.proxy;
        startedAt = Date.now();
        logger.info(
          { event: 'proxy_restarted', pid: proxy.pid, previousPid: dead.pid, failures },
          'the proxy is running again',
        );
        watch(proxy);
        return;
      } catch (error) {
        next = nextRestart(failures, 0, policy);
        failures = next.failures;
        logger.error(
          {
            event: 'proxy_restart_failed',
            reason: errorMessage(error),
            restartInMs: next.delayMs,
            failures,
          },
          'could not start the proxy; trying again',
        );
      }
    }
  };

  function watch(p: UpProxy): void {
    void p.exited.then((exit) => {
      // A stop in progress ended it; or it is not the proxy in force any more.
      if (stopping || p !== proxy) return;
      restarting = restart(p, exit).finally(() => {
        restarting = null;
      });
    });
  }
  watch(proxy);

  let stopped: Promise<void> | null = null;
  return {
    first,
    current: () => proxy,
    stop(deadlineMs) {
      stopped ??= (async () => {
        stopping = true;
        wake?.();
        // A restart already spawning finishes first, so the proxy it starts is the one stopped.
        await restarting;
        await proxy.stop(deadlineMs);
      })();
      return stopped;
    },
    leave() {
      stopped ??= (async () => {
        stopping = true;
        wake?.();
        await restarting;
      })();
      return stopped;
    },
  };
}

/** The supervisor as the host agent drives it (src/agent/agent.ts). */
export function hostProxyOf(supervisor: ProxySupervisor): HostProxy {
  return {
    pid: () => supervisor.current().pid,
    stop: (ms) => supervisor.stop(ms),
    leave: () => supervisor.leave(),
  };
}
