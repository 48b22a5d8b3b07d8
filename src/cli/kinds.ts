// Resource kinds as the user may type them: plural, singular or a short name, any case, as
// kubectl accepts `pods`, `pod` and `po`. `get` and `describe` read the same table.

export const KIND_NAMES = {
  products: ['product', 'prod'],
  modules: ['module', 'mod'],
  versions: ['version', 'ver'],
  instances: ['instance', 'inst'],
  lanes: ['lane'],
  tickets: ['ticket', 'tk'],
  orgs: ['org'],
} as const satisfies Record<string, readonly string[]>;

export type Kind = keyof typeof KIND_NAMES;

/** The kind `text` names (`Product`, `products`, `prod` → products), or null. */
export function kindOf(text: string): Kind | null {
  const t = text.toLowerCase();
  for (const [kind, names] of Object.entries(KIND_NAMES)) {
    if (kind === t || (names as readonly string[]).includes(t)) return kind as Kind;
  }
  return null;
}

/** `products (product, prod)`: for help texts and the error naming what is accepted. */
export function kindsHelp(kinds: readonly Kind[]): string {
  return kinds.map((k) => `${k} (${KIND_NAMES[k].join(', ')})`).join(', ');
}
