// `turnout get <kind> [name]`: reads the catalog through the API and prints a compact table
// (or JSON with --json). Versions are listed per module and lanes per product, so for those two
// kinds the name is the module or product.

import type { Command } from 'commander';
import { createApiClient } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';
import { escapeControl } from '../safe-text.js';
import { type ApiFlags, apiFlags } from './flags.js';
import type { Io } from './io.js';
import { emit } from './io.js';

const KINDS = ['products', 'modules', 'versions', 'instances', 'lanes', 'tickets', 'orgs'] as const;
type Kind = (typeof KINDS)[number];

interface KindInfo {
  /** The list path; `parent` kinds take the name as the parent. */
  list: (name: string | undefined) => string;
  /** The path of one item, for kinds where the name picks an item. */
  one?: (name: string) => string;
  columns: readonly string[];
}

const enc = encodeURIComponent;

function needName(kind: string, what: string, name: string | undefined): string {
  if (name === undefined) {
    throw new TurnoutError(
      'invalid_argument',
      `turnout get ${kind} needs the ${what} name: turnout get ${kind} <${what}>`,
      'name',
    );
  }
  return name;
}

const INFO: Record<Kind, KindInfo> = {
  orgs: {
    list: () => '/v1/orgs',
    one: (n) => `/v1/orgs/${enc(n)}`,
    columns: ['name', 'createdAt'],
  },
  products: {
    list: () => '/v1/products',
    one: (n) => `/v1/products/${enc(n)}`,
    columns: ['name', 'org', 'entry', 'hosts', 'updatedAt'],
  },
  modules: {
    list: () => '/v1/modules',
    one: (n) => `/v1/modules/${enc(n)}`,
    columns: ['name', 'org', 'updatedAt'],
  },
  versions: {
    list: (n) => `/v1/modules/${enc(needName('versions', 'module', n))}/versions`,
    columns: ['module', 'version', 'createdAt'],
  },
  instances: {
    list: () => '/v1/instances',
    one: (n) => `/v1/instances/${enc(n)}`,
    columns: ['id', 'module', 'version', 'address', 'state', 'serving'],
  },
  lanes: {
    list: (n) => `/v1/products/${enc(needName('lanes', 'product', n))}/lanes`,
    columns: ['product', 'name', 'updatedAt'],
  },
  tickets: {
    list: () => '/v1/tickets',
    one: (n) => `/v1/tickets/${enc(n)}`,
    columns: ['id', 'product', 'state', 'updatedAt'],
  },
};

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  // A newline in a value would start a fake row: every control character is escaped here.
  return escapeControl(String(value));
}

/** A compact, left-aligned table with upper-case headers. */
export function formatTable(columns: readonly string[], rows: readonly unknown[]): string {
  if (rows.length === 0) return 'No resources found.';
  const cells = rows.map((row) => columns.map((c) => cell((row as Record<string, unknown>)[c])));
  const header = columns.map((c) => c.toUpperCase());
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

export function registerGetCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  apiFlags(
    program
      .command('get')
      .description(
        `list or show catalog resources through the API: ${KINDS.join('|')} (versions <module>, lanes <product>)`,
      )
      .argument('<kind>', KINDS.join('|'))
      .argument('[name]', 'one item (or the module for versions, the product for lanes)'),
  ).action(async (kind: string, name: string | undefined, flags: ApiFlags) => {
    if (!(KINDS as readonly string[]).includes(kind)) {
      throw new TurnoutError(
        'invalid_argument',
        `unknown kind ${kind}: expected one of ${KINDS.join(', ')}`,
        'kind',
      );
    }
    const info = INFO[kind as Kind];
    const client = createApiClient({ server: flags.server, token: flags.token, caFile: flags.ca });
    const json = flags.json === true;
    if (name !== undefined && info.one !== undefined) {
      const item = await client.get(info.one(name));
      emit(io, json, item, () => formatTable(info.columns, [item]));
    } else {
      const items = await client.list(info.list(name));
      emit(io, json, items, () => formatTable(info.columns, items));
    }
    setExit(0);
  });
}
