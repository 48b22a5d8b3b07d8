// `turnout completion`: the bash script is sourced into a real bash and asked to complete, the way
// the shell does at a TAB; the generator's pure parts are checked on a small tree.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CompletionNode } from '../../src/cli/completion.js';
import { bashScript, fishScript } from '../../src/cli/completion.js';
import { main } from '../../src/cli/main.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'turnout', ...argv], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** What bash offers for the words typed so far (the last one being completed, maybe empty). */
function complete(script: string, typed: string[]): string[] {
  const words = typed.map((w) => `'${w}'`).join(' ');
  const cur = `'${typed.at(-1)}'`;
  const prev = `'${typed.at(-2)}'`;
  const program = `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=${typed.length - 1}; _turnout turnout ${cur} ${prev}; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', program], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

describe('turnout completion bash, in a real bash', () => {
  let script = '';
  it('prints a script', async () => {
    const r = await run('completion', 'bash');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('complete -o default -F _turnout turnout');
    script = r.stdout;
  });

  it.each([
    {
      typed: ['turnout', ''],
      has: ['release', 'get', 'up', 'completion', '--help'],
      not: ['canary'],
    },
    { typed: ['turnout', 'rel'], has: ['release'], not: ['get'] },
    { typed: ['turnout', 'release', 'ca'], has: ['canary'], not: ['release'] },
    { typed: ['turnout', 'release', 'canary', '--js'], has: ['--json'], not: ['canary'] },
    { typed: ['turnout', '--json', 'release', 'pro'], has: ['promote'], not: [] },
    { typed: ['turnout', 'up', '--'], has: ['--data', '--api', '--store'], not: ['--edge-url'] },
  ])('$typed offers $has', ({ typed, has, not }) => {
    const offered = complete(script, typed);
    for (const w of has) expect(offered).toContain(w);
    for (const w of not) expect(offered).not.toContain(w);
  });

  it('leaves the value of a flag that takes one to file completion', () => {
    expect(complete(script, ['turnout', 'up', '--data', ''])).toEqual([]);
  });
});

describe('turnout completion: errors and other shells', () => {
  it('refuses an unknown shell, naming the choices', async () => {
    const r = await run('completion', 'tcsh', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'invalid_argument', field: 'shell' });
    expect(r.stderr).toContain('bash, zsh, fish');
  });

  it('--json carries the script', async () => {
    const r = await run('completion', 'fish', '--json');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as { shell: string; script: string };
    expect(parsed.shell).toBe('fish');
    expect(parsed.script).toContain('complete -c turnout');
  });

  it('zsh loads the bash function through bashcompinit', async () => {
    const r = await run('completion', 'zsh');
    expect(r.stdout).toContain('bashcompinit');
    expect(r.stdout).toContain('complete -o default -F _turnout turnout');
  });

  const tree: CompletionNode = {
    name: 'tool',
    description: 'a tool',
    options: [{ flag: '--json', takesValue: false }],
    commands: [
      {
        name: 'host',
        description: "the host's things",
        options: [{ flag: '--file', takesValue: true }],
        commands: [{ name: 'list', description: 'list them', options: [], commands: [] }],
      },
    ],
  };

  it('fish: sub-commands under their parent, descriptions quoted, value flags take files', () => {
    const s = fishScript(tree);
    expect(s).toContain(
      "complete -c tool -n '__fish_use_subcommand; and not __fish_seen_subcommand_from host' -a host -d 'the host\\'s things'",
    );
    expect(s).toContain(
      "-n '__fish_seen_subcommand_from host; and not __fish_seen_subcommand_from list' -a list",
    );
    expect(s).toContain("complete -c tool -n '__fish_seen_subcommand_from host' -l file -r -F");
  });

  it('bash: a tree without value flags has no value case', () => {
    const s = bashScript({ ...tree, commands: [] });
    expect(s).not.toContain('case "$prev"');
    expect(s).toContain('"") words="--json"');
  });
});
