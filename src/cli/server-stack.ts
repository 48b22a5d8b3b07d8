// `turnout server`: the control plane alone (store, API, config stream, health checker, lease
// sweeper, release engine; src/server/control-plane.ts) for a fleet whose hosts each run
// `turnout agent`. No proxy and no instances run here: the agents run them, so stopping the server
// stops nothing they run. The data dir holds the SQLite store (unless --store names another) and
// the generated tokens, and is locked for as long as the server runs.

import { resolve } from 'node:path';
import { pino } from 'pino';
import type { ApiAuth, ApiToken } from '../api/auth.js';
import type { ApiTls } from '../api/server.js';
import { readPemFile } from '../client/pem.js';
import { TurnoutError } from '../errors.js';
import { FleetRuntime } from '../release/fleet-runtime.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ControlPlane } from '../server/control-plane.js';
import { startControlPlane } from '../server/control-plane.js';
import { checkApiListen, checkTlsPair } from '../server/listen-policy.js';
import { openStoreWithArtifacts } from '../server/open-store.js';
import { describeStoreLocation, parseStoreLocation } from '../server/store-url.js';
import type { DataDirToken } from '../server/tokens.js';
import { dataDirToken, generatedApiToken, readTokensFile } from '../server/tokens.js';
import type { Store } from '../store/store.js';
import { parseByteFlag } from './byte-flag.js';
import { makeDataDir } from './data-dir.js';
import { downloadsOf } from './download-flags.js';
import { listenError } from './listen-error.js';
import { hostForUrl } from './local-stack.js';
import { parseListen, parsePositiveInt } from './proxy-command.js';
import { lockDataDir } from './up-lock.js';

export interface ServerOptions {
  data: string;
  listen: string;
  /** `--store` (src/server/store-url.ts); absent: the SQLite file in the data dir. */
  store?: string;
  /** Where `store` came from, for errors: `--store` (default) or `TURNOUT_STORE`. */
  storeField?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure?: boolean;
  /** A tokens file; absent: the generated admin and join tokens in the data dir. */
  tokens?: string;
  /** `--host-lost-grace`: ms a down host has to come back before its instances move (engine default). */
  hostLostGrace?: string;
  /** `--max-concurrent-downloads`: K, hosts downloading artifacts at once (routes/permits.ts). */
  maxConcurrentDownloads?: string;
  /** `--max-artifact-bytes`: the largest artifact upload (default 512 MiB). */
  maxArtifactBytes?: string;
}

export interface ServerStack {
  readonly url: string;
  /** What `server --json` prints. */
  readonly summary: Record<string, unknown>;
  /** Lines for people. */
  readonly lines: string[];
  readonly controlPlane: ControlPlane;
  /** Stops the control plane and closes the store (idempotent); agents and instances run on. */
  stop(): Promise<void>;
}

/**
 * The runtime the release engine starts instances with: assignments that the hosts' agents follow
 * (src/release/fleet-runtime.ts), placed across the hosts they registered.
 */
function fleetRuntime(store: Store): Runtime {
  return new FleetRuntime({ store });
}

interface Auth {
  auth: ApiAuth;
  names: { name: string; role: string }[];
  generated: { admin: DataDirToken; join: DataDirToken } | null;
  warnings: string[];
}

/** The tokens file's, or the data dir's generated admin and join tokens. */
async function serverAuth(flags: ServerOptions, dataDir: string): Promise<Auth> {
  if (flags.tokens !== undefined) {
    const file = await readTokensFile(resolve(flags.tokens));
    return {
      auth: { tokens: file.tokens },
      names: file.tokens.map(({ name, role }) => ({ name, role })),
      generated: null,
      warnings: file.warnings,
    };
  }
  const admin = dataDirToken(dataDir, 'admin');
  const join = dataDirToken(dataDir, 'join');
  const tokens: ApiToken[] = [
    generatedApiToken('admin', admin.token),
    generatedApiToken('join', join.token),
  ];
  return {
    auth: { tokens },
    names: tokens.map(({ name, role }) => ({ name, role })),
    generated: { admin, join },
    warnings: [],
  };
}

function readTls(flags: ServerOptions): ApiTls | undefined {
  if (!checkTlsPair(flags.tlsCert, flags.tlsKey)) return undefined;
  return {
    cert: readPemFile(resolve(flags.tlsCert as string), '--tls-cert'),
    key: readPemFile(resolve(flags.tlsKey as string), '--tls-key'),
  };
}

/** Checks every flag, then starts the control plane on the (locked) data dir. */
export async function startServer(flags: ServerOptions): Promise<ServerStack> {
  const listen = parseListen(flags.listen, '--listen');
  if (listen === null)
    throw new TurnoutError('invalid_argument', '--listen cannot be off', '--listen');
  const dataDir = resolve(flags.data);
  const storeAt = parseStoreLocation(flags.store, dataDir, flags.storeField);
  const tls = readTls(flags);
  const hostLostGraceMs =
    flags.hostLostGrace === undefined
      ? undefined
      : parsePositiveInt(flags.hostLostGrace, '--host-lost-grace');
  const downloads = downloadsOf(flags.maxConcurrentDownloads);
  const maxArtifactBytes =
    flags.maxArtifactBytes === undefined
      ? undefined
      : parseByteFlag(flags.maxArtifactBytes, '--max-artifact-bytes');
  const warning = checkApiListen(
    listen.host,
    { tls: tls !== undefined, insecure: flags.insecure === true },
    '--listen',
  );
  // A bad tokens file fails before the data dir is made; a later failure undoes what it added.
  const fileAuth = flags.tokens === undefined ? null : await serverAuth(flags, dataDir);
  const made = makeDataDir(dataDir);
  const lock = lockDataDir(dataDir, 'turnout server');
  try {
    const auth = fileAuth ?? (await serverAuth(flags, dataDir));
    const warnings = [...(warning === null ? [] : [warning]), ...auth.warnings];
    const opened = await openStoreWithArtifacts(storeAt, flags.storeField);
    const { store } = opened;
    const runtime = fleetRuntime(store);
    const logger = pino({ name: 'turnout-server', level: 'warn' }, pino.destination(2));
    let cp: ControlPlane;
    try {
      cp = await startControlPlane({
        store,
        auth: auth.auth,
        listen,
        ...(tls === undefined ? {} : { tls }),
        logger,
        release: { runtime, ...(hostLostGraceMs === undefined ? {} : { hostLostGraceMs }) },
        api: { downloads },
        artifacts: {
          store: opened.artifacts,
          ...(maxArtifactBytes === undefined ? {} : { maxBytes: maxArtifactBytes }),
        },
      });
    } catch (error) {
      await opened.close().catch(() => {});
      throw listenError(error, { '--listen': listen }, false);
    }
    const address = cp.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : listen.port;
    const url = `${tls === undefined ? 'http' : 'https'}://${hostForUrl(listen.host)}:${port}`;
    const { summary, lines } = describe(url, dataDir, describeStoreLocation(storeAt), auth, {
      tls: tls !== undefined,
      runtime: "fleet: the release engine places instances on the agents' hosts",
      warnings,
    });
    let stopping: Promise<void> | null = null;
    return {
      url,
      summary,
      lines,
      controlPlane: cp,
      stop() {
        // A ref'd timer keeps the process alive until the store is closed and the lock released:
        // once the API has closed, nothing else may hold the event loop.
        stopping ??= (async () => {
          const hold = setInterval(() => {}, 60_000);
          try {
            await cp.stop().catch(() => {});
            await runtime.close().catch(() => {});
            await opened.close().catch(() => {});
          } finally {
            lock.release();
            clearInterval(hold);
          }
        })();
        return stopping;
      },
    };
  } catch (error) {
    // Undone while the lock is still held, so no other run's files are taken for this one's.
    made.undo();
    lock.release();
    throw error;
  }
}

/** What `server` prints at start: where it listens, its store, its tokens (paths, never values). */
function describe(
  url: string,
  dataDir: string,
  store: string,
  auth: Auth,
  how: { tls: boolean; runtime: string; warnings: string[] },
): { summary: Record<string, unknown>; lines: string[] } {
  const generated = auth.generated;
  const summary = {
    data: dataDir,
    store,
    api: url,
    tls: how.tls,
    tokens: auth.names,
    ...(generated === null
      ? {}
      : {
          adminTokenFile: generated.admin.path,
          adminTokenCreated: generated.admin.created,
          joinTokenFile: generated.join.path,
          joinTokenCreated: generated.join.created,
        }),
    runtime: how.runtime,
    ...(how.warnings.length === 0 ? {} : { warnings: how.warnings }),
  };
  const lines = [
    `data ${dataDir}`,
    `  store    ${store}`,
    `  api      ${url} (${how.tls ? 'TLS, ' : ''}bearer tokens: ${auth.names.map((t) => `${t.name}=${t.role}`).join(', ')})`,
    `  runtime  ${summary.runtime}`,
  ];
  if (generated !== null) {
    const said = (t: DataDirToken) => `${t.path}${t.created ? ' (new)' : ''}`;
    lines.push(
      `  admin    token in ${said(generated.admin)}`,
      `  join     token for agents in ${said(generated.join)} — print it with: turnout server token join --data ${dataDir}`,
      `export TURNOUT_SERVER=${url} TURNOUT_TOKEN=$(cat ${generated.admin.path})`,
    );
  }
  for (const w of how.warnings) lines.push(`  warning  ${w}`);
  return { summary, lines };
}
