// `turnout server`: the control plane alone, for a fleet of hosts that each run `turnout agent`
// (src/cli/server-stack.ts, loaded when the command runs). `turnout server token <admin|join>`
// prints a generated token from the data dir: the server itself prints only where they are, so
// the join token does not end up in a service's log.

import type { Command } from 'commander';
import { TurnoutError } from '../errors.js';
import type { Io } from './io.js';
import { emit } from './io.js';
import type { ServerOptions } from './server-stack.js';
import { artifactOptions, storeAndTlsOptions, storeFrom } from './stack-flags.js';
import { untilStopped } from './up-command.js';

interface ServerFlags extends ServerOptions {
  json?: boolean;
}

const WHICH = ['admin', 'join'] as const;

export function registerServerCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const server = artifactOptions(
    storeAndTlsOptions(
      program
        .command('server')
        .description(
          'run the control plane alone (store + API + release engine) for agents on many hosts; see docs/fleet.md',
        )
        // `server token join --data d`: --data then belongs to `token`, not to `server`.
        .enablePositionalOptions()
        .option('--data <dir>', 'data directory (SQLite store, generated tokens)', '.turnout')
        .option('--listen <addr>', 'API listener', '127.0.0.1:7070'),
    )
      .option(
        '--insecure',
        'serve the API over plain HTTP beyond loopback (refused without TLS otherwise)',
      )
      .option(
        '--tokens <file>',
        'YAML or JSON list of {name, role, token} (roles viewer|releaser|admin|agent); default: <data>/admin-token and <data>/join-token, generated once',
      )
      .option(
        '--host-lost-grace <ms>',
        'how long a host whose lease ran out has to come back before its instances are started elsewhere',
        '30000',
      ),
  )
    .option('--json', 'print where it listens and what it uses as JSON')
    .action(async (flags: ServerFlags) => {
      const { startServer } = await import('./server-stack.js');
      const stack = await startServer({ ...flags, ...storeFrom(flags) });
      if (flags.json === true) io.out(JSON.stringify(stack.summary));
      else
        io.out(
          [
            `turnout server: ${stack.lines[0]}`,
            ...stack.lines.slice(1),
            'ready: the API serves and the release engine runs; press Ctrl-C to stop',
          ].join('\n'),
        );
      setExit(await untilStopped(stack, io, 'turnout server'));
    });

  server
    .command('token')
    .description(
      'print a token the server generated in its data dir: admin (role admin) or join (role agent, for `turnout agent --token`); made now if the server has not made it yet',
    )
    .argument('<which>', WHICH.join('|'))
    .option('--data <dir>', "the server's data directory", '.turnout')
    .option('--json', 'print {name, role, token, file} as JSON')
    .action(async (which: string, flags: { data: string; json?: boolean }) => {
      if (!(WHICH as readonly string[]).includes(which))
        throw new TurnoutError(
          'invalid_argument',
          `unknown token ${which}: expected ${WHICH.join(' or ')}`,
          'which',
        );
      const { printToken } = await import('./server-token.js');
      const t = printToken(flags.data, which as (typeof WHICH)[number]);
      emit(io, flags.json === true, t, () => t.token);
      setExit(0);
    });
}
