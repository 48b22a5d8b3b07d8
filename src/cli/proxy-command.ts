// `turnout proxy`: runs the data plane — outbound proxy, edge and admin listeners — until
// SIGTERM/SIGINT, then drains gracefully and exits 0. With `--workers N` above 1 this process is
// the primary of N workers (src/proxy/cluster-primary.ts), which node:cluster starts with the same
// command line; each of them comes back here and runs as a worker.

import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { readCa } from '../client/pem.js';
import { TurnoutError } from '../errors.js';
import type { ClientLimits } from '../proxy/client-connection.js';
import { DEFAULT_CLIENT_LIMITS } from '../proxy/client-connection.js';
import type { ListenAddress } from '../proxy/server.js';
import { parseTrustedHops } from '../proxy/trusted-hops.js';
import type { Io } from './io.js';
import { listenError } from './listen-error.js';

/** `127.0.0.1:4140`, `:4140` (127.0.0.1), `[::1]:4140`, or `off`. */
export function parseListen(text: string, flag: string): ListenAddress | null {
  if (text === 'off') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new TurnoutError(
      'invalid_argument',
      `${flag} ${text}: expected host:port, :port or off`,
      flag,
    );
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** A whole number ≥ 1 for a limit flag (milliseconds or a count). */
export function parsePositiveInt(text: string, flag: string): number {
  const n = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1)) {
    throw new TurnoutError(
      'invalid_argument',
      `${flag} ${text}: expected a whole number ≥ 1`,
      flag,
    );
  }
  return n;
}

/** More workers than this is a typo, not a host: each one is a Node process of ~100 MB RSS. */
export const MAX_WORKERS = 256;

/** `--workers`: a whole number from 1 to MAX_WORKERS. */
export function parseWorkers(text: string): number {
  const n = parsePositiveInt(text, '--workers');
  if (n > MAX_WORKERS) {
    throw new TurnoutError(
      'invalid_argument',
      `--workers ${text}: at most ${MAX_WORKERS}`,
      '--workers',
    );
  }
  return n;
}

/** The traffic listeners' client limits from their flags. */
export function clientLimitsFrom(flags: {
  clientHeaderTimeout: string;
  clientBodyTimeout: string;
  maxConnections: string;
  clientIdleTimeout: string;
}): ClientLimits {
  return {
    headerTimeoutMs: parsePositiveInt(flags.clientHeaderTimeout, '--client-header-timeout'),
    bodyTimeoutMs: parsePositiveInt(flags.clientBodyTimeout, '--client-body-timeout'),
    maxConnections: parsePositiveInt(flags.maxConnections, '--max-connections'),
    idleTimeoutMs: parsePositiveInt(flags.clientIdleTimeout, '--client-idle-timeout'),
  };
}

const ZONE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/**
 * `--zone` (or TURNOUT_ZONE when the flag is absent): this proxy's zone, as the hosts' `zone`
 * label spells it; undefined (no locality) when neither is set or the variable is empty.
 */
export function parseZone(flag: string | undefined, env: string | undefined): string | undefined {
  const text = flag ?? (env === '' ? undefined : env);
  if (text === undefined) return undefined;
  if (!ZONE.test(text)) {
    const from = flag === undefined ? 'TURNOUT_ZONE' : '--zone';
    throw new TurnoutError(
      'invalid_argument',
      `${from} ${JSON.stringify(text)}: a zone is 1–63 of A-Z a-z 0-9 . _ - (letters or digits at both ends), as a host's zone label`,
      '--zone',
    );
  }
  return text;
}

interface ProxyFlags {
  config: string;
  outbound: string;
  edge: string;
  admin: string;
  data: string;
  overrideSecret: string[];
  trustedHops: string;
  drainTimeout: string;
  clientHeaderTimeout: string;
  clientBodyTimeout: string;
  maxConnections: string;
  clientIdleTimeout: string;
  ca?: string;
  workers: string;
  zone?: string;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerProxyCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  program
    .command('proxy')
    .description('run the data plane: explicit HTTP proxy (outbound), edge and admin listeners')
    .requiredOption(
      '--config <file|url>',
      'routing snapshot file (watched) or control-plane stream URL',
    )
    .option('--outbound <addr>', 'outbound (explicit proxy) listener, or off', '127.0.0.1:4140')
    .option('--edge <addr>', 'edge (ingress) listener, or off', '127.0.0.1:8080')
    .option(
      '--admin <addr>',
      'admin listener (/ready, /metrics, /config, /explain), or off',
      '127.0.0.1:9990',
    )
    .option('--data <dir>', 'data directory (the last good snapshot is kept here)', '.turnout')
    .option(
      '--ca <file>',
      'PEM CA certificate(s) to trust for an https --config stream (env TURNOUT_CA)',
    )
    .option(
      '--override-secret <secret>',
      'HMAC secret for x-turnout-override tokens (repeatable; env TURNOUT_OVERRIDE_SECRETS, comma-separated)',
      collect,
      [],
    )
    .option(
      '--trusted-hops <cidrs>',
      'edge clients (comma-separated CIDRs, e.g. 10.0.0.0/8,127.0.0.1/32) whose segment headers, sticky keys and forwarding headers are believed',
      'none',
    )
    .option(
      '--drain-timeout <ms>',
      'how long SIGTERM waits for in-flight requests and open WebSocket tunnels',
      '10000',
    )
    .option(
      '--client-header-timeout <ms>',
      'a client must send a whole request head within this (else 408, connection closed)',
      String(DEFAULT_CLIENT_LIMITS.headerTimeoutMs),
    )
    .option(
      '--client-body-timeout <ms>',
      'a request body may be silent this long (else 408, connection closed)',
      String(DEFAULT_CLIENT_LIMITS.bodyTimeoutMs),
    )
    .option(
      '--client-idle-timeout <ms>',
      'a kept-alive client connection waiting for its next request is closed after this',
      String(DEFAULT_CLIENT_LIMITS.idleTimeoutMs),
    )
    .option(
      '--max-connections <n>',
      'open client connections per traffic listener; more are closed on accept',
      String(DEFAULT_CLIENT_LIMITS.maxConnections),
    )
    .option(
      '--workers <n>',
      'worker processes sharing the traffic listeners (1: this process serves alone)',
      String(availableParallelism()),
    )
    .option(
      '--zone <zone>',
      "this host's zone: endpoints whose host has the same zone label are preferred while one of them can take a request (env TURNOUT_ZONE)",
    )
    .option(
      '--json',
      'print the listening addresses as JSON on stdout (logs are always JSON on stdout via pino)',
    )
    .action(async (flags: ProxyFlags) => {
      // Loaded here, not at start-up: only `turnout proxy` needs the data plane and pino.
      const { pino } = await import('pino');
      const { startProxy } = await import('../proxy/main.js');
      const logger = pino({ name: 'turnout-proxy' });
      const workers = parseWorkers(flags.workers);
      const zone = parseZone(flags.zone, process.env.TURNOUT_ZONE);
      // 0: cut in-flight requests at once.
      const drainMs =
        flags.drainTimeout === '0' ? 0 : parsePositiveInt(flags.drainTimeout, '--drain-timeout');
      const traffic = {
        outbound: parseListen(flags.outbound, '--outbound'),
        edge: parseListen(flags.edge, '--edge'),
        overrideSecrets: overrideSecrets(flags.overrideSecret),
        clientLimits: clientLimitsFrom(flags),
        trustedHops: parseTrustedHops(flags.trustedHops),
        ...(zone === undefined ? {} : { handler: { zone } }),
      };
      if (cluster.isWorker) {
        const { runProxyWorker } = await import('../proxy/cluster-worker.js');
        const id = cluster.worker?.id;
        await runProxyWorker({
          ...traffic,
          logger: logger.child({ worker: id }),
          drainTimeoutMs: drainMs,
        });
      }
      const config = /^https?:\/\//.test(flags.config) ? flags.config : resolve(flags.config);
      const ca = readCa(flags.ca);
      const common = {
        config,
        lastGoodPath: join(resolve(flags.data), 'proxy', 'last-good.json'),
        admin: parseListen(flags.admin, '--admin'),
        ...(ca === undefined ? {} : { ca }),
        ...(process.env.TURNOUT_TOKEN === undefined ? {} : { token: process.env.TURNOUT_TOKEN }),
        logger,
      };
      const listeners = {
        '--outbound': traffic.outbound,
        '--edge': traffic.edge,
        '--admin': common.admin,
      };
      const started =
        workers === 1
          ? startProxy({ ...common, ...traffic })
          : import('../proxy/cluster-primary.js').then(({ startProxyCluster }) =>
              startProxyCluster({ ...common, workers }),
            );
      const proxy = await started.catch((error: unknown) => {
        throw listenError(error, listeners, true);
      });
      const show = (a: ListenAddress | null) => (a === null ? 'off' : `${a.host}:${a.port}`);
      io.err(
        `turnout proxy: outbound ${show(proxy.outbound)}, edge ${show(proxy.edge)}, admin ${show(proxy.admin)}` +
          (workers === 1 ? '' : `, ${workers} workers`),
      );
      await new Promise<void>((done) => {
        const stop = (signal: string) => {
          logger.info({ event: 'signal', signal });
          proxy.stop(drainMs).then(
            () => done(),
            () => done(),
          );
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      setExit(0);
    });
}

/** Override secrets from the flags and TURNOUT_OVERRIDE_SECRETS (comma-separated). */
function overrideSecrets(fromFlags: readonly string[]): Buffer[] {
  return [...fromFlags, ...(process.env.TURNOUT_OVERRIDE_SECRETS ?? '').split(',')]
    .filter((s) => s !== '')
    .map((s) => Buffer.from(s));
}
