// The CLI reference (docs/cli.md), rendered from commander's own help so the two cannot drift.

import type { Command } from 'commander';

/** Help is wrapped at this width whatever the terminal, so the reference is the same everywhere. */
export const HELP_WIDTH = 100;

/** Markdown for a command and every visible subcommand, depth first in declaration order. */
export function renderReference(program: Command): string {
  return commandPaths(program, [program.name()])
    .map(({ command, path }) => renderCommand(command, path))
    .join('\n');
}

interface CommandPath {
  command: Command;
  path: string[];
}

function commandPaths(command: Command, path: string[]): CommandPath[] {
  return [
    { command, path },
    ...subcommandsOf(command).flatMap((sub) => commandPaths(sub, [...path, sub.name()])),
  ];
}

/** Commander's visible subcommands, without hidden ones and without the implicit `help`. */
function subcommandsOf(command: Command): Command[] {
  return command
    .createHelp()
    .visibleCommands(command)
    .filter((sub) => command.commands.includes(sub));
}

function renderCommand(command: Command, path: string[]): string {
  // The program and its commands are ###, anything deeper is ####.
  const heading = path.length <= 2 ? '###' : '####';
  return `${heading} \`${path.join(' ')}\`\n\n\`\`\`text\n${helpText(command)}\`\`\`\n`;
}

/**
 * What `helpInformation()` prints, at a fixed width and without colour. Done through the Help
 * object rather than by reconfiguring the command's output, so the program is left untouched.
 */
export function helpText(command: Command): string {
  const help = command.createHelp();
  help.prepareContext({ helpWidth: HELP_WIDTH, outputHasColors: false });
  const text = help.formatHelp(command, help);
  return text.endsWith('\n') ? text : `${text}\n`;
}

const REFERENCE_PREFACE = `# CLI reference

Generated from the CLI's own \`--help\` by \`npm run docs:cli\`; do not edit it by hand.
\`test/cli/reference.test.ts\` fails when it is out of date. How the commands fit together:
[getting started](getting-started.md), [releasing](releasing.md),
[the control plane](control-plane.md).
`;

/** The whole of docs/cli.md: a short preface, then the reference. */
export function referencePage(program: Command): string {
  return `${REFERENCE_PREFACE}\n${renderReference(program)}`;
}
