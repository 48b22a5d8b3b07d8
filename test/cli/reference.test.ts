import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { HELP_WIDTH, referencePage, renderReference } from '../../src/cli/reference.js';
import { ROOT } from './run.js';

function tinyProgram(): Command {
  const program = new Command('tiny').description('a tiny CLI');
  const ship = program.command('ship').description('ship things');
  ship
    .command('now')
    .description('ship at once')
    .argument('<what>', 'what to ship')
    .option('--force', 'even when it is late');
  program.command('secret', { hidden: true }).description('never listed');
  return program;
}

const TINY_REFERENCE = `### \`tiny\`

\`\`\`text
Usage: tiny [options] [command]

a tiny CLI

Options:
  -h, --help      display help for command

Commands:
  ship            ship things
  help [command]  display help for command
\`\`\`

### \`tiny ship\`

\`\`\`text
Usage: tiny ship [options] [command]

ship things

Options:
  -h, --help            display help for command

Commands:
  now [options] <what>  ship at once
  help [command]        display help for command
\`\`\`

#### \`tiny ship now\`

\`\`\`text
Usage: tiny ship now [options] <what>

ship at once

Arguments:
  what        what to ship

Options:
  --force     even when it is late
  -h, --help  display help for command
\`\`\`
`;

describe('renderReference', () => {
  it('renders each visible command path with its help in a fenced block, ### then ####', () => {
    expect(renderReference(tinyProgram())).toBe(TINY_REFERENCE);
  });

  it('leaves out hidden commands and the implicit help command', () => {
    const reference = renderReference(tinyProgram());
    expect(reference).not.toContain('secret');
    expect(reference).not.toContain('`tiny help`');
  });

  it('wraps at a fixed width, whatever the terminal says', () => {
    const program = new Command('wide').description('word '.repeat(60).trim());
    program.configureOutput({ getOutHelpWidth: () => 30 });
    const lines = renderReference(program).split('\n');
    expect(lines.every((line) => line.length <= HELP_WIDTH)).toBe(true);
    expect(lines.some((line) => line.length > 80)).toBe(true);
  });
});

describe('referencePage', () => {
  it('is a titled page that ends with the whole reference', () => {
    const page = referencePage(tinyProgram());
    expect(page.startsWith('# CLI reference\n')).toBe(true);
    expect(page.endsWith(`\n${TINY_REFERENCE}`)).toBe(true);
  });
});

describe('docs/cli.md', () => {
  it('matches the CLI (run `npm run docs:cli` after changing a command)', () => {
    const page = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    const program = buildProgram({ out: () => {}, err: () => {} }, () => {});
    // Compared line by line, so a failure shows the changed help lines, not the whole page.
    expect(page.split('\n'), 'docs/cli.md is out of date: run `npm run docs:cli`').toEqual(
      referencePage(program).split('\n'),
    );
  });
});
