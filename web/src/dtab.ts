// Reads which version a dtab sends each module to, for the products page: the rules
// `/svc/<module> => /v/<module>/<version>` that Turnout writes for stable and for lanes. A rule of
// another shape (a weighted union, an alternation) is shown as written.

export function versionsOf(dtab: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rule of dtab.split(';')) {
    const m = /^\s*\/svc\/([^\s=]+)\s*=>\s*(.+?)\s*$/.exec(rule);
    if (!m) continue;
    const [, module, target] = m as unknown as [string, string, string];
    const simple = new RegExp(`^/v/${module}/([^\\s/]+)$`).exec(target);
    out.set(module, simple ? simple[1]! : target);
  }
  return out;
}
