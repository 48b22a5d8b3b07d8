// What `turnout describe` shows, computed from API records without I/O: a product's module graph
// (which modules it uses, which other products share them), a module's callers and users, and the
// tickets whose versions a product keeps (its last N promoted tickets). Store text is escaped where
// it is printed (src/cli/io.ts `emit`; here only where a value must stay on one line).

import { showPrefix } from '../routing/dtab.js';
import { parseDtab } from '../routing/parser.js';
import { showNameTree } from '../routing/tree.js';
import { escapeControl } from '../safe-text.js';

/** The fields of API records describe reads; the API may send more. */
export interface ProductRecord {
  name: string;
  org: string;
  hosts: string[];
  entry: string;
  retainTickets: number;
  baseDtab: string;
}
export interface ModuleRecord {
  name: string;
  org: string;
  calls: string[];
  health?: unknown;
  run?: unknown;
}
export interface TicketRecord {
  id: number;
  product: string;
  state: string;
  items: { module: string; version: string }[];
  revertOf: number | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  promotedSeq?: number | null;
}

/** A ticket that is no longer moving. */
const FINISHED = new Set(['promoted', 'aborted', 'failed']);

export type Graph = ReadonlyMap<string, readonly string[]>;

export function graphOf(modules: readonly ModuleRecord[]): Graph {
  return new Map(modules.map((m) => [m.name, m.calls]));
}

/** The entry and everything reachable from it, in depth-first call order. */
export function reachable(entry: string, graph: Graph): string[] {
  const seen: string[] = [];
  const visit = (name: string) => {
    if (seen.includes(name)) return;
    seen.push(name);
    for (const callee of graph.get(name) ?? []) visit(callee);
  };
  visit(entry);
  return seen;
}

/** Products that use `module` (their entry reaches it), by name. */
export function usersOf(
  module: string,
  products: readonly ProductRecord[],
  graph: Graph,
): string[] {
  return products
    .filter((p) => reachable(p.entry, graph).includes(module))
    .map((p) => p.name)
    .sort();
}

export function callersOf(module: string, graph: Graph): string[] {
  return [...graph]
    .filter(([, calls]) => calls.includes(module))
    .map(([name]) => name)
    .sort();
}

/**
 * The dependency graph from `entry` as an indented tree. A module reached a second time (a
 * diamond) is printed again, marked, without its callees, so a wide graph stays linear in size.
 */
export function renderTree(
  entry: string,
  graph: Graph,
  note: (module: string) => string = () => '',
): string[] {
  const lines: string[] = [];
  const printed = new Set<string>();
  const walk = (name: string, prefix: string, branch: string, childPrefix: string) => {
    const callees = graph.get(name) ?? [];
    const again = printed.has(name) && callees.length > 0;
    const missing = graph.has(name) ? '' : ' (missing)';
    lines.push(`${prefix}${branch}${name}${missing}${again ? ' (see above)' : note(name)}`);
    if (again) return;
    printed.add(name);
    callees.forEach((callee, i) => {
      const last = i === callees.length - 1;
      walk(callee, prefix + childPrefix, last ? '└─ ' : '├─ ', last ? '   ' : '│  ');
    });
  };
  walk(entry, '', '', '');
  return lines;
}

/**
 * Tickets a product keeps instances for: its last `retain` promoted tickets (by promotion order
 * when the API reports it, else by id), newest first; and tickets still in progress.
 */
export function ticketsOf(
  tickets: readonly TicketRecord[],
  retain: number,
): { retained: TicketRecord[]; active: TicketRecord[] } {
  const order = (t: TicketRecord) => t.promotedSeq ?? t.id;
  const promoted = tickets
    .filter((t) => t.state === 'promoted')
    .sort((a, b) => order(b) - order(a))
    .slice(0, retain);
  const active = tickets.filter((t) => !FINISHED.has(t.state)).sort((a, b) => a.id - b.id);
  return { retained: promoted, active };
}

export function itemsText(t: TicketRecord): string {
  return t.items.map((i) => `${i.module}@${i.version}`).join(', ');
}

/**
 * `key  value` lines with the keys padded to one width; each value line is escaped. A value given
 * as lines (a dtab, one rule a line) continues under its first line, indented to the value column.
 */
export function fieldLines(
  rows: readonly (readonly [string, string | readonly string[]])[],
): string[] {
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.flatMap(([k, v]) => {
    const [first = '', ...rest] = typeof v === 'string' ? [v] : v;
    return [
      `${`${k}:`.padEnd(width)}${escapeControl(first)}`,
      ...rest.map((l) => `${' '.repeat(width)}${escapeControl(l)}`),
    ];
  });
}

/**
 * A dtab one rule a line (`/svc/a => /v/a/1;`), however it was stored (on one line, compact):
 * a long base dtab then wraps at its rules, not in the middle of a path. Unparsable text (never
 * stored: the API validates it) is shown as its own lines.
 */
export function dtabRuleLines(text: string): string[] {
  try {
    return parseDtab(text).map((d) => `${showPrefix(d.prefix)} => ${showNameTree(d.dst)};`);
  } catch {
    return text.split('\n');
  }
}

/** A run spec in one line: `process: node a.mjs (cwd x) env A=1 B=2` or `kubernetes: image`. */
export function runText(run: unknown): string {
  if (run === null || run === undefined) return '(as the module)';
  const r = run as {
    process?: {
      command?: string;
      args?: string[];
      cwd?: string | null;
      env?: Record<string, string>;
    };
    kubernetes?: { image?: string };
  };
  if (r.kubernetes !== undefined) return `kubernetes: image ${r.kubernetes.image ?? '?'}`;
  const p = r.process ?? {};
  const parts = [
    p.command === undefined ? '' : [p.command, ...(p.args ?? [])].join(' '),
    p.args !== undefined && p.command === undefined ? `args ${p.args.join(' ')}` : '',
    p.cwd ? `(cwd ${p.cwd})` : '',
    p.env !== undefined && Object.keys(p.env).length > 0
      ? `env ${Object.entries(p.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : '',
  ];
  return `process: ${parts.filter((x) => x !== '').join(' ')}`;
}
