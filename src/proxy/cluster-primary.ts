// The primary of `turnout proxy --workers N`: one Node process uses one core, so N workers
// (node:cluster, cluster-worker.ts) serve the traffic listeners, which they share — on Linux the
// primary accepts each connection and hands it to the workers in turn. The primary serves no
// traffic; it holds what there must be one of:
// - the config source: ONE stream connection to the control plane (or one file watcher) and the
//   last good snapshot on disk; every snapshot it accepts is sent to every worker, and a worker
//   that starts gets the one in force before it listens;
// - the admin listener, whose /metrics and /stats sum the workers' (cluster-stats.ts);
// - the workers' lives: one that ends by itself is replaced (with backoff, for a crash loop),
//   and stop() drains them all (each finishes its in-flight requests) before it returns.

import type { Worker } from 'node:cluster';
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { CompiledSnapshot } from '../config/compile.js';
import type { BackoffPolicy } from '../runtime/backoff.js';
import { nextRestart } from '../runtime/backoff.js';
import { createAdminServer } from './admin.js';
import type { FromWorker, ToWorker } from './cluster-messages.js';
import { isFromWorker } from './cluster-messages.js';
import { ClusterMetrics } from './cluster-stats.js';
import { WORKER_SELF_ENV } from './cluster-worker.js';
import type { SnapshotOrigin } from './config-source.js';
import { proxyConfigSource } from './config-source.js';
import type { ListenAddress } from './server.js';
import { listen, listenerAddress } from './server.js';
import { closed, sendToWorker } from './worker-channel.js';

export interface ClusterOptions {
  readonly workers: number;
  readonly config: string;
  readonly lastGoodPath: string | null;
  readonly admin: ListenAddress | null;
  /** PEM CA certificate(s) to trust for an https control plane; none: the system's roots. */
  readonly ca?: string;
  readonly token?: string;
  readonly logger: Logger;
  /** How soon a worker that ended by itself is replaced. */
  readonly backoff?: BackoffPolicy;
}

export interface RunningCluster {
  readonly outbound: ListenAddress | null;
  readonly edge: ListenAddress | null;
  readonly admin: ListenAddress | null;
  /** The pids of the workers running now. */
  workerPids(): number[];
  /** Drains every worker within `deadlineMs` (SIGKILL for one that overstays), then stops. */
  stop(deadlineMs: number): Promise<void>;
}

/** A crash loop slows down; a worker that ran a while is replaced at once. */
export const WORKER_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5_000, resetAfterMs: 30_000 };
/** Beyond the drain deadline, how long a worker may take to exit before SIGKILL. */
const EXIT_GRACE_MS = 5_000;

interface Slot {
  readonly worker: Worker;
  readonly pid: number;
  readonly startedAt: number;
  hello: boolean;
  listening: boolean;
  failure: string | null;
  bind: { code: string; syscall: string; port: number } | null;
  /** Resolves once the worker has exited and its every message has been handled. */
  readonly exited: Promise<void>;
}

export async function startProxyCluster(opts: ClusterOptions): Promise<RunningCluster> {
  const logger = opts.logger;
  const policy = opts.backoff ?? WORKER_BACKOFF;
  const slots = new Map<number, Slot>();
  let compiled: CompiledSnapshot | null = null;
  let origin: SnapshotOrigin | 'none' = 'none';
  let snapshot: ToWorker | null = null;
  let serving = false;
  let stopping = false;
  let failures = 0;
  const toWorker = (slot: Slot, message: ToWorker) =>
    sendToWorker(slot.worker, message, (error) =>
      logger.warn(
        { event: 'worker_send_failed', pid: slot.pid, message: message.turnout, err: error },
        'a message to a proxy worker was not delivered (it is exiting)',
      ),
    );
  const metrics = new ClusterMetrics(() =>
    [...slots.values()]
      .filter((s) => s.listening && s.worker.isConnected())
      .map((s) => ({ key: s.worker.id, pid: s.pid, send: (m: ToWorker) => toWorker(s, m) })),
  );

  const source = proxyConfigSource(opts, logger);
  await source.start((next, from) => {
    compiled = next;
    origin = from;
    snapshot = { turnout: 'snapshot', text: JSON.stringify(next.snapshot), origin: from };
    for (const slot of slots.values()) if (slot.hello) toWorker(slot, snapshot);
    logger.info({ event: 'config_applied', version: next.version, origin: from });
  });

  // The admin listener first: the workers must know its address (never forward to ourselves).
  let admin: Server | null = null;
  let adminAt: ListenAddress | null = null;
  try {
    if (opts.admin !== null) {
      admin = createAdminServer({
        // Not ready (503) until every worker listens.
        current: () => (serving ? compiled : null),
        metrics,
        startedAt: Date.now(),
        configOrigin: () => origin,
      });
      await listen(admin, opts.admin);
      adminAt = listenerAddress(admin);
    }
  } catch (error) {
    await source.stop();
    throw error;
  }
  const env = { [WORKER_SELF_ENV]: JSON.stringify(adminAt === null ? [] : [adminAt]) };

  function onMessage(slot: Slot, message: FromWorker): void {
    switch (message.turnout) {
      case 'hello':
        slot.hello = true;
        if (snapshot !== null) toWorker(slot, snapshot);
        return;
      case 'listening':
        slot.listening = true;
        listening(message);
        return;
      case 'stats':
        metrics.received(slot.worker.id, slot.pid, message.id, message.metrics);
        return;
      case 'failed':
        slot.failure = message.message;
        slot.bind = message.bind ?? null;
        return;
    }
  }

  let listening: (m: FromWorker & { turnout: 'listening' }) => void = () => {};

  function fork(): Slot {
    const worker = cluster.fork(env);
    // Its last messages (the 'failed' saying why it did not start) are read before this resolves.
    const exited = closed(worker.process);
    const slot: Slot = {
      worker,
      pid: worker.process.pid ?? 0,
      startedAt: Date.now(),
      hello: false,
      listening: false,
      failure: null,
      bind: null,
      exited,
    };
    slots.set(worker.id, slot);
    worker.on('message', (message: unknown) => {
      if (isFromWorker(message)) onMessage(slot, message);
    });
    // Without a listener, an 'error' on a worker (its channel failing as it exits) would end the
    // primary and every worker still serving; the exit itself is handled below.
    worker.on('error', (error) =>
      logger.warn({ event: 'worker_error', pid: slot.pid, err: error }, 'a proxy worker errored'),
    );
    worker.once('exit', (code, signal) => {
      slots.delete(worker.id);
      metrics.gone(worker.id);
      if (serving && !stopping) replace(slot, code, signal);
    });
    logger.info({ event: 'worker_started', worker: worker.id, pid: slot.pid });
    return slot;
  }

  function replace(dead: Slot, code: number | null, signal: string | null): void {
    const next = nextRestart(failures, Date.now() - dead.startedAt, policy);
    failures = next.failures;
    logger.warn(
      {
        event: 'worker_exited',
        pid: dead.pid,
        code,
        signal,
        reason: dead.failure,
        restartInMs: next.delayMs,
      },
      'a proxy worker exited; starting another',
    );
    setTimeout(() => {
      if (stopping) return;
      const slot = fork();
      logger.info({ event: 'worker_replaced', pid: slot.pid, previousPid: dead.pid });
    }, next.delayMs);
  }

  // Start every worker; the first to fail before it listens fails the start (a port taken…).
  const first = await new Promise<{ outbound: ListenAddress | null; edge: ListenAddress | null }>(
    (resolve, reject) => {
      let up = 0;
      listening = (m) => {
        if (++up === opts.workers) resolve({ outbound: m.outbound, edge: m.edge });
      };
      for (let i = 0; i < opts.workers; i++) {
        const slot = fork();
        void slot.exited.then(() => {
          if (slot.listening) return;
          // A bind error keeps its code, syscall and port, as in one process (the CLI names the flag).
          const error = new Error(slot.failure ?? 'a proxy worker exited at start');
          reject(slot.bind === null ? error : Object.assign(error, slot.bind));
        });
      }
    },
  ).catch(async (error: unknown) => {
    stopping = true;
    await stopWorkers(0);
    admin?.close();
    await source.stop();
    throw error;
  });
  listening = () => {};
  serving = true;
  logger.info({ event: 'proxy_listening', ...first, admin: adminAt, workers: opts.workers });

  async function stopWorkers(deadlineMs: number): Promise<void> {
    const all = [...slots.values()];
    for (const slot of all) toWorker(slot, { turnout: 'drain', deadlineMs });
    const kill = setTimeout(() => {
      for (const slot of all) slot.worker.process.kill('SIGKILL');
    }, deadlineMs + EXIT_GRACE_MS);
    await Promise.all(all.map((s) => s.exited));
    clearTimeout(kill);
  }

  let stopped: Promise<void> | null = null;
  return {
    ...first,
    admin: adminAt,
    workerPids: () => [...slots.values()].map((s) => s.pid),
    stop(deadlineMs) {
      stopped ??= (async () => {
        stopping = true;
        await stopWorkers(deadlineMs);
        admin?.close();
        admin?.closeAllConnections();
        await source.stop();
        logger.info({ event: 'proxy_stopped' });
      })();
      return stopped;
    },
  };
}
