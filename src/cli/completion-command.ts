// `turnout completion bash|zsh|fish`: prints a completion script made from this very command tree
// (src/cli/completion.ts), to be sourced by the shell's start-up file.

import type { Command } from 'commander';
import { TurnoutError } from '../errors.js';
import type { CompletionNode, Shell } from './completion.js';
import { completionScript, SHELLS } from './completion.js';
import type { Io } from './io.js';

/** The commander tree as the generator's nodes; hidden commands and help stay out. */
export function completionTree(command: Command): CompletionNode {
  return {
    name: command.name(),
    description: command.description(),
    options: [
      ...command.options
        .filter((o) => o.long !== undefined && !o.hidden)
        .map((o) => ({ flag: o.long as string, takesValue: o.required || o.optional })),
      { flag: '--help', takesValue: false },
    ],
    commands: command.commands
      .filter((c) => !(c as Command & { _hidden?: boolean })._hidden && c.name() !== 'help')
      .map(completionTree),
  };
}

export function registerCompletionCommand(program: Command, io: Io): void {
  program
    .command('completion')
    .description(
      `print a shell completion script (${SHELLS.join(', ')}), e.g. source <(turnout completion bash)`,
    )
    .argument('<shell>', SHELLS.join(' | '))
    .option('--json', 'print {shell, script} as JSON')
    .action((shell: string, flags: { json?: boolean }) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        throw new TurnoutError(
          'invalid_argument',
          `shell "${shell}" is not one of ${SHELLS.join(', ')}`,
          'shell',
        );
      }
      const script = completionScript(shell as Shell, completionTree(program));
      io.out(flags.json === true ? JSON.stringify({ shell, script }) : script.trimEnd());
    });
}
