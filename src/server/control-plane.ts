// The control plane in one process, for `turnout up`, the demo and tests: the HTTP API (with the
// config stream and the snapshot publisher), the health checker, the lease sweeper and the stats
// scraper over the given store. The caller owns the store (opens and closes it). Replicas on one
// store: the one holding the release engine's lease also probes and sweeps; the others serve the
// API and the config stream.
//
// Adding a worker (the release engine): start it after the API listens, pass `onChange: wake` if it
// writes to the store outside HTTP (so proxies see its writes at once), and stop it in `stop()`
// before the API closes.

import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiAuth } from '../api/auth.js';
import type { ApiServerOptions, ApiTls, ListenOptions } from '../api/server.js';
import { createApiServer, listenApi } from '../api/server.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { ArtifactCollectorOptions } from '../artifacts/collector.js';
import { ArtifactCollector } from '../artifacts/collector.js';
import type { HealthCheckerOptions } from '../control/health-checker.js';
import { HealthChecker, notOnAgentHosts } from '../control/health-checker.js';
import { LeaseSweeper, REGISTRY_ACTOR } from '../control/lease-sweeper.js';
import type { DelivererOptions } from '../control/notifier-deliverer.js';
import { NotifierDeliverer } from '../control/notifier-deliverer.js';
import { SnapshotPublisher } from '../control/publisher.js';
import { StatsScraper } from '../control/stats-scraper.js';
import type { EngineOptions } from '../release/engine.js';
import { ReleaseEngine } from '../release/engine.js';
import { StatsWindow } from '../release/stats-window.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { resumeLeases } from './lease-resume.js';

export interface ControlPlaneOptions {
  readonly store: Store;
  readonly auth: ApiAuth;
  /** Where the API listens (port 0: any free port; `url` says which). */
  readonly listen: ListenOptions;
  /** Serve the API over HTTPS (`url` then starts with https://); none: plain HTTP. */
  readonly tls?: ApiTls;
  /** Admin base URLs of the proxies whose stats to keep (`http://127.0.0.1:9990`); read each scrape. */
  readonly proxyAdminUrls?: () => readonly string[];
  /** A pino logger; none: nothing is logged. */
  readonly logger?: Logger;
  /** Stats scrape interval. Default 1000. */
  readonly statsIntervalMs?: number;
  /** Lease sweep interval. Default 1000. */
  readonly leaseSweepMs?: number;
  /**
   * At start, how long hosts whose lease ran out while no control plane ran have to heartbeat
   * before they are lost (src/server/lease-resume.ts). Default 10 000.
   */
  readonly leaseResumeMs?: number;
  /** API limits (body, streams per token; src/api/server.ts has the defaults) and the edge's URL. */
  readonly api?: Pick<
    ApiServerOptions,
    'bodyLimit' | 'streamsPerToken' | 'edgeUrl' | 'overrideSecret' | 'downloads'
  >;
  /** Health checker tuning (concurrency, timeouts, clock…). */
  readonly health?: Omit<HealthCheckerOptions, 'store' | 'logger' | 'onChange'>;
  /**
   * Runs the release engine (on whichever replica holds its lease) with this runtime for the
   * instances it starts; absent: no engine (tickets are recorded but nothing moves them).
   */
  readonly release?: {
    readonly runtime: Runtime | null;
  } & Partial<Omit<EngineOptions, 'store' | 'runtime' | 'traffic' | 'onChange' | 'logger'>>;
  /** Notification delivery tuning (poll, timeout, retry policy, clock); it always runs. */
  readonly notify?: Omit<DelivererOptions, 'store' | 'logger'>;
  /**
   * Runs once the API listens, before the health checker, lease sweeper and engine start: `up`
   * starts its local agent here, which registers over this API (renewing its leases) before the
   * engine's recovery waits on it. A throw stops the API and fails the start.
   */
  readonly afterListen?: (app: FastifyInstance) => Promise<void>;
  /**
   * The artifact store /v1/artifacts serves and the collector sweeps (on the leader); none: no
   * artifact routes, no collector. The caller owns it (opens and closes it).
   */
  readonly artifacts?: {
    readonly store: ArtifactStore;
    /** --max-artifact-bytes. Default 512 MiB. */
    readonly maxBytes?: number;
  } & Omit<ArtifactCollectorOptions, 'store' | 'artifacts' | 'leading' | 'logger'>;
}

export interface ControlPlane {
  readonly app: FastifyInstance;
  /** The API's base URL, e.g. `http://127.0.0.1:7070`. */
  readonly url: string;
  readonly publisher: SnapshotPublisher;
  readonly statsWindow: StatsWindow;
  readonly healthChecker: HealthChecker;
  readonly leaseSweeper: LeaseSweeper;
  readonly statsScraper: StatsScraper;
  readonly engine: ReleaseEngine | null;
  readonly notifier: NotifierDeliverer;
  readonly artifactCollector: ArtifactCollector | null;
  /** Stops the workers, then the API and the publisher; the store stays open. Idempotent. */
  stop(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { store, logger } = options;
  const child = (component: string) => logger?.child({ component });
  // Before the first snapshot: leases that ran out while no control plane ran (lease-resume.ts).
  const resumed = await resumeLeases(
    store,
    Date.now(),
    options.leaseResumeMs ?? 10_000,
    REGISTRY_ACTOR,
  );
  if (resumed.length > 0)
    child('registry')?.warn(
      { event: 'leases_resumed', hosts: resumed },
      `${resumed.length} host lease(s) ran out while no control plane ran; waiting for their agents`,
    );
  const publisher = new SnapshotPublisher(store, { logger: child('publisher') });
  await publisher.start();
  const statsWindow = new StatsWindow();
  let engine: ReleaseEngine | null = null;
  // Built before the API (agents push stats to it through the API), started after it: until then
  // no instance shows load.
  const statsScraper = new StatsScraper({
    window: statsWindow,
    targets: options.proxyAdminUrls ?? (() => []),
    intervalMs: options.statsIntervalMs,
    logger: child('stats'),
    isHostDown: async (host) => (await store.getHost(host))?.state === 'down',
  });
  let app: FastifyInstance | undefined;
  let url: string;
  try {
    app = await createApiServer({
      store,
      auth: options.auth,
      publisher,
      statsWindow,
      logger,
      // The engine starts after the API listens; a command before then waits for its first tick.
      kickEngine: () => void engine?.kick(),
      runtime: options.release?.runtime ?? null,
      inFlight: () => statsScraper.inFlight(),
      pushStats: (host, json) => statsScraper.push(host, json),
      ...options.api,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.artifacts === undefined
        ? {}
        : {
            artifacts: options.artifacts.store,
            ...(options.artifacts.maxBytes === undefined
              ? {}
              : { maxArtifactBytes: options.artifacts.maxBytes }),
          }),
    });
    url = await listenApi(app, options.listen);
    await options.afterListen?.(app);
  } catch (error) {
    await app?.close().catch(() => {});
    publisher.stop();
    throw error;
  }
  const deliverer = new NotifierDeliverer({
    ...options.notify,
    store,
    logger: child('notifier'),
  });
  // Background writes bypass the API's notify hook: wake the publisher for them too, and the
  // deliverer (an engine write may have raised a notification: send it now, not at the next poll).
  const wake = () => {
    void publisher.notify();
    void deliverer.kick();
  };
  // Replicas sharing a store elect one leader through the release engine's lease: it alone runs the
  // engine, probes instances and sweeps leases. Without an engine this control plane is alone.
  const leading = () => options.release === undefined || (engine?.isLeader ?? false);
  const leaseSweeper = new LeaseSweeper({
    store,
    onChange: wake,
    // A lost host: the engine places its instances elsewhere after the grace (host-failure.ts).
    onHostDown: () => {
      wake();
      void engine?.kick();
    },
    leading,
    intervalMs: options.leaseSweepMs,
    logger: child('registry'),
  });
  const healthChecker = new HealthChecker({
    // Instances on a host an agent registered are probed by that agent, which reports their health.
    filter: notOnAgentHosts,
    ...options.health,
    store,
    onChange: wake,
    leading,
    logger: child('health'),
  });
  const artifactCollector =
    options.artifacts === undefined
      ? null
      : new ArtifactCollector({
          ...options.artifacts,
          artifacts: options.artifacts.store,
          store,
          leading,
          ...(logger === undefined ? {} : { logger: child('artifacts') as Logger }),
        });
  leaseSweeper.start();
  artifactCollector?.start();
  await healthChecker.start();
  statsScraper.start();
  deliverer.start();
  if (options.release !== undefined) {
    engine = new ReleaseEngine({
      ...options.release,
      store,
      traffic: statsWindow,
      onChange: wake,
      proxiesApplied: (version) => statsScraper.allApplied(version),
      logger: child('engine'),
    });
    await engine.start();
  }
  const releaseEngine = engine;

  const api = app;
  let stopping: Promise<void> | null = null;
  return {
    app: api,
    url,
    publisher,
    statsWindow,
    healthChecker,
    leaseSweeper,
    statsScraper,
    engine: releaseEngine,
    notifier: deliverer,
    artifactCollector,
    stop() {
      stopping ??= (async () => {
        await releaseEngine?.stop();
        await Promise.all([
          statsScraper.stop(),
          healthChecker.stop(),
          leaseSweeper.stop(),
          deliverer.stop(),
          artifactCollector?.stop(),
        ]);
        await api.close();
        publisher.stop();
      })();
      return stopping;
    },
  };
}
