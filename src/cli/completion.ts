// Shell completion scripts, generated from the command tree itself (so a new command or flag is
// completed without anyone editing a script): commands and sub-commands by position, flags of the
// command being typed, files for a flag that takes a value. Pure: tree in, script text out.

export interface CompletionNode {
  readonly name: string;
  readonly description: string;
  /** Long flags (`--json`), with whether each takes a value. */
  readonly options: readonly { readonly flag: string; readonly takesValue: boolean }[];
  readonly commands: readonly CompletionNode[];
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Every command path below the root (" release", " release canary"…), depth first. */
function paths(node: CompletionNode, prefix = ''): { path: string; node: CompletionNode }[] {
  return node.commands.flatMap((c) => {
    const path = `${prefix} ${c.name}`;
    return [{ path, node: c }, ...paths(c, path)];
  });
}

/** Bash words are command and flag names only (letters, digits, - and _): nothing to quote. */
const words = (node: CompletionNode) =>
  [...node.commands.map((c) => c.name), ...node.options.map((o) => o.flag)].join(' ');

const valueFlags = (root: CompletionNode) => [
  ...new Set(
    [root, ...paths(root).map((p) => p.node)].flatMap((n) =>
      n.options.filter((o) => o.takesValue).map((o) => o.flag),
    ),
  ),
];

export function bashScript(root: CompletionNode): string {
  const all = paths(root);
  const known = all.map((p) => `"${p.path}"`).join('|');
  const cases = [
    `    "") words="${words(root)}" ;;`,
    ...all.map((p) => `    "${p.path}") words="${words(p.node)}" ;;`),
  ];
  const takesValue = valueFlags(root).join('|');
  const fn = `_${root.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return [
    `# ${root.name} completion for bash: source <(${root.name} completion bash)`,
    `${fn}() {`,
    '  local cur prev path w i words',
    // bash passes the command, the word being completed and the one before it.
    '  cur="$2"',
    '  prev="$3"',
    // A flag that takes a value: let the shell complete a file name.
    ...(takesValue === ''
      ? []
      : [`  case "$prev" in ${takesValue}) COMPREPLY=(); return 0 ;; esac`]),
    '  path=""',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's own syntax
    '    w="${COMP_WORDS[i]}"',
    `    case "$path $w" in ${known === '' ? '""' : known}) path="$path $w" ;; esac`,
    '  done',
    '  case "$path" in',
    ...cases,
    '    *) words="" ;;',
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    `complete -o default -F ${fn} ${root.name}`,
    '',
  ].join('\n');
}

/** zsh runs the bash function through its bash compatibility layer. */
export function zshScript(root: CompletionNode): string {
  return [
    `# ${root.name} completion for zsh: source <(${root.name} completion zsh)`,
    'autoload -U +X compinit && compinit',
    'autoload -U +X bashcompinit && bashcompinit',
    bashScript(root).split('\n').slice(1).join('\n'),
  ].join('\n');
}

/** Single quotes for fish: a quote or backslash inside is escaped. */
const fishQuote = (s: string) => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;

export function fishScript(root: CompletionNode): string {
  const r = root.name;
  const lines = [
    `# ${r} completion for fish: ${r} completion fish | source`,
    `complete -c ${r} -f`,
  ];
  const emit = (node: CompletionNode, chain: string[]) => {
    // At the root: no sub-command yet; below: the chain seen and none of the node's children.
    const children = node.commands.map((c) => c.name);
    const seen = chain.map((c) => `__fish_seen_subcommand_from ${c}`);
    const none =
      children.length === 0 ? [] : [`not __fish_seen_subcommand_from ${children.join(' ')}`];
    const cond = [...(chain.length === 0 ? ['__fish_use_subcommand'] : seen), ...none].join(
      '; and ',
    );
    for (const c of node.commands)
      lines.push(
        `complete -c ${r} -n ${fishQuote(cond)} -a ${c.name} -d ${fishQuote(c.description)}`,
      );
    const here = chain.length === 0 ? '' : ` -n ${fishQuote(seen.join('; and '))}`;
    for (const o of node.options)
      lines.push(`complete -c ${r}${here} -l ${o.flag.slice(2)}${o.takesValue ? ' -r -F' : ''}`);
    for (const c of node.commands) emit(c, [...chain, c.name]);
  };
  emit(root, []);
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, root: CompletionNode): string {
  switch (shell) {
    case 'bash':
      return bashScript(root);
    case 'zsh':
      return zshScript(root);
    case 'fish':
      return fishScript(root);
  }
}
