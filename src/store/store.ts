// The one store interface the control plane uses, whatever the back-end (SQLite or Postgres).
// Every mutation validates first (src/store/validate.ts), writes an audit entry and bumps the
// store-wide change counter, all in one transaction: a rejected change leaves nothing behind.

import type {
  Assignment,
  AssignmentDesired,
  AssignmentInput,
  AssignmentReport,
} from './assignment-model.js';
import type { Page, PageRequest } from './cursor.js';
import type { Host, HostInput, HostState } from './host-model.js';
import type {
  AuditEntry,
  AuditInput,
  Instance,
  InstanceInput,
  InstancePatch,
  Lane,
  LaneInput,
  Module,
  ModuleInput,
  Org,
  OrgInput,
  Product,
  ProductInput,
  Ticket,
  TicketEvent,
  TicketEventInput,
  TicketInput,
  TicketPatch,
  TicketState,
  Version,
  VersionInput,
} from './model.js';
import type {
  ClaimedDelivery,
  DeliveryOutcome,
  Notifier,
  NotifierDelivery,
  NotifierInput,
} from './notifier-model.js';
import type { PermitAnswer, PermitRequest } from './sql-permits.js';

export type { Page, PageRequest } from './cursor.js';

/** A version naming a pushed artifact. */
export interface ArtifactReference {
  sha256: string;
  module: string;
  version: string;
}

/**
 * What the store asks of the artifact store (src/artifacts): whether it holds an artifact, and
 * its size. A version naming a pushed artifact is refused unless it is there.
 */
export interface ArtifactLookup {
  head(sha256: string): Promise<{ size: number } | null>;
}

/** What the last `apply` of an object gave: its top-level field names (never their values). */
export interface AppliedRecord {
  /** The apply kind: `Module`, `Lane`, … */
  kind: string;
  /** The object's key within its kind: `orders`, `orders@2.0.0`, `shop/dev`. */
  key: string;
  /** Sorted, without duplicates. */
  fields: string[];
  appliedAt: string;
}

/** One change-counter value's entry in the change feed (StoreReads.listChanges). */
export interface ChangeFeedEntry {
  readonly version: number;
  readonly targets: readonly string[];
}

/** Reads: `get*` answer null for a missing record; lists are ordered by key and paginated. */
export interface StoreReads {
  getOrg(name: string): Promise<Org | null>;
  listOrgs(page?: PageRequest): Promise<Page<Org>>;
  getProduct(name: string): Promise<Product | null>;
  listProducts(query?: PageRequest & { org?: string }): Promise<Page<Product>>;
  getModule(name: string): Promise<Module | null>;
  listModules(query?: PageRequest & { org?: string }): Promise<Page<Module>>;
  getVersion(module: string, version: string): Promise<Version | null>;
  /** Which versions name which pushed artifact (url artifacts are not the store's), by sha256. */
  listArtifactReferences(): Promise<ArtifactReference[]>;
  listVersions(query?: PageRequest & { module?: string }): Promise<Page<Version>>;
  getInstance(id: string): Promise<Instance | null>;
  listInstances(
    query?: PageRequest & { module?: string; version?: string; host?: string },
  ): Promise<Page<Instance>>;
  getLane(product: string, name: string): Promise<Lane | null>;
  listLanes(query?: PageRequest & { product?: string }): Promise<Page<Lane>>;
  getTicket(id: number): Promise<Ticket | null>;
  /** Ordered by id, so oldest first. */
  listTickets(
    query?: PageRequest & { product?: string; state?: TicketState },
  ): Promise<Page<Ticket>>;
  listTicketEvents(ticketId: number, page?: PageRequest): Promise<Page<TicketEvent>>;
  /** Oldest first unless `newestFirst` (the dashboard's view). */
  listAudit(
    query?: PageRequest & { target?: string; actor?: string; newestFirst?: boolean },
  ): Promise<Page<AuditEntry>>;
  /**
   * The store-wide change counter: it grows by exactly one per committed mutating transaction,
   * and transactions commit in counter order (they are serialized), so a reader that saw N has
   * seen every change up to N. The config stream publishes it as the snapshot version.
   */
  changeVersion(): Promise<number>;
  /**
   * The change feed: for each change-counter value above `since`, oldest first, the audit targets
   * (`instance/i-1`, `lane/shop/dev`) its transaction changed; `["*"]` when it changed too many
   * to list. Only the recent values are kept (FEED_KEEP): one missing from the answer is a gap,
   * and the reader must read everything instead.
   */
  listChanges(since: number): Promise<ChangeFeedEntry[]>;
  /** With its secret: for the deliverer; the API never answers it (routes/notifiers.ts). */
  getNotifier(name: string): Promise<Notifier | null>;
  listNotifiers(query?: PageRequest & { product?: string }): Promise<Page<Notifier>>;
  /** When the earliest pending delivery is due (ISO), or null: a read before claiming. */
  nextDeliveryDue(): Promise<string | null>;
  /** Oldest first unless `newestFirst`. */
  listDeliveries(
    query?: PageRequest & { notifier?: string; newestFirst?: boolean },
  ): Promise<Page<NotifierDelivery>>;
  getHost(name: string): Promise<Host | null>;
  listHosts(query?: PageRequest & { state?: HostState }): Promise<Page<Host>>;
  getAssignment(id: string): Promise<Assignment | null>;
  /** Every matching assignment, by id (not paged: a host's are few, the fleet's fit in memory). */
  listAssignments(query?: { host?: string; desired?: AssignmentDesired }): Promise<Assignment[]>;
  getApplied(kind: string, key: string): Promise<AppliedRecord | null>;
  /** Every record (one per object an apply wrote: as many as the catalog, at most), by kind and key. */
  listApplied(query?: { kind?: string }): Promise<AppliedRecord[]>;
}

/**
 * Mutations; `actor` is who asks (a user, a token's name, `engine`), recorded in the audit log.
 * `update*` replace the mutable fields; an update that changes nothing writes nothing.
 */
export interface StoreWrites {
  createOrg(input: OrgInput, actor: string): Promise<Org>;
  deleteOrg(name: string, actor: string): Promise<void>;
  createProduct(input: ProductInput, actor: string): Promise<Product>;
  updateProduct(input: ProductInput, actor: string): Promise<Product>;
  deleteProduct(name: string, actor: string): Promise<void>;
  createModule(input: ModuleInput, actor: string): Promise<Module>;
  updateModule(input: ModuleInput, actor: string): Promise<Module>;
  deleteModule(name: string, actor: string): Promise<void>;
  /** Idempotent for identical content; different content for an existing version is an error. */
  createVersion(input: VersionInput, actor: string): Promise<Version>;
  deleteVersion(module: string, version: string, actor: string): Promise<void>;
  /**
   * listArtifactReferences under the writer lock: until the transaction ends no version can come
   * to name an artifact, so the collector (src/artifacts/collector.ts) deletes the unnamed ones
   * inside it without racing a version's creation. Writes nothing.
   */
  lockArtifactReferences(actor: string): Promise<ArtifactReference[]>;
  createInstance(input: InstanceInput, actor: string): Promise<Instance>;
  updateInstance(id: string, patch: InstancePatch, actor: string): Promise<Instance>;
  deleteInstance(id: string, actor: string): Promise<void>;
  /**
   * Heartbeats: moves lease expiry forward for the given instances, answering how many exist.
   * Not audited and no change-counter bump: it changes nothing a proxy routes on, and bumping
   * every few seconds per instance would wake every config-stream subscriber for nothing.
   */
  renewLeases(ids: readonly string[], until: string): Promise<number>;
  createLane(input: LaneInput, actor: string): Promise<Lane>;
  updateLane(input: LaneInput, actor: string): Promise<Lane>;
  deleteLane(product: string, name: string, actor: string): Promise<void>;
  createTicket(input: TicketInput, actor: string): Promise<Ticket>;
  updateTicket(id: number, patch: TicketPatch, actor: string): Promise<Ticket>;
  /**
   * The ticket read under the writer lock (null when it does not exist), for a check whose write
   * follows in the same transaction: no other writer commits in between, so two concurrent
   * commands cannot both pass a check the first one's write makes false. Writes nothing.
   */
  getTicketForUpdate(id: number, actor: string): Promise<Ticket | null>;
  /** Gives the ticket a new pre-release header value; the old one stops matching once its lane is rewritten. */
  rotatePrereleaseSecret(id: number, actor: string): Promise<Ticket>;
  appendTicketEvent(ticketId: number, input: TicketEventInput, actor: string): Promise<TicketEvent>;
  /**
   * Takes the named lease for `ttlMs` if it is free, expired or already `holder`'s; answers
   * whether `holder` holds it now. Atomic across replicas; not audited, no change-counter bump.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (only if `holder` holds it), so another replica takes over at once. */
  releaseLease(name: string, holder: string): Promise<void>;
  /** For actions that are not store mutations (a login, an approval); mutations audit themselves. */
  appendAudit(input: AuditInput): Promise<AuditEntry>;
  createNotifier(input: NotifierInput, actor: string): Promise<Notifier>;
  /**
   * An agent registers its host, or registers again (address, labels, capacity replaced): a new
   * host is ready; an operator's cordon or drain stays; a down host is ready again. `agent`: the
   * agent token registering it; the first one binds the host (registeredBy), another is forbidden.
   */
  registerHost(input: HostInput, actor: string, agent?: string): Promise<Host>;
  /**
   * A host heartbeat: its lease runs until `until`. Not audited and not counted, unless it brings
   * a down host back (then `host.up` is audited).
   */
  renewHostLease(name: string, until: string, actor: string): Promise<Host>;
  /** An operator's cordon, drain or uncordon, or the sweeper's down; the same state writes nothing. */
  setHostState(name: string, state: HostState, actor: string): Promise<Host>;
  /**
   * The control plane wants instance `id` on `host` (desired run, status pending). Audited and
   * counted. The same id with the same content answers the existing one; other content: conflict.
   */
  createAssignment(input: AssignmentInput, actor: string): Promise<Assignment>;
  /** Run or stop; audited and counted; the same value writes nothing. */
  setAssignmentDesired(id: string, desired: AssignmentDesired, actor: string): Promise<Assignment>;
  /**
   * The agent's report (stamped reportedAt). Like heartbeats: not audited, no change-counter bump.
   * not_found unless the assignment exists on `host`.
   */
  reportAssignment(id: string, host: string, status: AssignmentReport): Promise<Assignment>;
  /** Audited and counted; not_found when it does not exist. */
  deleteAssignment(id: string, actor: string): Promise<void>;
  updateNotifier(input: NotifierInput, actor: string): Promise<Notifier>;
  /** With its deliveries. */
  deleteNotifier(name: string, actor: string): Promise<void>;
  /**
   * Takes up to `limit` pending deliveries due at `now` (ISO), oldest first: each counts one more
   * attempt and is not due again before `until`, so no other deliverer takes it meanwhile, and a
   * deliverer that dies with it leaves it due again then. Not audited, no change-counter bump.
   */
  claimDeliveries(now: string, until: string, limit: number): Promise<ClaimedDelivery[]>;
  /** Records how a claimed delivery's attempt went. Not audited, no change-counter bump. */
  finishDelivery(id: number, outcome: DeliveryOutcome): Promise<void>;
  /**
   * Replaces the last-applied record of (kind, key). Only `apply` writes these, in its own
   * transaction. Not audited, no change-counter bump (the object's own write is).
   */
  recordApplied(input: Omit<AppliedRecord, 'appliedAt'>, actor: string): Promise<AppliedRecord>;
  /** Forgets the record (an apply pruned the object, or the object is gone). */
  deleteApplied(kind: string, key: string, actor: string): Promise<void>;
  /**
   * The download throttle (sql-permits.ts): a granted permit, or this host's place in line. At most
   * `max` hosts hold one at once. Not audited, no change-counter bump.
   */
  acquireDownloadPermit(request: PermitRequest): Promise<PermitAnswer>;
  /** Extends a granted permit; not_found once it expired or was given back. */
  renewDownloadPermit(permit: string, host: string, ttlMs: number): Promise<{ expiresAt: string }>;
  /** Gives a permit back (or a place in line); nothing when it is gone already. */
  releaseDownloadPermit(permit: string, host: string): Promise<void>;
}

export interface StoreTx extends StoreReads, StoreWrites {}

export interface Store extends StoreTx {
  readonly backend: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction: all its writes commit together or, if it throws, none do.
   * Inside `fn` use only `tx` (the store itself rejects calls there). Each method called on the
   * store directly runs in a transaction of its own. Ids from an identity (tickets, audit) are
   * unique and increasing but not gapless on Postgres, where a rolled-back insert uses one up.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The method names of StoreWrites, checked exhaustive by the compiler (a Record of every key). */
const WRITES: Record<keyof StoreWrites, true> = {
  createOrg: true,
  deleteOrg: true,
  createProduct: true,
  updateProduct: true,
  deleteProduct: true,
  createModule: true,
  updateModule: true,
  deleteModule: true,
  createVersion: true,
  deleteVersion: true,
  lockArtifactReferences: true,
  createInstance: true,
  updateInstance: true,
  deleteInstance: true,
  renewLeases: true,
  createLane: true,
  updateLane: true,
  deleteLane: true,
  createTicket: true,
  updateTicket: true,
  getTicketForUpdate: true,
  rotatePrereleaseSecret: true,
  appendTicketEvent: true,
  acquireLease: true,
  releaseLease: true,
  appendAudit: true,
  createNotifier: true,
  updateNotifier: true,
  deleteNotifier: true,
  claimDeliveries: true,
  finishDelivery: true,
  registerHost: true,
  renewHostLease: true,
  setHostState: true,
  createAssignment: true,
  setAssignmentDesired: true,
  reportAssignment: true,
  deleteAssignment: true,
  recordApplied: true,
  deleteApplied: true,
  acquireDownloadPermit: true,
  renewDownloadPermit: true,
  releaseDownloadPermit: true,
};
export const WRITE_METHODS = Object.keys(WRITES) as (keyof StoreWrites)[];
