// The whole embedded Turnout in this process, for `turnout up` and `turnout demo`: a fleet of one.
// The control plane (SQLite store, API, health checker, lease sweeper, stats, release engine;
// src/server/control-plane.ts) runs instances through the fleet runtime, and one agent in this
// process (src/agent/agent.ts, as `turnout agent` runs it; src/cli/up-fleet.ts) follows them with
// the process runtime, reports their health, and supervises the proxy as a process of its own
// (`turnout proxy --config http://<api>/v1/stream`, src/cli/up-proxy.ts), so control-plane work
// never stalls traffic and a control plane killed with SIGKILL leaves traffic flowing: the next
// start on the data dir keeps that proxy, as its agent adopts the instances. A proxy that ends by
// itself is started again with backoff, the rest running on. `<data>/up.pid` keeps a second start
// off a data dir in use. stop() ends the engine, then the agent (its proxy, and the instances
// unless keepInstances) while the API still answers it, then the rest and the store.

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { HostAgent } from '../agent/agent.js';
import type { ApiAuth } from '../api/auth.js';
import type { ApiTls } from '../api/server.js';
import { readPemFile } from '../client/pem.js';
import { TurnoutError } from '../errors.js';
import type { ListenAddress } from '../proxy/server.js';
import { openProcessRuntime } from '../runtime/process-runtime.js';
import type { ControlPlane } from '../server/control-plane.js';
import { startControlPlane } from '../server/control-plane.js';
import { checkApiListen, checkTlsPair } from '../server/listen-policy.js';
import { openStoreWithArtifacts } from '../server/open-store.js';
import { dataDirOverrideSecret, withOverrideSecret } from '../server/override-secret.js';
import type { StoreLocation } from '../server/store-url.js';
import { describeStoreLocation, parseStoreLocation } from '../server/store-url.js';
import { dataDirToken, generatedApiToken } from '../server/tokens.js';
import { parseByteFlag } from './byte-flag.js';
import { makeDataDir } from './data-dir.js';
import { downloadsOf } from './download-flags.js';
import { listenError } from './listen-error.js';
import { parseListen } from './proxy-command.js';
import { LocalFleetRuntime, localHostName, startLocalAgent } from './up-fleet.js';
import { lockDataDir } from './up-lock.js';
import type { ProxyCommand, ProxySupervisor } from './up-proxy.js';
import { superviseProxy } from './up-proxy.js';

const BIN = fileURLToPath(new URL('../../bin/turnout.js', import.meta.url));

export interface LocalOptions {
  data: string;
  api: string;
  outbound: string;
  edge: string;
  admin: string;
  insecureLocal?: boolean;
  keepInstances?: boolean;
  /** What instances' relative commands and working dirs resolve against. Default: cwd. */
  baseDir?: string;
  /** `--store` (src/server/store-url.ts); absent: the SQLite file in the data dir. */
  store?: string;
  /** Where `store` came from, for errors: `--store` (default) or `TURNOUT_STORE`. */
  storeField?: string;
  /** PEM files: the API then speaks HTTPS (both or neither). */
  tlsCert?: string;
  tlsKey?: string;
  /** What the local proxy trusts for the API's certificate; default: tlsCert (self-signed). */
  ca?: string;
  /** Plain HTTP beyond loopback, on purpose (src/server/listen-policy.ts). */
  insecure?: boolean;
  /** `--max-concurrent-downloads`: K for the artifact download throttle. */
  maxConcurrentDownloads?: string;
  /** `--max-artifact-bytes`: the largest artifact upload (default 512 MiB). */
  maxArtifactBytes?: string;
}

export interface LocalStack {
  readonly apiUrl: string;
  /** The edge listener's base URL, or null when it is off. */
  readonly edgeUrl: string | null;
  readonly dataDir: string;
  readonly token: string | null;
  /** What runs where (what `up --json` prints). */
  readonly summary: Record<string, unknown>;
  /** Lines for people: what runs where. */
  readonly lines: string[];
  readonly controlPlane: ControlPlane;
  /** The proxy's pid now (it changes when the proxy is restarted). */
  proxyPid(): number;
  /** Stops everything (idempotent). */
  stop(): Promise<void>;
}

export function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** A listener as the proxy is given it and as proxy.json records it: `host:port` or `off`. */
function showListen(at: ListenAddress | null): string {
  if (at === null) return 'off';
  return at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
}

/** The proxy of `up` and `demo` trusts loopback clients only (see README "The edge's trust rules"). */
export const LOCAL_TRUSTED_HOPS = '127.0.0.0/8,::1/128';

/** Starts everything on the data dir (locked for as long as it runs). */
export async function startLocal(flags: LocalOptions): Promise<LocalStack> {
  const api = parseListen(flags.api, '--api');
  if (api === null) throw new TurnoutError('invalid_argument', '--api cannot be off', '--api');
  // Validate the proxy listeners here, so a typo fails before anything starts.
  const outbound = parseListen(flags.outbound, '--outbound');
  const edge = parseListen(flags.edge, '--edge');
  const proxyAdmin = parseListen(flags.admin, '--admin');
  const dataDir = resolve(flags.data);
  const storeAt = parseStoreLocation(flags.store, dataDir, flags.storeField);
  const tls = readTls(flags);
  const warning = checkApiListen(api.host, {
    tls: tls !== undefined,
    insecure: flags.insecure === true,
  });
  // Owner-only: the store, the admin token, run specs and logs live here. A failed start undoes
  // what it added (src/cli/data-dir.ts).
  const made = makeDataDir(dataDir);
  const lock = lockDataDir(dataDir);
  try {
    const stack = await startLocked(flags, {
      api,
      outbound,
      edge,
      proxyAdmin,
      dataDir,
      storeAt,
      tls,
      warning,
    });
    let stopped: Promise<void> | null = null;
    return {
      ...stack,
      stop() {
        // A ref'd timer keeps the process alive until everything is stopped: instances are
        // detached and unref'd, so once the API has closed nothing else may hold the event loop.
        if (stopped === null) {
          const hold = setInterval(() => {}, 60_000);
          stopped = stack.stop().finally(() => {
            clearInterval(hold);
            lock.release();
          });
        }
        return stopped;
      },
    };
  } catch (error) {
    // Undone while the lock is still held, so no other run's files are taken for this one's.
    made.undo();
    lock.release();
    throw error;
  }
}

/** The API's certificate and key (read now: a bad file fails before anything starts). */
function readTls(flags: LocalOptions): (ApiTls & { caFile: string }) | undefined {
  if (!checkTlsPair(flags.tlsCert, flags.tlsKey)) return undefined;
  const certFile = resolve(flags.tlsCert as string);
  const caFile = resolve(flags.ca ?? certFile);
  readPemFile(caFile, flags.ca === undefined ? '--tls-cert' : '--ca');
  return {
    cert: readPemFile(certFile, '--tls-cert'),
    key: readPemFile(resolve(flags.tlsKey as string), '--tls-key'),
    caFile,
  };
}

/** The API's base URL as it listens (port 0 picks one). */
function apiUrlOf(app: FastifyInstance, api: ListenAddress, tls: boolean): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : api.port;
  return `${tls ? 'https' : 'http'}://${hostForUrl(api.host)}:${port}`;
}

/** `turnout proxy` as the local agent supervises it, reading the API's config stream. */
function proxyCommand(
  streamUrl: string,
  dataDir: string,
  listeners: { outbound: string; edge: string; admin: string },
  tls: { caFile: string } | undefined,
  token: string | null,
  overrideSecret: string,
): ProxyCommand {
  return {
    command: process.execPath,
    args: [
      BIN,
      'proxy',
      '--config',
      streamUrl,
      '--data',
      dataDir,
      '--outbound',
      listeners.outbound,
      '--edge',
      listeners.edge,
      '--admin',
      listeners.admin,
      // Everything here listens on loopback: local clients (the demo's load, curl) stand for
      // the gateway that would set x-user-id in front of a real edge. Remote ones never do.
      '--trusted-hops',
      LOCAL_TRUSTED_HOPS,
      ...(tls === undefined ? [] : ['--ca', tls.caFile]),
      // One process, not one per core: the agent already restarts the proxy when it dies, a
      // local stack carries a developer's traffic, and each worker is another Node process to
      // start (seconds on a busy machine) and keep in memory. See docs/proxy-workers.md.
      '--workers',
      '1',
    ],
    config: streamUrl,
    listeners,
    token,
    // In the environment, not on the command line (ps shows that): the secret "try it" signs with.
    env: {
      ...process.env,
      TURNOUT_OVERRIDE_SECRETS: withOverrideSecret(
        process.env.TURNOUT_OVERRIDE_SECRETS,
        overrideSecret,
      ),
    },
    cwd: process.cwd(),
  };
}

async function startLocked(
  flags: LocalOptions,
  at: {
    api: ListenAddress;
    outbound: ListenAddress | null;
    edge: ListenAddress | null;
    proxyAdmin: ListenAddress | null;
    dataDir: string;
    storeAt: StoreLocation;
    tls: (ApiTls & { caFile: string }) | undefined;
    warning: string | null;
  },
): Promise<LocalStack> {
  const { api, outbound, edge, proxyAdmin, dataDir, storeAt, tls, warning } = at;
  const insecure = flags.insecureLocal === true;
  const token = insecure ? null : dataDirToken(dataDir, 'admin');
  // The local agent joins as any agent does, with the data dir's join token (role agent).
  const joinToken = insecure ? null : dataDirToken(dataDir, 'join');
  const overrideSecret = dataDirOverrideSecret(dataDir);
  const auth: ApiAuth =
    token === null || joinToken === null
      ? { insecureLocal: true }
      : {
          tokens: [
            generatedApiToken('admin', token.token),
            generatedApiToken('join', joinToken.token),
          ],
        };

  const logger = pino({ name: 'turnout-api', level: 'warn' }, pino.destination(2));
  // The proxy supervisor's exits and restarts are worth an info line each.
  const upLogger = pino({ name: 'turnout-up', level: 'info' }, pino.destination(2));
  const agentLogger = pino({ name: 'turnout-agent', level: 'warn' }, pino.destination(2));
  const maxArtifactBytes =
    flags.maxArtifactBytes === undefined
      ? undefined
      : parseByteFlag(flags.maxArtifactBytes, '--max-artifact-bytes');
  const opened = await openStoreWithArtifacts(storeAt, flags.storeField);
  const { store } = opened;
  const adminUrl =
    proxyAdmin === null ? null : `http://${hostForUrl(proxyAdmin.host)}:${proxyAdmin.port}`;
  // Instances run from the current directory (relative commands and cwd resolve here), and
  // reach other modules through this proxy's outbound listener. The local agent runs them.
  const processes = await openProcessRuntime({
    dataDir,
    baseDir: flags.baseDir ?? process.cwd(),
    proxyUrl: outbound === null ? null : `http://${hostForUrl(outbound.host)}:${outbound.port}`,
  }).catch(async (error: unknown) => {
    await opened.close().catch(() => {});
    throw error;
  });
  const runtime = new LocalFleetRuntime(store, processes);
  const listeners = {
    outbound: showListen(outbound),
    edge: showListen(edge),
    admin: showListen(proxyAdmin),
  };
  const hostName = localHostName();
  let supervisor: ProxySupervisor | null = null;
  let agent: HostAgent | null = null;
  // The agent starts once the API listens and before the engine does: it registers over the
  // loopback API (renewing its host's and instances' leases) and adopts what runs, so the engine's
  // recovery finds the host alive and, for an instance to restart, an agent to start it.
  const afterListen = async (app: FastifyInstance) => {
    const url = apiUrlOf(app, api, tls !== undefined);
    const streamUrl = `${url}/v1/stream`;
    agent = await startLocalAgent({
      name: hostName,
      apiUrl: url,
      token: joinToken?.token ?? '',
      caFile: tls?.caFile,
      ca: tls === undefined ? undefined : readPemFile(tls.caFile, '--ca'),
      dataDir,
      runtime: processes,
      proxyAdminUrl: adminUrl,
      logger: agentLogger,
      startProxy: async () => {
        supervisor = await superviseProxy(
          dataDir,
          proxyCommand(streamUrl, dataDir, listeners, tls, token?.token ?? null, overrideSecret),
          { logger: upLogger },
        );
        return supervisor;
      },
    });
  };
  let cp: ControlPlane;
  try {
    cp = await startControlPlane({
      store,
      auth,
      listen: api,
      ...(tls === undefined ? {} : { tls }),
      logger,
      release: { runtime },
      afterListen,
      // GET /v1/edge: what `release prerelease` puts in the curl it prints.
      api: {
        downloads: downloadsOf(flags.maxConcurrentDownloads),
        edgeUrl: () => (edge === null ? null : `http://${hostForUrl(edge.host)}:${edge.port}`),
        overrideSecret,
      },
      artifacts: {
        store: opened.artifacts,
        ...(maxArtifactBytes === undefined ? {} : { maxBytes: maxArtifactBytes }),
      },
    });
  } catch (error) {
    await (agent as HostAgent | null)?.stop().catch(() => {});
    await processes.close().catch(() => {});
    await opened.close().catch(() => {});
    throw listenError(error, { '--api': api }, false);
  }
  const apiUrl = apiUrlOf(cp.app, api, tls !== undefined);
  const streamUrl = `${apiUrl}/v1/stream`;
  const localAgent = agent as unknown as HostAgent;
  const proxies = supervisor as unknown as ProxySupervisor;
  const { proxy, replaced } = proxies.first;
  const adopted = localAgent.adopted ?? { adopted: 0, dead: [] };

  const summary = {
    data: dataDir,
    store: describeStoreLocation(storeAt),
    api: apiUrl,
    dashboard: `${apiUrl}/`,
    auth: insecure ? 'insecure-local' : 'token',
    tls: tls !== undefined,
    ...(warning === null ? {} : { warnings: [warning] }),
    ...(token === null
      ? {}
      : {
          adminToken: token.token,
          adminTokenFile: join(dataDir, 'admin-token'),
          adminTokenCreated: token.created,
        }),
    instances: { adopted: adopted.adopted, dead: adopted.dead.length },
    runtime: { kind: 'fleet', hosts: [hostName], agent: 'in this process' },
    proxy: {
      pid: proxy.pid,
      adopted: proxy.adopted,
      log: proxy.log,
      config: streamUrl,
      ...listeners,
    },
  };
  const lines = [
    `data ${dataDir}`,
    `  store    ${describeStoreLocation(storeAt)}`,
    `  api      ${apiUrl} (${insecure ? 'insecure local: no authentication, loopback only' : 'bearer token'})`,
    `  dashboard ${apiUrl}/ (${insecure ? 'no sign-in' : 'sign in with the token below'})`,
    `  proxy    pid ${proxy.pid} (${proxy.adopted ? 'kept from an earlier run' : 'started'}), config ${streamUrl}, log ${proxy.log}`,
    `  outbound ${listeners.outbound}`,
    `  edge     ${listeners.edge}`,
    `  admin    ${listeners.admin}`,
    `  runtime  fleet: 1 host (${hostName}, its agent in this process; ${adopted.adopted} instance(s) adopted from an earlier run)`,
  ];
  if (warning !== null) lines.push(`  warning  ${warning}`);
  if (replaced !== null) {
    lines.push(`  (stopped the proxy an earlier run left, pid ${replaced.pid}: ${replaced.why})`);
  }
  if (token !== null) {
    lines.push(
      `  token    ${token.token} (${token.created ? 'new, ' : ''}saved in ${join(dataDir, 'admin-token')})`,
      `export TURNOUT_SERVER=${apiUrl} TURNOUT_TOKEN=${token.token}`,
    );
  }
  let stopping: Promise<void> | null = null;
  return {
    apiUrl,
    edgeUrl: edge === null ? null : `http://${hostForUrl(edge.host)}:${edge.port}`,
    dataDir,
    token: token?.token ?? null,
    summary,
    lines,
    controlPlane: cp,
    proxyPid: () => proxies.current().pid,
    stop() {
      stopping ??= (async () => {
        // The engine first, so it does not restart what is being stopped (a start it waits on
        // still finds the agent); then the agent — its proxy, and the instances unless kept —
        // while the API still answers it; then the rest of the control plane and the store.
        await cp.engine?.stop().catch(() => {});
        await localAgent.stop({ stopInstances: flags.keepInstances !== true }).catch(() => {});
        await cp.stop().catch(() => {});
        await opened.close().catch(() => {});
      })();
      return stopping;
    },
  };
}
