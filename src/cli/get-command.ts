// `turnout get <kind> [name]`: reads the catalog through the API and prints a compact table
// (or JSON with --json). Versions are listed per module and lanes per product, so for those two
// kinds the name is the module or product.

import type { Command } from 'commander';
import { createApiClient } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';
import { type ApiFlags, apiFlags } from './flags.js';
import type { Io } from './io.js';
import { emit } from './io.js';
import { KIND_NAMES, type Kind, kindOf, kindsHelp } from './kinds.js';
import { formatTable } from './table.js';
import { ticketId } from './ticket-id.js';

const KINDS = Object.keys(KIND_NAMES) as Kind[];

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
      `get ${kind} needs the ${what} name: turnout get ${kind} <${what}>`,
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
    one: (n) => `/v1/tickets/${ticketId(n)}`,
    columns: ['id', 'product', 'state', 'updatedAt'],
  },
};

/** Other commands' tables import it from here too. */
export { formatTable };

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
      .argument('<kind>', `${kindsHelp(KINDS)}`)
      .argument('[name]', 'one item (or the module for versions, the product for lanes)'),
  ).action(async (kind: string, name: string | undefined, flags: ApiFlags) => {
    const k = kindOf(kind);
    if (k === null) {
      throw new TurnoutError(
        'invalid_argument',
        `unknown kind ${kind}: expected one of ${kindsHelp(KINDS)}`,
        'kind',
      );
    }
    const info = INFO[k];
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
