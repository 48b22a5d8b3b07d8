// A worker of `turnout proxy --workers N`: the traffic listeners (shared with the other workers
// through node:cluster) around the same handler as a single proxy, fed its routing snapshots by
// the primary over IPC — the primary holds the one stream connection and the last good copy on
// disk. It answers the primary's metrics requests and drains on the primary's word or on a
// signal of its own (a Ctrl-C reaches the whole process group), then exits.

import type { Logger } from 'pino';
import type { CompiledSnapshot } from '../config/compile.js';
import { compileSnapshot } from '../config/compile.js';
import { parseSnapshot } from '../config/load.js';
import type { FromWorker } from './cluster-messages.js';
import { isToWorker } from './cluster-messages.js';
import type { ConfigSource, SnapshotOrigin } from './config-source.js';
import type { ProxyOptions, RunningProxy } from './main.js';
import { startProxy } from './main.js';
import type { ListenAddress } from './server.js';

/** The primary's listeners a worker must never forward to (its admin), passed in the env. */
export const WORKER_SELF_ENV = 'TURNOUT_PROXY_WORKER_SELF';

type Callback = (compiled: CompiledSnapshot, origin: SnapshotOrigin) => void;

/** A config source that applies what the primary sends (already validated there). */
class PrimaryFed implements ConfigSource {
  private readonly logger: Logger;
  private callback: Callback | null = null;
  private waiting: { text: string; origin: SnapshotOrigin } | null = null;
  private firstApplied: (() => void) | null = null;
  private stopped = false;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  start(onSnapshot: Callback): Promise<void> {
    this.callback = onSnapshot;
    const first = new Promise<void>((resolve) => {
      this.firstApplied = resolve;
    });
    if (this.waiting !== null) this.offer(this.waiting.text, this.waiting.origin);
    return first;
  }

  offer(text: string, origin: SnapshotOrigin): void {
    if (this.stopped) return;
    if (this.callback === null) {
      this.waiting = { text, origin };
      return;
    }
    let compiled: CompiledSnapshot;
    try {
      compiled = compileSnapshot(parseSnapshot(text, 'primary'));
    } catch (error) {
      // The primary compiled the same text; only a bug gets here. The snapshot in force stays.
      this.logger.error({ event: 'config_rejected', source: 'primary', reason: String(error) });
      return;
    }
    this.callback(compiled, origin);
    this.firstApplied?.();
    this.firstApplied = null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}

function send(message: FromWorker, then?: () => void): void {
  if (process.send === undefined || !process.connected) {
    then?.();
    return;
  }
  process.send(message, undefined, {}, () => then?.());
}

function selfFromEnv(): ListenAddress[] {
  const text = process.env[WORKER_SELF_ENV];
  return text === undefined || text === '' ? [] : (JSON.parse(text) as ListenAddress[]);
}

export type WorkerOptions = Omit<
  ProxyOptions,
  'config' | 'lastGoodPath' | 'admin' | 'source' | 'alsoSelf' | 'token'
> & {
  /** How long a signal's drain waits (the primary's drain message names its own). */
  readonly drainTimeoutMs: number;
};

/** Runs this process as a worker until told to stop; never resolves (the worker exits). */
export async function runProxyWorker(opts: WorkerOptions): Promise<never> {
  const logger = opts.logger;
  const source = new PrimaryFed(logger);
  let proxy: RunningProxy | null = null;
  let draining = false;
  const drain = (deadlineMs: number) => {
    if (draining) return;
    draining = true;
    logger.info({ event: 'worker_draining', deadlineMs });
    void (proxy?.stop(deadlineMs) ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.on('message', (message: unknown) => {
    if (!isToWorker(message)) return;
    if (message.turnout === 'snapshot') source.offer(message.text, message.origin);
    else if (message.turnout === 'drain') drain(message.deadlineMs);
    else {
      const id = message.id;
      void (proxy?.registry.getMetricsAsJSON() ?? Promise.resolve([])).then((metrics) =>
        send({ turnout: 'stats', id, metrics }),
      );
    }
  });
  process.once('SIGTERM', () => drain(opts.drainTimeoutMs));
  process.once('SIGINT', () => drain(opts.drainTimeoutMs));
  send({ turnout: 'hello' });
  try {
    proxy = await startProxy({
      ...opts,
      config: 'primary',
      lastGoodPath: null,
      admin: null,
      source,
      alsoSelf: selfFromEnv(),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const e = error as { code?: unknown; syscall?: unknown; port?: unknown };
    const bind =
      typeof e.code === 'string' && typeof e.syscall === 'string' && typeof e.port === 'number'
        ? { code: e.code, syscall: e.syscall, port: e.port }
        : undefined;
    send({ turnout: 'failed', message, ...(bind === undefined ? {} : { bind }) }, () =>
      process.exit(1),
    );
    return new Promise<never>(() => {});
  }
  send({ turnout: 'listening', outbound: proxy.outbound, edge: proxy.edge });
  return new Promise<never>(() => {});
}
