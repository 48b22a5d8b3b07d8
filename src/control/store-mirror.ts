// The incremental compiler's copy of the store rows a snapshot is compiled from, indexed the way
// the compile reads them (a module's versions, a version's instances, a host's instances), and
// kept current by row changes (from the store's change feed, src/control/store-changes.ts) rather
// than by reading every row again. Each change marks what it makes stale: the modules whose
// endpoints it can change (an instance, a version, a module, a host's zone label) and the products
// (a product, a lane). The compiler rebuilds only those parts.

import type { Host } from '../store/host-model.js';
import type { Instance, Lane, Module, Product, Version } from '../store/model.js';
import type { StoreState } from './compile-snapshot.js';

/** One row as it is now in the store (null: gone), named by its key. */
export type RowChange =
  | { readonly kind: 'product'; readonly name: string; readonly row: Product | null }
  | {
      readonly kind: 'lane';
      readonly product: string;
      readonly name: string;
      readonly row: Lane | null;
    }
  | { readonly kind: 'module'; readonly name: string; readonly row: Module | null }
  | {
      readonly kind: 'version';
      readonly module: string;
      readonly version: string;
      readonly row: Version | null;
    }
  | { readonly kind: 'instance'; readonly id: string; readonly row: Instance | null }
  | { readonly kind: 'host'; readonly name: string; readonly row: Host | null };

/** The rows changed since the compiler's last state, read at one change-counter value. */
export interface StoreChanges {
  readonly changeVersion: number;
  readonly rows: readonly RowChange[];
}

/** Two-level map helpers: `outer → inner → value`. */
function put<V>(m: Map<string, Map<string, V>>, a: string, b: string, v: V): void {
  entry(m, a, () => new Map<string, V>()).set(b, v);
}
function entry<K, V>(m: Map<K, V>, key: K, make: () => V): V {
  const have = m.get(key);
  if (have !== undefined) return have;
  const made = make();
  m.set(key, made);
  return made;
}
function drop<V>(m: Map<string, Map<string, V>>, a: string, b: string): void {
  const inner = m.get(a);
  if (inner === undefined) return;
  inner.delete(b);
  if (inner.size === 0) m.delete(a);
}

export class StoreMirror {
  changeVersion = 0;
  readonly products = new Map<string, Product>();
  /** product → lane name → lane. */
  readonly lanes = new Map<string, Map<string, Lane>>();
  readonly modules = new Map<string, Module>();
  /** module → version label → version. */
  readonly versions = new Map<string, Map<string, Version>>();
  readonly instances = new Map<string, Instance>();
  /** module → version label → instance id → instance (whether or not the version exists). */
  readonly instancesOf = new Map<string, Map<string, Map<string, Instance>>>();
  /** host name → ids of the instances on it. */
  readonly onHost = new Map<string, Set<string>>();
  /** host name → its `zone` label (hosts without one are absent). */
  readonly zones = new Map<string, string>();
  readonly hosts = new Map<string, Host>();
  /** Parts made stale since the compiler last took them (`take`). */
  readonly staleModules = new Set<string>();
  readonly staleProducts = new Set<string>();

  /**
   * Replaces everything with `state`; all stale. Answers false when two rows of a kind share a
   * key (the full compile reports those; the mirror keeps one of them).
   */
  load(state: StoreState): boolean {
    for (const m of [
      this.products,
      this.lanes,
      this.modules,
      this.versions,
      this.instances,
      this.instancesOf,
      this.onHost,
      this.zones,
      this.hosts,
    ])
      m.clear();
    this.changeVersion = state.changeVersion;
    for (const p of state.products) this.setProduct(p.name, p);
    for (const l of state.lanes) this.setLane(l.product, l.name, l);
    for (const m of state.modules) this.setModule(m.name, m);
    for (const v of state.versions) this.setVersion(v.module, v.version, v);
    for (const h of state.hosts ?? []) this.setHost(h.name, h);
    for (const i of state.instances) this.setInstance(i.id, i);
    const count = (m: Map<string, Map<string, unknown>>) => {
      let n = 0;
      for (const inner of m.values()) n += inner.size;
      return n;
    };
    return (
      this.products.size === state.products.length &&
      count(this.lanes) === state.lanes.length &&
      this.modules.size === state.modules.length &&
      count(this.versions) === state.versions.length &&
      this.instances.size === state.instances.length
    );
  }

  apply(changes: StoreChanges): void {
    this.changeVersion = changes.changeVersion;
    for (const c of changes.rows) {
      if (c.kind === 'product') this.setProduct(c.name, c.row);
      else if (c.kind === 'lane') this.setLane(c.product, c.name, c.row);
      else if (c.kind === 'module') this.setModule(c.name, c.row);
      else if (c.kind === 'version') this.setVersion(c.module, c.version, c.row);
      else if (c.kind === 'instance') this.setInstance(c.id, c.row);
      else this.setHost(c.name, c.row);
    }
  }

  /** Every part stale (after a failed compile, or when time made the cached endpoints stale). */
  allStale(): void {
    for (const name of this.products.keys()) this.staleProducts.add(name);
    for (const name of this.modules.keys()) this.staleModules.add(name);
    for (const name of this.instancesOf.keys()) this.staleModules.add(name);
  }

  /** The rows as a StoreState (for the full compile, which reports a failure's exact error). */
  state(): StoreState {
    const flat = <V>(m: Map<string, Map<string, V>>) =>
      [...m.values()].flatMap((x) => [...x.values()]);
    return {
      changeVersion: this.changeVersion,
      products: [...this.products.values()],
      lanes: flat(this.lanes),
      modules: [...this.modules.values()],
      versions: flat(this.versions),
      instances: [...this.instances.values()],
      hosts: [...this.hosts.values()],
    };
  }

  private setProduct(name: string, row: Product | null): void {
    if (row === null) this.products.delete(name);
    else this.products.set(name, row);
    this.staleProducts.add(name);
  }

  private setLane(product: string, name: string, row: Lane | null): void {
    if (row === null) drop(this.lanes, product, name);
    else put(this.lanes, product, name, row);
    this.staleProducts.add(product);
  }

  private setModule(name: string, row: Module | null): void {
    if (row === null) this.modules.delete(name);
    else this.modules.set(name, row);
    this.staleModules.add(name);
  }

  private setVersion(module: string, version: string, row: Version | null): void {
    if (row === null) drop(this.versions, module, version);
    else put(this.versions, module, version, row);
    this.staleModules.add(module);
  }

  private setInstance(id: string, row: Instance | null): void {
    const old = this.instances.get(id);
    if (old !== undefined) {
      const inner = this.instancesOf.get(old.module);
      if (inner !== undefined) {
        drop(inner, old.version, id);
        if (inner.size === 0) this.instancesOf.delete(old.module);
      }
      this.onHost.get(old.host)?.delete(id);
      this.staleModules.add(old.module);
    }
    if (row === null) {
      this.instances.delete(id);
      return;
    }
    this.instances.set(id, row);
    put(
      entry(this.instancesOf, row.module, () => new Map()),
      row.version,
      id,
      row,
    );
    const ids = entry(this.onHost, row.host, () => new Set<string>());
    ids.add(id);
    this.staleModules.add(row.module);
  }

  /** A host's zone label is in its instances' endpoints: their modules are stale when it changes. */
  private setHost(name: string, row: Host | null): void {
    const before = this.zones.get(name);
    const zone = row?.labels.zone || undefined;
    if (row === null) this.hosts.delete(name);
    else this.hosts.set(name, row);
    if (zone === undefined) this.zones.delete(name);
    else this.zones.set(name, zone);
    if (zone === before) return;
    for (const id of this.onHost.get(name) ?? [])
      this.staleModules.add(this.instances.get(id)!.module);
  }
}
