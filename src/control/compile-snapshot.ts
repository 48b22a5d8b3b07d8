// Compiles the control plane's store state into the proxy's routing snapshot (src/config/snapshot.ts).
// Pure: the caller reads the state (readStoreState in publisher.ts, inside one transaction so the
// lists and the change counter agree) and passes the clock.
//
// Rules of the compilation:
// - `version` is the store's change counter at the read, so it only ever grows.
// - Every product → `{name, hosts, entry, dtab: product.baseDtab, lanes, rules}`.
// - A product's lanes are ordered by creation (`createdAt`, then name for ties), and its `rules`
//   are the concatenation of each lane's rules in that order: an older lane's rules are tried
//   first. (Rule order matters: the first matching rule assigns the lane.)
// - Every module → `{name, calls, versions}`; every version of it → `{version, endpoints}`.
// - An instance is an endpoint of its version when it is not `stopped`, its health is not
//   `unhealthy`, and its lease has not expired (`leaseExpiresAt` null = no lease = never expires).
//   An expired lease means "not ready": the instance leaves the endpoint set at once, even before
//   the registry marks it unhealthy. The endpoint keeps the instance's state (`starting`,
//   `ready`, `draining`) and weight, so proxies stop sending new requests to a draining one.
// - The result must pass `snapshotSchema` and the proxy's own `compileSnapshot`; otherwise the
//   answer is a `SnapshotCompileError` and nothing may be published.

import { compileSnapshot as compileForProxy } from '../config/compile.js';
import { fieldPath } from '../config/load.js';
import type { Snapshot, SnapshotInput } from '../config/snapshot.js';
import { moduleSchema, productSchema, snapshotIssues, snapshotSchema } from '../config/snapshot.js';
import { isEndpoint } from '../store/endpoint.js';
import type { Host } from '../store/host-model.js';
import type { Instance, Lane, Module, Product, Version } from '../store/model.js';
import type { StoreChanges } from './store-mirror.js';
import { StoreMirror } from './store-mirror.js';

/** Everything the compilation reads, at one change-counter value. */
export interface StoreState {
  readonly changeVersion: number;
  readonly products: readonly Product[];
  readonly lanes: readonly Lane[];
  readonly modules: readonly Module[];
  readonly versions: readonly Version[];
  readonly instances: readonly Instance[];
  /** For each endpoint's `zone`: its instance's host's `zone` label (none: no zone). */
  readonly hosts?: readonly Host[];
}

export class SnapshotCompileError extends Error {
  override readonly name = 'SnapshotCompileError';
  readonly version: number;
  /** The snapshot field at fault (`products[0].dtab`), or '' for the document. */
  readonly field: string;
  constructor(version: number, field: string, message: string) {
    super(`snapshot ${version}: ${field || '(document)'}: ${message}`);
    this.version = version;
    this.field = field;
  }
}

export type CompileResult =
  | {
      readonly ok: true;
      readonly snapshot: Snapshot;
      /** The snapshot as one-line JSON (what the stream sends as `data:`). */
      readonly json: string;
      /**
       * The earliest lease expiry still in the future among the instances counted as endpoints
       * (ms since the epoch), or null: the snapshot's content changes then, without a store change.
       */
      readonly nextLeaseExpiryMs: number | null;
      /**
       * How many instances are left out only because their lease expired: a heartbeat (which
       * changes no counter) may bring them back, so the publisher recompiles after one.
       */
      readonly expiredLeases: number;
    }
  | { readonly ok: false; readonly error: SnapshotCompileError };

function byCreation(a: Lane, b: Lane): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function compileStoreSnapshot(state: StoreState, now: Date = new Date()): CompileResult {
  const nowMs = now.getTime();

  const lanesOf = new Map<string, Lane[]>();
  for (const lane of state.lanes) {
    const list = lanesOf.get(lane.product) ?? [];
    list.push(lane);
    lanesOf.set(lane.product, list);
  }

  const products = [...state.products]
    .sort((a, b) => byKey(a.name, b.name))
    .map((p) => {
      const lanes = [...(lanesOf.get(p.name) ?? [])].sort(byCreation);
      return {
        name: p.name,
        hosts: [...p.hosts],
        entry: p.entry,
        dtab: p.baseDtab,
        lanes: lanes.map((l) => ({ name: l.name, overlay: l.overlay })),
        rules: lanes.flatMap((l) => l.rules),
      };
    });

  const { endpointsOf, versionsOf, nextLeaseExpiryMs, expiredLeases } = groupEndpoints(
    state,
    nowMs,
  );

  const modules = [...state.modules]
    .sort((a, b) => byKey(a.name, b.name))
    .map((m) => ({
      name: m.name,
      calls: [...m.calls],
      versions: [...(versionsOf.get(m.name) ?? [])]
        .sort((a, b) => byKey(a.version, b.version))
        .map((v) => ({
          version: v.version,
          endpoints: endpointsOf.get(`${m.name}\u0000${v.version}`) ?? [],
        })),
    }));

  const input: SnapshotInput = { version: state.changeVersion, products, modules };
  const parsed = snapshotSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const more =
      parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    return {
      ok: false,
      error: new SnapshotCompileError(
        state.changeVersion,
        fieldPath(issue.path),
        `${issue.message}${more}`,
      ),
    };
  }
  try {
    compileForProxy(parsed.data);
  } catch (error) {
    const field = (error as { field?: unknown }).field;
    return {
      ok: false,
      error: new SnapshotCompileError(
        state.changeVersion,
        typeof field === 'string' ? field : '',
        error instanceof Error ? error.message : String(error),
      ),
    };
  }
  return {
    ok: true,
    snapshot: parsed.data,
    json: JSON.stringify(parsed.data),
    nextLeaseExpiryMs,
    expiredLeases,
  };
}

// ## Incremental compile
//
// `SnapshotCompiler` gives exactly what `compileStoreSnapshot` gives for the same state and clock
// (a property test holds it to that), but remembers each module's and each product's validated
// part with its JSON, keyed by the part itself: a part built from the store's rows that equals the
// remembered one is reused without schema validation or serialisation, so one changed instance
// costs one module's validation. What stays whole per compile is cheap: grouping the rows,
// building each part as plain data to compare, the checks across parts (snapshotIssues) and
// joining the parts' JSON. Any problem falls back to the full compile, for its exact error.

type Endpoint = { address: string; state: Instance['state']; weight: number; zone?: string };
/** Every field the compile can give an endpoint (zone only where the host has a zone label). */
const ENDPOINT_KEYS = ['address', 'state', 'weight', 'zone'] as const;
type PlainModule = {
  name: string;
  calls: string[];
  versions: { version: string; endpoints: Endpoint[] }[];
};
type PlainProduct = Snapshot['products'][number];

interface Cached<T> {
  readonly part: T;
  readonly json: string;
  /** For products, the plain part's JSON (compared instead of walking lanes and rules). */
  readonly key: string;
}

/**
 * Whether a cached endpoint equals a plain one, over every field the compile gives endpoints
 * (ENDPOINT_KEYS; an absent zone compares equal to an absent zone). The cached one is the schema's
 * output of such a plain one, so comparing those fields is enough. No allocation: this runs for
 * every endpoint of every compile.
 */
function sameEndpoint(plain: Endpoint, cached: object, keys: readonly string[]): boolean {
  for (const k of keys)
    if ((plain as Record<string, unknown>)[k] !== (cached as Record<string, unknown>)[k])
      return false;
  return true;
}

function sameModule(
  plain: PlainModule,
  cached: Snapshot['modules'][number],
  keys: readonly string[],
): boolean {
  if (plain.calls.length !== cached.calls.length) return false;
  for (let i = 0; i < plain.calls.length; i++) if (plain.calls[i] !== cached.calls[i]) return false;
  if (plain.versions.length !== cached.versions.length) return false;
  for (let i = 0; i < plain.versions.length; i++) {
    const pv = plain.versions[i]!;
    const cv = cached.versions[i]!;
    if (pv.version !== cv.version || pv.endpoints.length !== cv.endpoints.length) return false;
    for (let j = 0; j < pv.endpoints.length; j++)
      if (!sameEndpoint(pv.endpoints[j]!, cv.endpoints[j]!, keys)) return false;
  }
  return true;
}

/** Cached endpoints of a module are good until its earliest lease expires (or the clock goes back). */
interface LeaseFigures {
  /** The earliest future lease among the module's endpoints (ms), or null. */
  readonly next: number | null;
  /** Instances of the module left out only for an expired lease. */
  readonly expired: number;
  /** The clock the figures were computed at. */
  readonly at: number;
}

export class SnapshotCompiler {
  private readonly mirror = new StoreMirror();
  private modules = new Map<string, Cached<Snapshot['modules'][number]>>();
  private products = new Map<string, Cached<PlainProduct>>();
  /** Per module name (of any instance), for the lease figures of the result. */
  private readonly leases = new Map<string, LeaseFigures>();
  /** Whether the mirror holds a state (a first `compile(state)` happened). */
  private loaded = false;
  /** Parts validated by the last compile (for tests and the bench). */
  lastValidated = 0;

  /** Compiles a whole store state (read in full), reusing the parts that did not change. */
  compile(state: StoreState, now: Date = new Date()): CompileResult {
    this.leases.clear();
    if (!this.mirror.load(state)) {
      this.loaded = false;
      this.modules.clear();
      this.products.clear();
      return compileStoreSnapshot(state, now);
    }
    this.loaded = true;
    // Parts of the previous state that this one may not have: checked (and dropped) too.
    for (const name of this.products.keys()) this.mirror.staleProducts.add(name);
    for (const name of this.modules.keys()) this.mirror.staleModules.add(name);
    return this.patchOrFull(now);
  }

  /**
   * Compiles after `changes` (the rows changed since the state this compiler holds: see
   * readStoreChanges), rebuilding only the parts they touch and the modules whose endpoints the
   * clock changed. Equal to `compile` of the whole state read at `changes.changeVersion`.
   */
  compileChanges(changes: StoreChanges, now: Date = new Date()): CompileResult {
    if (!this.loaded) throw new Error('compileChanges before a first compile of the whole state');
    this.mirror.apply(changes);
    return this.patchOrFull(now);
  }

  /** The change-counter value of the state this compiler holds (null before the first compile). */
  version(): number | null {
    return this.loaded ? this.mirror.changeVersion : null;
  }

  private patchOrFull(now: Date): CompileResult {
    const result = this.patch(now.getTime());
    if (result !== null) return result;
    // Some part does not validate: the full compile reports its exact error; start over next time.
    this.modules.clear();
    this.products.clear();
    this.leases.clear();
    this.mirror.allStale();
    return compileStoreSnapshot(this.mirror.state(), now);
  }

  /** Modules whose cached endpoints the clock made stale (a lease passed, or the clock went back). */
  private markTimeStale(nowMs: number): void {
    for (const [name, f] of this.leases)
      if (nowMs < f.at || (f.next !== null && nowMs >= f.next)) this.mirror.staleModules.add(name);
  }

  /** The incremental compile, or null when some part does not validate (the full one reports). */
  private patch(nowMs: number): CompileResult | null {
    this.lastValidated = 0;
    const m = this.mirror;
    this.markTimeStale(nowMs);
    const structure = this.productsChanged() || this.modulesChanged();
    const changedProducts: PlainProduct[] = [];
    for (const name of m.staleProducts) {
      const p = m.products.get(name);
      if (p === undefined) {
        this.products.delete(name);
        continue;
      }
      const lanes = [...(m.lanes.get(name)?.values() ?? [])].sort(byCreation);
      const plain = {
        name: p.name,
        hosts: [...p.hosts],
        entry: p.entry,
        dtab: p.baseDtab,
        lanes: lanes.map((l) => ({ name: l.name, overlay: l.overlay })),
        rules: lanes.flatMap((l) => l.rules),
      };
      const key = JSON.stringify(plain);
      const hit = this.products.get(name);
      if (hit !== undefined && hit.key === key) continue;
      const parsed = productSchema.safeParse(plain);
      if (!parsed.success) return null;
      this.lastValidated++;
      changedProducts.push(parsed.data);
      this.products.set(name, { part: parsed.data, json: JSON.stringify(parsed.data), key });
    }
    for (const name of m.staleModules) {
      this.leases.set(name, this.leaseFigures(name, nowMs));
      if (!m.modules.has(name)) {
        this.modules.delete(name);
        continue;
      }
      const plain = this.plainModule(name, nowMs);
      const hit = this.modules.get(name);
      if (hit !== undefined && sameModule(plain, hit.part, ENDPOINT_KEYS)) continue;
      const parsed = moduleSchema.safeParse(plain);
      if (!parsed.success) return null;
      this.lastValidated++;
      this.modules.set(name, { part: parsed.data, json: JSON.stringify(parsed.data), key: '' });
    }
    if (structure) this.sortParts();
    if (!Number.isInteger(m.changeVersion) || m.changeVersion < 0) return null;
    const snapshot: Snapshot = {
      version: m.changeVersion,
      products: [...this.products.values()].map((c) => c.part),
      modules: [...this.modules.values()].map((c) => c.part),
    };
    if (snapshotIssues(snapshot).length > 0) return null;
    try {
      // The proxy's compile of what changed (lane rules, dtabs): its errors are per product.
      compileForProxy({ version: snapshot.version, products: changedProducts, modules: [] });
    } catch {
      return null;
    }
    m.staleModules.clear();
    m.staleProducts.clear();
    const join = (x: Map<string, Cached<unknown>>) => [...x.values()].map((c) => c.json).join(',');
    let nextLeaseExpiryMs: number | null = null;
    let expiredLeases = 0;
    for (const f of this.leases.values()) {
      expiredLeases += f.expired;
      if (f.next !== null && (nextLeaseExpiryMs === null || f.next < nextLeaseExpiryMs))
        nextLeaseExpiryMs = f.next;
    }
    return {
      ok: true,
      snapshot,
      json: `{"version":${snapshot.version},"products":[${join(this.products)}],"modules":[${join(this.modules)}]}`,
      nextLeaseExpiryMs,
      expiredLeases,
    };
  }

  /** Whether a stale product is new or gone (the parts' order must be redone). */
  private productsChanged(): boolean {
    for (const name of this.mirror.staleProducts)
      if (this.products.has(name) !== this.mirror.products.has(name)) return true;
    return false;
  }

  private modulesChanged(): boolean {
    for (const name of this.mirror.staleModules)
      if (this.modules.has(name) !== this.mirror.modules.has(name)) return true;
    return false;
  }

  /** Maps iterate in insertion order: re-insert the parts by name, as the full compile orders them. */
  private sortParts(): void {
    const sorted = <T>(x: Map<string, T>) => new Map([...x].sort(([a], [b]) => byKey(a, b)));
    this.products = sorted(this.products);
    this.modules = sorted(this.modules);
  }

  /** A module's part as plain data, from the mirror: versions by label, endpoints by instance id. */
  private plainModule(name: string, nowMs: number): PlainModule {
    const m = this.mirror;
    const mod = m.modules.get(name)!;
    const byVersion = m.instancesOf.get(name);
    const labels = [...(m.versions.get(name)?.keys() ?? [])].sort(byKey);
    return {
      name,
      calls: [...mod.calls],
      versions: labels.map((version) => {
        const endpoints: Endpoint[] = [];
        const instances = [...(byVersion?.get(version)?.values() ?? [])].sort((a, b) =>
          byKey(a.id, b.id),
        );
        for (const i of instances) {
          if (!isEndpoint(i, nowMs)) continue;
          const zone = m.zones.get(i.host);
          endpoints.push({
            address: i.address,
            state: i.state,
            weight: i.weight,
            ...(zone && { zone }),
          });
        }
        return { version, endpoints };
      }),
    };
  }

  /** The lease figures over every instance of a module name, whether or not its version exists. */
  private leaseFigures(name: string, nowMs: number): LeaseFigures {
    let next: number | null = null;
    let expired = 0;
    for (const byId of this.mirror.instancesOf.get(name)?.values() ?? [])
      for (const i of byId.values()) {
        if (!isEndpoint(i, nowMs)) {
          if (i.state !== 'stopped' && i.health !== 'unhealthy') expired++;
          continue;
        }
        if (i.leaseExpiresAt === null) continue;
        const at = Date.parse(i.leaseExpiresAt);
        if (next === null || at < next) next = at;
      }
    return { next, expired, at: nowMs };
  }
}

/**
 * Each version's endpoints (instances in routing at `nowMs`, by id, with their host's zone label
 * for locality), each module's versions, and the lease bookkeeping — one pass, shared by the full
 * and the incremental compile so the two cannot disagree.
 */
function groupEndpoints(state: StoreState, nowMs: number) {
  let nextLeaseExpiryMs: number | null = null;
  let expiredLeases = 0;
  const endpointsOf = new Map<string, Endpoint[]>();
  const zoneOf = new Map<string, string>();
  for (const h of state.hosts ?? []) if (h.labels.zone) zoneOf.set(h.name, h.labels.zone);
  for (const i of [...state.instances].sort((a, b) => byKey(a.id, b.id))) {
    if (!isEndpoint(i, nowMs)) {
      if (i.state !== 'stopped' && i.health !== 'unhealthy') expiredLeases++;
      continue;
    }
    if (i.leaseExpiresAt !== null) {
      const at = Date.parse(i.leaseExpiresAt);
      if (nextLeaseExpiryMs === null || at < nextLeaseExpiryMs) nextLeaseExpiryMs = at;
    }
    const key = `${i.module}\u0000${i.version}`;
    const list = endpointsOf.get(key) ?? [];
    const zone = zoneOf.get(i.host);
    list.push({ address: i.address, state: i.state, weight: i.weight, ...(zone && { zone }) });
    endpointsOf.set(key, list);
  }
  const versionsOf = new Map<string, Version[]>();
  for (const v of state.versions) {
    const list = versionsOf.get(v.module) ?? [];
    list.push(v);
    versionsOf.set(v.module, list);
  }
  return { endpointsOf, versionsOf, nextLeaseExpiryMs, expiredLeases };
}
