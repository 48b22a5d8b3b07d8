// What `turnout agent` runs (loaded only then): checks the flags, locks the data dir, opens the
// process runtime bound to --advertise, hands the agent a supervised host proxy
// (`turnout proxy --config <server>/v1/stream`, src/cli/up-proxy.ts), and runs until SIGTERM/SIGINT.

import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { AgentLog, AgentOptions, HostProxy } from '../agent/agent.js';
import { HostAgent } from '../agent/agent.js';
import { DEFAULT_CACHE_BYTES } from '../agent/artifact-cache.js';
import { DEFAULT_UNPACK_CAPS } from '../agent/artifact-unpack.js';
import { createServerLink } from '../agent/server-link.js';
import { readCa } from '../client/pem.js';
import { TurnoutError } from '../errors.js';
import type { ListenAddress } from '../proxy/server.js';
import { openProcessRuntime } from '../runtime/process-runtime.js';
import type { AgentFlags } from './agent-command.js';
import { defaultHostName, parseLabels } from './agent-command.js';
import { parseByteFlag } from './byte-flag.js';
import type { Io } from './io.js';
import { parseListen, parsePositiveInt, parseWorkers } from './proxy-command.js';
import { lockDataDir } from './up-lock.js';
import { hostProxyOf, superviseProxy } from './up-proxy.js';

const BIN = fileURLToPath(new URL('../../bin/turnout.js', import.meta.url));
/** The host proxy believes segment headers from loopback callers only (as `up`'s does). */
const LOCAL_TRUSTED_HOPS = '127.0.0.0/8,::1/128';
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export interface RunningAgent {
  readonly agent: HostAgent;
  /** Resolves 0 after SIGTERM/SIGINT, once the agent has stopped. */
  untilStopped(): Promise<number>;
}

interface Checked {
  server: string;
  token: string;
  name: string;
  advertise: string;
  labels: Record<string, string>;
  capacity: number | null;
  dataDir: string;
  ttlMs: number;
  outbound: ListenAddress | null;
  edge: ListenAddress | null;
  admin: ListenAddress | null;
  workers: number;
  artifacts: NonNullable<AgentOptions['artifacts']>;
}

/** The artifact cache's bound and the unpack caps; defaults (src/agent/) where a flag is absent. */
function artifactFlags(flags: AgentFlags): NonNullable<AgentOptions['artifacts']> {
  const cacheBytes =
    flags.artifactCacheBytes === undefined
      ? DEFAULT_CACHE_BYTES
      : parseByteFlag(flags.artifactCacheBytes, '--artifact-cache-bytes');
  const maxBytes =
    flags.maxUnpackedBytes === undefined
      ? DEFAULT_UNPACK_CAPS.maxBytes
      : parseByteFlag(flags.maxUnpackedBytes, '--max-unpacked-bytes');
  const maxFiles =
    flags.maxUnpackedFiles === undefined
      ? DEFAULT_UNPACK_CAPS.maxFiles
      : parsePositiveInt(flags.maxUnpackedFiles, '--max-unpacked-files');
  return { cacheBytes, unpackCaps: { maxBytes, maxFiles } };
}

function check(flags: AgentFlags): Checked {
  const server = (flags.server ?? process.env.TURNOUT_SERVER ?? '').replace(/\/+$/, '');
  const serverField = flags.server === undefined ? 'TURNOUT_SERVER' : '--server';
  if (!/^https?:\/\/[^/]+/.test(server)) {
    throw new TurnoutError(
      'invalid_argument',
      `${serverField} ${server === '' ? '(not set)' : server}: expected the API's http(s)://host:port`,
      serverField,
    );
  }
  const token = flags.token ?? process.env.TURNOUT_TOKEN ?? '';
  if (token === '') {
    throw new TurnoutError(
      'invalid_argument',
      '--token (or TURNOUT_TOKEN): an agent token is required',
      '--token',
    );
  }
  const name = flags.name ?? defaultHostName();
  if (!NAME.test(name)) {
    throw new TurnoutError(
      'invalid_argument',
      `--name ${name}: a host name is a lower-case DNS name (a-z 0-9 . -)`,
      '--name',
    );
  }
  if (isIP(flags.advertise) === 0) {
    throw new TurnoutError(
      'invalid_argument',
      `--advertise ${flags.advertise}: expected an IP address of this host (instances listen on it)`,
      '--advertise',
    );
  }
  const ttlMs = parsePositiveInt(flags.ttl, '--ttl');
  if (ttlMs < 1500) {
    throw new TurnoutError('invalid_argument', `--ttl ${flags.ttl}: at least 1500 ms`, '--ttl');
  }
  const host = flags.advertise.includes(':') ? `[${flags.advertise}]` : flags.advertise;
  return {
    server,
    token,
    name,
    advertise: flags.advertise,
    labels: parseLabels(flags.labels),
    capacity:
      flags.maxInstances === undefined
        ? null
        : parsePositiveInt(flags.maxInstances, '--max-instances'),
    dataDir: resolve(flags.data),
    ttlMs,
    outbound: parseListen(flags.outbound, '--outbound'),
    edge: parseListen(flags.edge ?? `${host}:8080`, '--edge'),
    admin: parseListen(flags.admin, '--admin'),
    workers: parseWorkers(flags.proxyWorkers),
    artifacts: artifactFlags(flags),
  };
}

function showListen(at: ListenAddress | null): string {
  if (at === null) return 'off';
  return at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** The first SIGTERM or SIGINT from now on. */
function heardSignals(): Promise<string> {
  return new Promise((heard) => {
    process.once('SIGTERM', () => heard('SIGTERM'));
    process.once('SIGINT', () => heard('SIGINT'));
  });
}

/** People get short sentences on stdout; --json one JSON line per event. Problems go to stderr. */
function agentLog(io: Io, json: boolean): AgentLog {
  const logger = pino({ name: 'turnout-agent', level: 'info' }, pino.destination(2));
  const line = (event: string, fields: Record<string, unknown>, text: string) =>
    io.out(json ? JSON.stringify({ event, ...fields, message: text }) : `turnout agent: ${text}`);
  const problem =
    (level: 'warn' | 'error') => (event: string, fields: Record<string, unknown>, text: string) => {
      if (json) logger[level]({ event, ...fields }, text);
      else io.err(`turnout agent: ${text}`);
    };
  return { info: line, warn: problem('warn'), error: problem('error') };
}

export async function startAgent(flags: AgentFlags, io: Io): Promise<RunningAgent> {
  const c = check(flags);
  const caFile = flags.ca ?? process.env.TURNOUT_CA;
  const ca = readCa(flags.ca);
  const json = flags.json === true;
  const log = agentLog(io, json);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
  const lock = lockDataDir(c.dataDir);
  // Heard from here on: a SIGTERM while the agent starts (adopting, starting its proxy,
  // registering) is acted on once the start is done, instead of Node's default of dying mid-way.
  const signals = heardSignals();
  const runtime = await openProcessRuntime({
    dataDir: c.dataDir,
    host: c.advertise,
    baseDir: process.cwd(),
    proxyUrl: c.outbound === null ? null : `http://${urlHost(c.outbound.host)}:${c.outbound.port}`,
  });
  const streamUrl = `${c.server}/v1/stream`;
  const listeners = {
    outbound: showListen(c.outbound),
    edge: showListen(c.edge),
    admin: showListen(c.admin),
  };
  const proxyLogger = pino({ name: 'turnout-agent', level: 'info' }, pino.destination(2));
  const startProxy = async (): Promise<HostProxy> => {
    const supervisor = await superviseProxy(
      c.dataDir,
      {
        command: process.execPath,
        args: [
          BIN,
          'proxy',
          '--config',
          streamUrl,
          '--data',
          c.dataDir,
          '--outbound',
          listeners.outbound,
          '--edge',
          listeners.edge,
          '--admin',
          listeners.admin,
          '--trusted-hops',
          LOCAL_TRUSTED_HOPS,
          ...(caFile === undefined || caFile === '' ? [] : ['--ca', resolve(caFile)]),
          '--workers',
          String(c.workers),
          // Locality: the proxy prefers endpoints in its host's zone (docs/locality.md).
          ...(c.labels.zone === undefined || c.labels.zone === '' ? [] : ['--zone', c.labels.zone]),
        ],
        config: streamUrl,
        listeners,
        token: c.token,
        env: process.env,
        cwd: process.cwd(),
      },
      { logger: proxyLogger },
    );
    return hostProxyOf(supervisor);
  };
  const agent = new HostAgent({
    name: c.name,
    advertise: c.advertise,
    labels: c.labels,
    capacity: c.capacity,
    ttlMs: c.ttlMs,
    dataDir: c.dataDir,
    link: createServerLink({ server: c.server, token: c.token, caFile: flags.ca }),
    ca,
    runtime,
    startProxy: flags.proxy === false ? null : startProxy,
    proxyAdminUrl:
      flags.proxy === false || c.admin === null
        ? null
        : `http://${urlHost(c.admin.host)}:${c.admin.port}`,
    log,
    artifacts: c.artifacts,
  });
  try {
    await agent.start();
  } catch (error) {
    await agent.stop().catch(() => {});
    lock.release();
    throw error;
  }
  log.info(
    'ready',
    {
      host: c.name,
      data: c.dataDir,
      proxy: flags.proxy === false ? 'off' : listeners,
      pid: process.pid,
    },
    `host ${c.name} running (data ${join(c.dataDir)}, proxy ${flags.proxy === false ? 'off' : `edge ${listeners.edge}, outbound ${listeners.outbound}, admin ${listeners.admin}`})`,
  );
  return {
    agent,
    untilStopped: () =>
      new Promise<number>((done) => {
        let stopping = false;
        const stopAll = flags.stopInstances === true;
        const stop = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          // Held until everything is stopped: instances are detached and unref'd.
          const hold = setInterval(() => {}, 60_000);
          log.info(
            'stopping',
            { signal },
            `${signal}: stopping${stopAll ? ' (and the instances and the proxy)' : '; the instances and the proxy keep running for the next agent'}`,
          );
          // Without its instances the host still serves: they call out through the proxy.
          await agent
            .stop({ stopInstances: stopAll, keepProxy: !stopAll })
            .catch((error) => log.error('stop_failed', { reason: String(error) }, String(error)));
          clearInterval(hold);
          lock.release();
          done(0);
        };
        signals.then((signal) => void stop(signal));
      }),
  };
}
