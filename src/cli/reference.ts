// The CLI reference in README.md, rendered from commander's own help so the two cannot drift.

import type { Command } from 'commander';

/** Help is wrapped at this width whatever the terminal, so the reference is the same everywhere. */
export const HELP_WIDTH = 100;

export const REFERENCE_START = '<!-- cli-reference:start -->';
export const REFERENCE_END = '<!-- cli-reference:end -->';

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

export class ReferenceMarkersError extends Error {
  readonly code = 'reference_markers';
}

/** README with the part between the two markers replaced by the reference. */
export function spliceReference(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) {
    throw new ReferenceMarkersError(
      `README.md needs ${REFERENCE_START} followed by ${REFERENCE_END} around the CLI reference`,
    );
  }
  const before = readme.slice(0, start + REFERENCE_START.length);
  return `${before}\n\n${reference}\n${readme.slice(end)}`;
}
