// `turnout up`: the whole embedded Turnout (src/cli/local-stack.ts) until SIGINT/SIGTERM, which
// stops the proxy, the control plane, the instances (unless --keep-instances) and the store. A
// proxy that dies meanwhile is restarted (src/cli/up-proxy.ts); it never takes the rest down.

import type { Command } from 'commander';
import type { Io } from './io.js';
import type { LocalOptions, LocalStack } from './local-stack.js';
import { artifactOptions, storeAndTlsOptions, storeFrom } from './stack-flags.js';

interface UpFlags extends LocalOptions {
  json?: boolean;
}

/** The listener options `up` and `demo` share. */
export function localOptions(command: Command, dataDefault = '.turnout'): Command {
  return command
    .option(
      '--data <dir>',
      'data directory (store, admin token, proxy state, instances)',
      dataDefault,
    )
    .option('--api <addr>', 'API listener', '127.0.0.1:7070')
    .option(
      '--outbound <addr>',
      'proxy outbound (explicit proxy) listener, or off',
      '127.0.0.1:4140',
    )
    .option('--edge <addr>', 'proxy edge (ingress) listener, or off', '127.0.0.1:8080')
    .option('--admin <addr>', 'proxy admin listener, or off', '127.0.0.1:9990')
    .option(
      '--keep-instances',
      'on stop, leave module instances running for the next start to adopt',
    );
}

export function registerUpCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  artifactOptions(
    storeAndTlsOptions(
      localOptions(
        program
          .command('up')
          .description(
            'run the control plane (store + API + release engine) and one local agent (instances as local processes, a proxy) on local defaults',
          ),
      ),
    )
      .option(
        '--ca <file>',
        "PEM CA the local proxy trusts for the API's certificate (default: --tls-cert, self-signed)",
      )
      .option(
        '--insecure',
        'serve the API over plain HTTP beyond loopback (refused without TLS otherwise)',
      )
      .option('--insecure-local', 'no API authentication (loopback only)'),
  )
    .option('--json', 'print what runs where as JSON')
    .action(async (flags: UpFlags) => {
      // The whole stack (fastify, SQLite, the proxy) loads when `up` runs, not at every start-up.
      const { startLocal } = await import('./local-stack.js');
      const stack = await startLocal({ ...flags, ...storeFrom(flags) });
      if (flags.json === true) io.out(JSON.stringify(stack.summary));
      else
        io.out(
          [
            `turnout up: ${stack.lines[0]}`,
            ...stack.lines.slice(1),
            // The summary prints once the agent has registered and the proxy listens: say so.
            'ready: apply a catalog (turnout apply -f FILE) or open the dashboard; press Ctrl-C to stop',
          ].join('\n'),
        );
      setExit(await untilStopped(stack, io, 'turnout up'));
    });
}

/** Runs until SIGINT/SIGTERM, then stops everything and resolves 0. */
export function untilStopped(
  stack: Pick<LocalStack, 'stop'>,
  io: Io,
  who: string,
): Promise<number> {
  return new Promise<number>((done) => {
    let stopping = false;
    const stop = async (why: string) => {
      if (stopping) return;
      stopping = true;
      io.err(`${who}: ${why}; stopping`);
      await stack.stop();
      done(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}
