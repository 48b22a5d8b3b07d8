// `turnout describe <kind> <name>`: one resource in detail, gathered from several API reads — a
// product with its module graph, hosts, lanes and tickets; a module with its calls, callers,
// users, versions and instances; a ticket with items and events; an instance; an org.

import type { Command } from 'commander';
import type { ApiClient } from '../client/api-client.js';
import { createApiClient } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';
import type { ModuleRecord, ProductRecord, TicketRecord } from './describe-view.js';
import {
  callersOf,
  dtabRuleLines,
  fieldLines,
  graphOf,
  itemsText,
  reachable,
  renderTree,
  runText,
  ticketsOf,
  usersOf,
} from './describe-view.js';
import { eventSentence } from './event-text.js';
import { type ApiFlags, apiFlags } from './flags.js';
import type { Io } from './io.js';
import { emit } from './io.js';
import { type Kind, kindOf, kindsHelp } from './kinds.js';
import { formatTable } from './table.js';
import { ticketId } from './ticket-id.js';

const enc = encodeURIComponent;
type Rec = Record<string, unknown>;

interface Described {
  json: unknown;
  text: string;
}

type Describer = (client: ApiClient, name: string) => Promise<Described>;

const list = (rows: readonly string[]) => (rows.length === 0 ? '(none)' : rows.join(', '));
const section = (title: string, count: number, body: string[]) => [
  '',
  `${title} (${count}):`,
  ...(count === 0 ? ['  (none)'] : body.map((l) => `  ${l}`)),
];

async function describeProduct(client: ApiClient, name: string): Promise<Described> {
  const product = (await client.get(`/v1/products/${enc(name)}`)) as ProductRecord;
  const modules = (await client.list('/v1/modules')) as ModuleRecord[];
  const products = (await client.list('/v1/products')) as ProductRecord[];
  const lanes = (await client.list(`/v1/products/${enc(name)}/lanes`)) as Rec[];
  const tickets = (await client.list(`/v1/tickets?product=${enc(name)}`)) as TicketRecord[];
  const graph = graphOf(modules);
  const used = reachable(product.entry, graph).map((m) => ({
    name: m,
    calls: graph.get(m) ?? [],
    sharedWith: usersOf(m, products, graph).filter((p) => p !== name),
  }));
  const shared = new Map(used.map((m) => [m.name, m.sharedWith]));
  const { retained, active } = ticketsOf(tickets, product.retainTickets);
  const ticketLine = (t: TicketRecord) => `#${t.id}  ${t.state.padEnd(10)} ${itemsText(t)}`;
  const text = [
    ...fieldLines([
      ['Product', `${product.name} (org ${product.org})`],
      ['Hosts', list(product.hosts)],
      ['Entry', product.entry],
      ['Base dtab', product.baseDtab === '' ? '(none)' : dtabRuleLines(product.baseDtab)],
      ['Retains', `versions of the last ${product.retainTickets} promoted tickets`],
    ]),
    ...section(
      'Modules',
      used.length,
      renderTree(product.entry, graph, (m) => {
        const others = shared.get(m) ?? [];
        return others.length === 0 ? '' : `  (shared with ${others.join(', ')})`;
      }),
    ),
    ...section(
      'Lanes',
      lanes.length,
      formatTable(['name', 'overlay', 'updatedAt'], lanes).split('\n'),
    ),
    ...section('Retained tickets', retained.length, retained.map(ticketLine)),
    ...section('Active tickets', active.length, active.map(ticketLine)),
  ];
  return {
    json: { kind: 'product', product, modules: used, lanes, tickets: { retained, active } },
    text: text.join('\n'),
  };
}

async function describeModule(client: ApiClient, name: string): Promise<Described> {
  const module = (await client.get(`/v1/modules/${enc(name)}`)) as ModuleRecord;
  const graph = graphOf((await client.list('/v1/modules')) as ModuleRecord[]);
  const products = (await client.list('/v1/products')) as ProductRecord[];
  const versions = (await client.list(`/v1/modules/${enc(name)}/versions`)) as Rec[];
  const instances = (await client.list(`/v1/instances?module=${enc(name)}`)) as Rec[];
  const calledBy = callersOf(name, graph);
  const usedBy = usersOf(name, products, graph);
  const entryOf = products.filter((p) => p.entry === name).map((p) => p.name);
  const health = module.health as { path?: string; intervalMs?: number } | undefined;
  const text = [
    ...fieldLines([
      ['Module', `${module.name} (org ${module.org})`],
      ['Calls', list(module.calls)],
      ['Called by', list(calledBy)],
      ['Used by', list(usedBy)],
      ['Entry of', list(entryOf)],
      ['Health', `GET ${health?.path ?? '?'} every ${health?.intervalMs ?? '?'} ms`],
      ['Run', runText(module.run)],
    ]),
    ...section(
      'Versions',
      versions.length,
      versions.map((v) => `${String(v.version).padEnd(12)} ${runText(v.run)}`),
    ),
    ...section(
      'Instances',
      instances.length,
      formatTable(['id', 'version', 'host', 'address', 'state', 'health'], instances).split('\n'),
    ),
  ];
  return {
    json: { kind: 'module', module, calledBy, usedBy, entryOf, versions, instances },
    text: text.join('\n'),
  };
}

async function describeTicket(client: ApiClient, id: string): Promise<Described> {
  const n = ticketId(id);
  const ticket = (await client.get(`/v1/tickets/${n}`)) as TicketRecord;
  const events = (await client.list(`/v1/tickets/${n}/events`)) as Rec[];
  const text = [
    ...fieldLines([
      ['Ticket', `#${ticket.id} for product ${ticket.product}`],
      ['State', ticket.state],
      ['Reverts', ticket.revertOf === null ? '(none)' : `#${ticket.revertOf}`],
      ['Created', `${ticket.createdAt} by ${ticket.createdBy}`],
      ['Updated', ticket.updatedAt],
    ]),
    ...section(
      'Items',
      ticket.items.length,
      ticket.items.map((i) => `${i.module.padEnd(20)} ${i.version}`),
    ),
    ...section(
      'Events',
      events.length,
      events.map((e) => `${e.at}  ${eventSentence(String(e.type), e.data)}  (by ${e.actor})`),
    ),
  ];
  return { json: { kind: 'ticket', ticket, events }, text: text.join('\n') };
}

async function describeInstance(client: ApiClient, id: string): Promise<Described> {
  const i = (await client.get(`/v1/instances/${enc(id)}`)) as Rec;
  const text = fieldLines([
    ['Instance', String(i.id)],
    ['Version', `${i.module}@${i.version}`],
    ['Host', String(i.host)],
    ['Address', String(i.address)],
    ['State', String(i.state)],
    ['Health', String(i.health)],
    ['Weight', String(i.weight)],
    ['Lease until', i.leaseExpiresAt === null ? '(no lease)' : String(i.leaseExpiresAt)],
    ['Created', String(i.createdAt)],
    ['Updated', String(i.updatedAt)],
  ]);
  return { json: { kind: 'instance', instance: i }, text: text.join('\n') };
}

async function describeOrg(client: ApiClient, name: string): Promise<Described> {
  const org = (await client.get(`/v1/orgs/${enc(name)}`)) as Rec;
  const products = (await client.list(`/v1/products?org=${enc(name)}`)) as ProductRecord[];
  const modules = (await client.list(`/v1/modules?org=${enc(name)}`)) as ModuleRecord[];
  const text = [
    ...fieldLines([
      ['Org', String(org.name)],
      ['Created', String(org.createdAt)],
    ]),
    ...section(
      'Products',
      products.length,
      products.map((p) => `${p.name}  (entry ${p.entry})`),
    ),
    ...section(
      'Modules',
      modules.length,
      modules.map((m) => `${m.name}  → ${list(m.calls)}`),
    ),
  ];
  return { json: { kind: 'org', org, products, modules }, text: text.join('\n') };
}

const DESCRIBERS: Partial<Record<Kind, Describer>> = {
  products: describeProduct,
  modules: describeModule,
  tickets: describeTicket,
  instances: describeInstance,
  orgs: describeOrg,
};
const KINDS = Object.keys(DESCRIBERS) as Kind[];

/** `product`, `products` and `prod` all work, as in `get` (and as kubectl's names do). */
function describerOf(kind: string): Describer {
  const k = kindOf(kind);
  const describer = k === null ? undefined : DESCRIBERS[k];
  if (describer !== undefined) return describer;
  throw new TurnoutError(
    'invalid_argument',
    `unknown kind ${kind}: expected one of ${kindsHelp(KINDS)}`,
    'kind',
  );
}

export function registerDescribeCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  apiFlags(
    program
      .command('describe')
      .description(
        `one resource in detail, through the API: ${KINDS.join('|')} (singular and short names too)`,
      )
      .argument('<kind>', kindsHelp(KINDS))
      .argument('<name>', 'its name (a ticket: its number; an instance: its id)'),
  ).action(async (kind: string, name: string, flags: ApiFlags) => {
    const describe = describerOf(kind);
    const client = createApiClient({ server: flags.server, token: flags.token, caFile: flags.ca });
    const described = await describe(client, name);
    emit(io, flags.json === true, described.json, () => described.text);
    setExit(0);
  });
}
