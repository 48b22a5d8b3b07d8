// The SQL tables as Kysely sees them, and row ↔ record mapping. JSON is stored as text in both
// back-ends (see migrations/0001-initial.ts for why); timestamps are ISO 8601 UTC text, which sorts
// and compares as time in both. Postgres returns bigint as a string, hence the Number() below.

import type { Generated, Selectable } from 'kysely';
import type { HostTables } from './host-db.js';
import type {
  AuditEntry,
  HealthState,
  Instance,
  InstanceState,
  Lane,
  Module,
  Org,
  Product,
  Ticket,
  TicketEvent,
  TicketGoal,
  TicketItem,
  TicketState,
  Version,
} from './model.js';
import type { NotifierTables } from './notifier-db.js';

type Id = number | string | bigint;

export interface Database extends NotifierTables, HostTables {
  orgs: { name: string; created_at: string };
  products: {
    name: string;
    org: string;
    hosts: string;
    entry: string;
    retain_tickets: number;
    base_dtab: string;
    created_at: string;
    updated_at: string;
  };
  modules: {
    name: string;
    org: string;
    calls: string;
    health: string;
    run: string;
    created_at: string;
    updated_at: string;
  };
  versions: {
    module: string;
    version: string;
    run: string | null;
    /** Migration 0008: the artifact (JSON) or null. */
    artifact: string | null;
    created_at: string;
  };
  /** Migration 0008, Postgres only: the artifact store's index and its chunks (src/artifacts). */
  artifacts: { sha256: string; size: string | number; chunks: number; created_at: string };
  artifact_chunks: { sha256: string; seq: number; data: Uint8Array };
  instances: {
    id: string;
    module: string;
    version: string;
    host: string;
    address: string;
    state: InstanceState;
    health: HealthState;
    weight: number;
    lease_expires_at: string | null;
    created_at: string;
    updated_at: string;
  };
  lanes: {
    product: string;
    name: string;
    overlay: string;
    rules: string;
    created_at: string;
    updated_at: string;
  };
  tickets: {
    id: Generated<number>;
    product: string;
    state: TicketState;
    revert_of: number | null;
    created_by: string;
    created_at: string;
    updated_at: string;
    goal: TicketGoal | null;
    plan: Generated<string>;
    progress: Generated<string>;
    promoted_seq: number | null;
    /** Set on insert; migration 0003 gave every older ticket one. */
    prerelease_secret: string;
  };
  leases: { name: string; holder: string; expires_at: string };
  ticket_items: { ticket_id: number; module: string; version: string };
  ticket_events: {
    ticket_id: number;
    seq: number;
    type: string;
    data: string;
    actor: string;
    at: string;
  };
  audit: {
    id: Generated<Id>;
    actor: string;
    action: string;
    target: string;
    before: string;
    after: string;
    at: string;
  };
  change_counter: { id: number; version: Id };
  change_feed: { version: Id; targets: string };
}

type Row<T extends keyof Database> = Selectable<Database[T]>;

export const toJson = (value: unknown): string => JSON.stringify(value);
const fromJson = <T>(text: string): T => JSON.parse(text) as T;

export const orgOf = (r: Row<'orgs'>): Org => ({ name: r.name, createdAt: r.created_at });

export const productOf = (r: Row<'products'>): Product => ({
  name: r.name,
  org: r.org,
  hosts: fromJson(r.hosts),
  entry: r.entry,
  retainTickets: r.retain_tickets,
  baseDtab: r.base_dtab,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/**
 * A module's `run` column holds its run spec and, when it has one, its placement constraint (under
 * `placement`, beside `process`/`kubernetes`): one JSON column, so placement needed no migration.
 */
export const moduleRunJson = (m: Pick<Module, 'run' | 'placement'>): string =>
  toJson(m.placement === null ? m.run : { ...m.run, placement: m.placement });

export const moduleOf = (r: Row<'modules'>): Module => {
  const { placement = null, ...run } = fromJson<
    Module['run'] & { placement?: Module['placement'] }
  >(r.run);
  return {
    name: r.name,
    org: r.org,
    calls: fromJson(r.calls),
    health: fromJson(r.health),
    run: run as Module['run'],
    placement,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

export const versionOf = (r: Row<'versions'>): Version => ({
  module: r.module,
  version: r.version,
  run: r.run === null ? null : fromJson(r.run),
  artifact: r.artifact === null ? null : fromJson(r.artifact),
  createdAt: r.created_at,
});

export const instanceOf = (r: Row<'instances'>): Instance => ({
  id: r.id,
  module: r.module,
  version: r.version,
  host: r.host,
  address: r.address,
  state: r.state,
  health: r.health,
  weight: r.weight,
  leaseExpiresAt: r.lease_expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const laneOf = (r: Row<'lanes'>): Lane => ({
  product: r.product,
  name: r.name,
  overlay: r.overlay,
  rules: fromJson(r.rules),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const ticketOf = (r: Row<'tickets'>, items: TicketItem[]): Ticket => ({
  id: Number(r.id),
  product: r.product,
  state: r.state,
  items,
  revertOf: r.revert_of === null ? null : Number(r.revert_of),
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  goal: r.goal,
  plan: fromJson(r.plan),
  progress: fromJson(r.progress),
  promotedSeq: r.promoted_seq === null ? null : Number(r.promoted_seq),
  prereleaseSecret: r.prerelease_secret,
});

export const ticketEventOf = (r: Row<'ticket_events'>): TicketEvent => ({
  ticketId: Number(r.ticket_id),
  seq: Number(r.seq),
  type: r.type,
  data: fromJson(r.data),
  actor: r.actor,
  at: r.at,
});

export const auditOf = (r: Row<'audit'>): AuditEntry => ({
  id: Number(r.id),
  actor: r.actor,
  action: r.action,
  target: r.target,
  before: fromJson(r.before),
  after: fromJson(r.after),
  at: r.at,
});
