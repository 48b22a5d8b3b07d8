// Assembles a running proxy: config source → compiled snapshot in force, upstream pools, the
// outbound, edge and admin listeners, and a graceful stop. Everything listens on 127.0.0.1
// unless told otherwise.

import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { CompiledSnapshot } from '../config/compile.js';
import type { Cidr } from '../routing/cidr.js';
import type { MetricsSource } from './admin.js';
import { createAdminServer } from './admin.js';
import { DEFAULT_WARMUP_WINDOW_MS } from './balancer.js';
import type { ClientLimits } from './client-connection.js';
import { DEFAULT_CLIENT_LIMITS } from './client-connection.js';
import type { ConfigSource, SnapshotOrigin } from './config-source.js';
import { proxyConfigSource } from './config-source.js';
import { createDestinationPicker } from './destination.js';
import type { HandlerOptions, ProxyRuntime } from './handler.js';
import { createRetryBudget } from './retry-budget.js';
import { selfAddressGuard } from './self-address.js';
import type { ListenAddress } from './server.js';
import { createTrafficServer, drainServers, listen, listenerAddress } from './server.js';
import { createProxyStats } from './stats.js';
import { newTrafficState } from './upgrade.js';
import { createUpstreams } from './upstreams.js';

export interface ProxyOptions {
  /** A snapshot file (watched) or the control plane's stream URL. */
  readonly config: string;
  /** Where the last good snapshot is kept (null: nowhere). */
  readonly lastGoodPath: string | null;
  readonly outbound: ListenAddress | null;
  readonly edge: ListenAddress | null;
  readonly admin: ListenAddress | null;
  /** HMAC secrets accepted for `x-turnout-override` (none: overrides are ignored). */
  readonly overrideSecrets: readonly Buffer[];
  /**
   * Edge clients whose segment headers, sticky keys and forwarding headers are believed (a
   * gateway in front); see parseTrustedHops. Default: none.
   */
  readonly trustedHops?: readonly Cidr[];
  readonly token?: string;
  /** PEM CA certificate(s) to trust for an https control plane; none: the system's roots. */
  readonly ca?: string;
  readonly handler?: Partial<HandlerOptions>;
  readonly connectTimeoutMs?: number;
  /** Header and body timeouts and the connection cap of each traffic listener. */
  readonly clientLimits?: Partial<ClientLimits>;
  readonly logger: Logger;
  /**
   * Where snapshots come from instead of `config` (a worker of `--workers N` is fed by its
   * primary, which holds the one stream; see cluster-worker.ts).
   */
  readonly source?: ConfigSource;
  /** Listeners of this proxy that are not started here (a worker's primary's admin). */
  readonly alsoSelf?: readonly ListenAddress[];
}

export interface RunningProxy {
  readonly outbound: ListenAddress | null;
  readonly edge: ListenAddress | null;
  readonly admin: ListenAddress | null;
  current(): CompiledSnapshot | null;
  /** This process's metrics (a worker's primary asks for them to aggregate). */
  readonly registry: MetricsSource;
  /**
   * Graceful stop: stop accepting, finish in-flight requests and upgrade handshakes and let
   * WebSocket tunnels run up to `deadlineMs`, then close everything.
   */
  stop(deadlineMs?: number): Promise<{ leftInFlight: number; upgradesClosed: number }>;
}

export const DEFAULT_HANDLER_OPTIONS: HandlerOptions = {
  requestTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  maxAttempts: 3,
  maxPendingPerEndpoint: 1_000,
};

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const logger = opts.logger;
  let compiled: CompiledSnapshot | null = null;
  let origin: SnapshotOrigin | 'none' = 'none';
  const stats = createProxyStats();
  const upstreams = createUpstreams({
    connectTimeoutMs: opts.connectTimeoutMs ?? 2_000,
    connectionsPerEndpoint: 256,
    keepAliveTimeoutMs: 4_000,
  });
  // Never forward to ourselves: the listeners as configured, and each one as bound (port 0 gets
  // its real port only then) before it can take a request.
  const ownListeners: ListenAddress[] = [
    opts.outbound,
    opts.edge,
    opts.admin,
    ...(opts.alsoSelf ?? []),
  ].filter((a): a is ListenAddress => a !== null && a.port !== 0);
  const guard = selfAddressGuard(ownListeners);
  // Asked for every bound address of every request: answered once per address. Cleared when a
  // listener is added and when a snapshot is applied, so it holds only addresses in use.
  const selfCache = new Map<string, boolean>();
  const isSelf = (address: string): boolean => {
    let known = selfCache.get(address);
    if (known === undefined) {
      known = guard(address);
      selfCache.set(address, known);
    }
    return known;
  };
  const runtime: ProxyRuntime = {
    options: { ...DEFAULT_HANDLER_OPTIONS, ...opts.handler },
    current: () => compiled,
    upstreams,
    retryBudget: createRetryBudget(),
    stats,
    secrets: opts.overrideSecrets,
    trustedHops: opts.trustedHops ?? [],
    isSelf,
    logger,
    pickDestination: createDestinationPicker(DEFAULT_WARMUP_WINDOW_MS),
    now: () => performance.now(),
    random: Math.random,
  };
  const source = opts.source ?? proxyConfigSource(opts, logger);
  await source.start((next, from) => {
    compiled = next;
    origin = from;
    selfCache.clear();
    stats.configApplied(next.version);
    upstreams.retain(
      new Set(
        next.snapshot.modules.flatMap((m) =>
          m.versions.flatMap((v) => v.endpoints.map((e) => e.address)),
        ),
      ),
    );
    logger.info({ event: 'config_applied', version: next.version, origin: from });
  });

  const inflight = newTrafficState();
  const limits: ClientLimits = { ...DEFAULT_CLIENT_LIMITS, ...opts.clientLimits };
  const traffic: Server[] = [];
  const started: {
    outbound: ListenAddress | null;
    edge: ListenAddress | null;
    admin: ListenAddress | null;
  } = {
    outbound: null,
    edge: null,
    admin: null,
  };
  let adminServer: Server | null = null;
  try {
    for (const kind of ['outbound', 'edge'] as const) {
      const at = opts[kind];
      if (at === null) continue;
      const server = createTrafficServer({ kind, runtime, inflight, limits });
      await listen(server, at);
      traffic.push(server);
      started[kind] = listenerAddress(server);
      ownListeners.push(started[kind]);
      selfCache.clear();
    }
    if (opts.admin !== null) {
      const admin = createAdminServer({
        current: () => compiled,
        metrics: stats.registry,
        startedAt: Date.now(),
        configOrigin: () => origin,
      });
      await listen(admin, opts.admin);
      adminServer = admin;
      started.admin = listenerAddress(admin);
      ownListeners.push(started.admin);
      selfCache.clear();
    }
  } catch (error) {
    // A port already taken: let go of what did start, or the stream and the listeners that bound
    // keep the process alive and it never exits (a second proxy on the same ports lingered so).
    for (const server of traffic) server.close();
    await source.stop();
    await upstreams.close();
    throw error;
  }
  logger.info({ event: 'proxy_listening', ...started });

  return {
    ...started,
    current: () => compiled,
    registry: stats.registry,
    async stop(deadlineMs = 10_000) {
      const result = await drainServers(traffic, inflight, deadlineMs);
      adminServer?.close();
      adminServer?.closeAllConnections();
      await source.stop();
      await upstreams.close();
      logger.info({ event: 'proxy_stopped', ...result });
      return result;
    },
  };
}
