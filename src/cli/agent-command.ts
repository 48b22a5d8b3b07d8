// `turnout agent`: the host agent (src/agent/agent.ts) with its flags. Registration is light: the
// agent, the process runtime, undici and pino load when the command runs.

import { hostname } from 'node:os';
import type { Command } from 'commander';
import { TurnoutError } from '../errors.js';
import type { Io } from './io.js';

export interface AgentFlags {
  server?: string;
  token?: string;
  name?: string;
  advertise: string;
  labels?: string;
  maxInstances?: string;
  data: string;
  ca?: string;
  edge?: string;
  outbound: string;
  admin: string;
  ttl: string;
  proxyWorkers: string;
  proxy: boolean;
  stopInstances?: boolean;
  artifactCacheBytes?: string;
  maxUnpackedBytes?: string;
  maxUnpackedFiles?: string;
  json?: boolean;
}

export function registerAgentCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  program
    .command('agent')
    .description(
      "run a host's agent: registers the host, runs its assignments and its proxy, reports to the server",
    )
    .option('--server <url>', 'the Turnout API (env TURNOUT_SERVER)')
    .option('--token <token>', 'an agent (join) token (env TURNOUT_TOKEN)')
    .option('--name <host>', 'the host name to register (default: this machine’s host name)')
    .requiredOption(
      '--advertise <ip>',
      'the address instances listen on and other hosts reach them at',
    )
    .option('--labels <k=v,…>', 'host labels, e.g. zone=a,disk=ssd')
    .option('--max-instances <n>', 'most instances placed on this host (default: no limit)')
    .option(
      '--data <dir>',
      'data directory (instances, proxy state, saved assignments)',
      '.turnout-agent',
    )
    .option('--ca <file>', 'PEM CA certificate(s) to trust for an https server (env TURNOUT_CA)')
    .option('--edge <addr>', 'proxy edge (ingress) listener, or off (default <advertise>:8080)')
    .option(
      '--outbound <addr>',
      'proxy outbound listener for local callers, or off',
      '127.0.0.1:4140',
    )
    .option(
      '--admin <addr>',
      'proxy admin listener (its /stats is pushed), or off',
      '127.0.0.1:9990',
    )
    .option('--ttl <ms>', 'host lease length; heartbeats every ttl/3', '10000')
    .option('--proxy-workers <n>', 'worker processes of the host proxy', '1')
    .option('--no-proxy', 'run no proxy on this host')
    .option(
      '--artifact-cache-bytes <size>',
      'most unpacked artifact bytes kept in the cache, least recently used removed first (10GiB)',
    )
    .option(
      '--max-unpacked-bytes <size>',
      'refuse an artifact whose files add up to more, unpacked (2GiB)',
    )
    .option('--max-unpacked-files <n>', 'refuse an artifact with more entries (100000)')
    .option(
      '--stop-instances',
      'on SIGTERM, stop the instances and the proxy too (default: leave them to the next agent)',
    )
    .option('--json', 'one JSON line per event on stdout; logs as JSON on stderr')
    .action(async (flags: AgentFlags) => {
      const { startAgent } = await import('./agent-run.js');
      const running = await startAgent(flags, io);
      setExit(await running.untilStopped());
    });
}

/** `zone=a,disk=ssd` → { zone: 'a', disk: 'ssd' }; the server checks keys and values. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return labels;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? '' : pair.slice(0, eq).trim();
    if (key === '') {
      throw new TurnoutError(
        'invalid_argument',
        `--labels ${text}: expected key=value,…`,
        '--labels',
      );
    }
    labels[key] = pair.slice(eq + 1).trim();
  }
  return labels;
}

export function defaultHostName(): string {
  return hostname().toLowerCase();
}
