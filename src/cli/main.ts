// The `turnout` command line: builds the command tree and maps every error to one exit code.

import { Command, CommanderError, Help } from 'commander';
import { exitCodeOf, TurnoutError } from '../errors.js';
import { registerAgentCommand } from './agent-command.js';
import { registerApplyCommand } from './apply-command.js';
import { colourWanted, errorPrefix, setColour } from './colour.js';
import { registerCompletionCommand } from './completion-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerDescribeCommand } from './describe-command.js';
import { registerDtabCommands } from './dtab-commands.js';
import { registerGetCommand } from './get-command.js';
import { registerHostCommand } from './host-command.js';
import type { Io } from './io.js';
import { processIo } from './io.js';
import { registerLaneCommand } from './lane-command.js';
import { registerLoadCommand } from './load-command.js';
import { registerNotifierCommand } from './notifier-command.js';
import { registerProxyCommand } from './proxy-command.js';
import { registerPushCommand } from './push-command.js';
import { registerLogsCommand, registerReleaseCommand } from './release-command.js';
import { registerRequestCommand } from './request-command.js';
import { registerRouteCommands } from './route-commands.js';
import { registerServerCommand } from './server-command.js';
import { registerUpCommand } from './up-command.js';

export function buildProgram(
  io: Io,
  setExit: (code: number) => void,
  options: { json?: boolean } = {},
): Command {
  const program = new Command('turnout')
    .description(
      'Turnout: release several microservices as one ticket, routed by lane through a lightweight mesh',
    )
    .version(VERSION)
    .option('--no-color', 'no colour, even on a terminal (also NO_COLOR=1)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError()
    // Commander's help does not say which options are required (`request --lane` read as optional
    // until the command refused to run without it); the setting is copied to every subcommand.
    .configureHelp({
      optionDescription(option) {
        const said = new Help().optionDescription(option);
        return option.mandatory ? `${said} (required)` : said;
      },
    })
    // Options after a subcommand are the subcommand's (`server token join --data d`, where
    // `server` has a --data of its own).
    .enablePositionalOptions();
  // With --json a usage error is reported once, as JSON, by main(): commander prints nothing. Set
  // before the commands are added, which copy the program's output settings.
  if (options.json === true) {
    program.configureOutput({ outputError: () => {} }).showHelpAfterError(false);
  }
  registerDtabCommands(program, io, setExit);
  registerRouteCommands(program, io, setExit);
  registerProxyCommand(program, io, setExit);
  registerUpCommand(program, io, setExit);
  registerDemoCommand(program, io, setExit);
  registerGetCommand(program, io, setExit);
  registerApplyCommand(program, io, setExit);
  registerDescribeCommand(program, io, setExit);
  registerLaneCommand(program, io, setExit);
  registerReleaseCommand(program, io, setExit);
  registerLogsCommand(program, io, setExit);
  registerNotifierCommand(program, io, setExit);
  registerLoadCommand(program, io, setExit);
  registerRequestCommand(program, io, setExit);
  registerAgentCommand(program, io, setExit);
  registerServerCommand(program, io, setExit);
  registerHostCommand(program, io, setExit);
  registerPushCommand(program, io, setExit);
  // Last: it reads the tree the others built.
  registerCompletionCommand(program, io);
  return program;
}

const VERSION = '0.1.0';

function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}

/** Runs the CLI; returns the exit code instead of exiting, so it can be tested in-process. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let exit = 0;
  const json = wantsJson(argv);
  // Before parsing: a usage error's message is printed with the same choice.
  const wanted = (stream: NodeJS.WriteStream) =>
    !json &&
    colourWanted({
      isTTY: stream.isTTY === true,
      env: process.env,
      noColorFlag: argv.includes('--no-color'),
    });
  setColour(wanted(process.stdout), wanted(process.stderr));
  const program = buildProgram(
    io,
    (code) => {
      exit = code;
    },
    { json },
  );
  try {
    // --no-color is read above and taken out here, so it works after any command: options after a
    // command are that command's (positional options, for `server token join --data d`).
    await program.parseAsync(argv.filter((a) => a !== '--no-color'));
    return exit;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0; usage errors are bad input.
      if (error.exitCode === 0) return 0;
      if (json) reportError(io, usageError(error), true);
      return 2;
    }
    reportError(io, error, json);
    return exitCodeOf(error);
  }
}

/**
 * Commander's usage errors (unknown option or command, missing argument, …) as our invalid_argument;
 * its message loses the `error: ` prefix and its line breaks (a "Did you mean" hint stays). One
 * about an option (unknown, required, a value not among its choices) names it as the field.
 */
export function usageError(error: CommanderError): TurnoutError {
  const message = error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
  const option = /^(?:unknown |required )?option '(-[^' ]+)/.exec(message)?.[1];
  return new TurnoutError('invalid_argument', message, option);
}

function reportError(io: Io, error: unknown, json: boolean): void {
  if (error instanceof TurnoutError) {
    io.err(json ? JSON.stringify({ error: error.toJSON() }) : `${errorPrefix()} ${error.message}`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.err(
    json
      ? JSON.stringify({ error: { code: 'internal', message } })
      : `${errorPrefix()} internal error: ${message}`,
  );
}
