// Versioned deltas between two routing snapshots: what a proxy that holds snapshot V needs to turn
// it into snapshot W without receiving W whole (Envoy's incremental xDS, on our snapshot shape).
//
// A snapshot is a tree of keyed, ordered lists: products (by name), modules (by name), a module's
// versions (by version), a version's endpoints (by address). Each list changes by a `ListDelta`:
//   remove — keys dropped from the base list;
//   update — kept items that changed, in place (a product or an endpoint is sent whole; a module or
//            a version sends only its changed fields and the delta of its child list);
//   insert — new items with their index in the result, ascending (applied after remove/update);
//   replace — the whole list, when the above cannot say it (kept items reordered, duplicate keys).
// Items are otherwise opaque: an endpoint is compared and sent as the whole object, so a field
// added to endpoints (zone, …) travels in deltas with no change here. The same holds for other
// fields of a module, a version or the document (`fields`).
//
// Pure: no I/O. `diffSnapshots` shares nothing with its inputs that a caller may mutate later only
// in the sense that items are referenced, not copied; `applyDelta` never mutates its base (the
// proxy keeps serving the base if the result is rejected) and shares unchanged items with it.

import { TurnoutError } from '../errors.js';
import type { Snapshot } from './snapshot.js';

type Obj = Record<string, unknown>;

export interface ListDelta {
  readonly replace?: readonly unknown[];
  readonly remove?: readonly string[];
  readonly update?: readonly unknown[];
  readonly insert?: readonly { readonly at: number; readonly item: unknown }[];
}

export interface SnapshotDelta {
  /** The stream tag (`<version>.<revision>`) of the snapshot this delta applies to. */
  readonly from: string;
  /** The stream tag of the snapshot it produces. */
  readonly to: string;
  /** The produced snapshot's `version`. */
  readonly version: number;
  /** Other top-level fields that changed (none today; room for additions). */
  readonly fields?: Obj;
  readonly products?: ListDelta;
  readonly modules?: ListDelta;
}

/** How one level of the tree is keyed and how a changed item is described. */
interface Level {
  readonly key: string;
  /** Describes how `a` became `b` (same key), or null when they are equal. */
  readonly diff: (a: Obj, b: Obj) => Obj | null;
  /** Applies an `update` entry to the base item; `field` names the place for errors. */
  readonly apply: (base: Obj, change: Obj, field: string) => Obj;
}

const json = (v: unknown) => JSON.stringify(v);

function same(a: unknown, b: unknown): boolean {
  return a === b || json(a) === json(b);
}

/** Leaves (products, endpoints): an update is the whole new item. */
function leaf(key: string): Level {
  return {
    key,
    diff: (a, b) => (same(a, b) ? null : b),
    apply: (_base, change) => change,
  };
}

/**
 * Inner nodes (modules, versions): an update is `{<key>, fields?, <child>?}` — the fields other
 * than the key and the child list whose value changed, and the child list's delta. When a field
 * disappears (no JSON for "unset") the item is sent whole through `replaceItem`.
 */
function node(key: string, child: string, childLevel: Level): Level {
  return {
    key,
    diff: (a, b) => {
      if (a === b) return null;
      const fields: Obj = {};
      let changed = false;
      for (const k of Object.keys(a)) if (!(k in b)) return { [key]: b[key], replaceItem: b };
      for (const [k, v] of Object.entries(b)) {
        if (k === key || k === child) continue;
        if (!same(a[k], v)) {
          fields[k] = v;
          changed = true;
        }
      }
      const sub = diffList(a[child] as readonly Obj[], b[child] as readonly Obj[], childLevel);
      if (!changed && sub === null) return null;
      const out: Obj = { [key]: b[key] };
      if (changed) out.fields = fields;
      if (sub !== null) out[child] = sub;
      return out;
    },
    apply: (base, change, field) => {
      if ('replaceItem' in change) return expectObject(change.replaceItem, `${field}.replaceItem`);
      const out: Obj = { ...base };
      if (change.fields !== undefined) {
        const fields = expectObject(change.fields, `${field}.fields`);
        for (const [k, v] of Object.entries(fields)) {
          if (k === key || k === child)
            throw invalid(`${field}.fields`, `may not set "${k}" (a key or a child list)`);
          out[k] = v;
        }
      }
      if (change[child] !== undefined) {
        const list = base[child];
        if (!Array.isArray(list)) throw invalid(`${field}.${child}`, 'the base item has no list');
        out[child] = applyList(list as Obj[], change[child], childLevel, `${field}.${child}`);
      }
      return out;
    },
  };
}

const ENDPOINTS = leaf('address');
const VERSIONS = node('version', 'endpoints', ENDPOINTS);
const MODULES = node('name', 'versions', VERSIONS);
const PRODUCTS = leaf('name');

function keysOf(list: readonly Obj[], key: string): string[] | null {
  const keys = list.map((item) => String(item[key]));
  return new Set(keys).size === keys.length ? keys : null;
}

/** The delta from `a` to `b`, or null when they are equal. */
function diffList(a: readonly Obj[], b: readonly Obj[], level: Level): ListDelta | null {
  if (a === b) return null;
  const ka = keysOf(a, level.key);
  const kb = keysOf(b, level.key);
  if (ka === null || kb === null) return same(a, b) ? null : { replace: b };
  const inB = new Map(kb.map((k, i) => [k, i]));
  const inA = new Map(ka.map((k, i) => [k, i]));
  const remove = ka.filter((k) => !inB.has(k));
  // The kept items must keep their relative order, or remove/insert cannot express the change.
  let last = -1;
  for (const k of ka) {
    const j = inB.get(k);
    if (j === undefined) continue;
    if (j < last) return { replace: b };
    last = j;
  }
  const update: Obj[] = [];
  const insert: { at: number; item: Obj }[] = [];
  kb.forEach((k, j) => {
    const i = inA.get(k);
    if (i === undefined) {
      insert.push({ at: j, item: b[j]! });
      return;
    }
    const change = level.diff(a[i]!, b[j]!);
    if (change !== null) update.push(change);
  });
  if (remove.length === 0 && update.length === 0 && insert.length === 0) return null;
  const out: { remove?: string[]; update?: Obj[]; insert?: { at: number; item: Obj }[] } = {};
  if (remove.length > 0) out.remove = remove;
  if (update.length > 0) out.update = update;
  if (insert.length > 0) out.insert = insert;
  return out;
}

/** The delta that turns snapshot `a` (stream tag `from`) into `b` (tag `to`). */
export function diffSnapshots(a: Snapshot, b: Snapshot, from: string, to: string): SnapshotDelta {
  const delta: {
    from: string;
    to: string;
    version: number;
    fields?: Obj;
    products?: ListDelta;
    modules?: ListDelta;
  } = { from, to, version: b.version };
  const fields: Obj = {};
  for (const [k, v] of Object.entries(b))
    if (k !== 'version' && k !== 'products' && k !== 'modules' && !same((a as Obj)[k], v))
      fields[k] = v;
  if (Object.keys(fields).length > 0) delta.fields = fields;
  const products = diffList(a.products as Obj[], b.products as Obj[], PRODUCTS);
  if (products !== null) delta.products = products;
  const modules = diffList(a.modules as Obj[], b.modules as Obj[], MODULES);
  if (modules !== null) delta.modules = modules;
  return delta;
}

function invalid(field: string, message: string): TurnoutError {
  return new TurnoutError('invalid_config', `delta: ${field}: ${message}`, field);
}

function expectObject(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw invalid(field, 'must be an object');
  return v as Obj;
}

function expectArray(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(field, 'must be an array');
  return v;
}

/** Applies one list delta to `base` (not mutated); throws `invalid_config` naming the field. */
function applyList(base: readonly Obj[], raw: unknown, level: Level, field: string): Obj[] {
  const d = expectObject(raw, field);
  if (d.replace !== undefined)
    return expectArray(d.replace, `${field}.replace`).map((x, i) =>
      expectObject(x, `${field}.replace[${i}]`),
    );
  const keys = keysOf(base, level.key);
  if (keys === null) throw invalid(field, `the base list has duplicate ${level.key}s`);
  const index = new Map(keys.map((k, i) => [k, i]));
  const out: (Obj | null)[] = [...base];
  if (d.remove !== undefined) {
    expectArray(d.remove, `${field}.remove`).forEach((k, n) => {
      const i = typeof k === 'string' ? index.get(k) : undefined;
      if (i === undefined || out[i] === null)
        throw invalid(`${field}.remove[${n}]`, `no item with ${level.key} ${json(k)} to remove`);
      out[i] = null;
    });
  }
  if (d.update !== undefined) {
    expectArray(d.update, `${field}.update`).forEach((u, n) => {
      const f = `${field}.update[${n}]`;
      const change = expectObject(u, f);
      const k = change[level.key];
      const i = typeof k === 'string' ? index.get(k) : undefined;
      if (i === undefined || out[i] === null)
        throw invalid(f, `no item with ${level.key} ${json(k)} to update`);
      const next = level.apply(out[i]!, change, f);
      if (next[level.key] !== k) throw invalid(f, `may not change the ${level.key}`);
      out[i] = next;
    });
  }
  const kept = out.filter((x): x is Obj => x !== null);
  if (d.insert !== undefined) {
    let last = -1;
    expectArray(d.insert, `${field}.insert`).forEach((e, n) => {
      const f = `${field}.insert[${n}]`;
      const { at, item } = expectObject(e, f);
      if (typeof at !== 'number' || !Number.isInteger(at) || at <= last || at > kept.length)
        throw invalid(`${f}.at`, `must be an index in ascending order, at most ${kept.length}`);
      last = at;
      kept.splice(at, 0, expectObject(item, `${f}.item`));
    });
  }
  return kept;
}

/**
 * The snapshot `delta` makes of `base`. Structural only: the caller validates the result (it must
 * pass the snapshot schema like any snapshot) and checks that `delta.from` names its base.
 */
export function applyDelta(base: Snapshot, raw: unknown): Obj {
  const d = expectObject(raw, '(delta)');
  if (typeof d.version !== 'number') throw invalid('version', 'must be a number');
  const out: Obj = { ...base, version: d.version };
  if (d.fields !== undefined) {
    for (const [k, v] of Object.entries(expectObject(d.fields, 'fields'))) {
      if (k === 'version' || k === 'products' || k === 'modules')
        throw invalid('fields', `may not set "${k}"`);
      out[k] = v;
    }
  }
  if (d.products !== undefined)
    out.products = applyList(base.products as Obj[], d.products, PRODUCTS, 'products');
  if (d.modules !== undefined)
    out.modules = applyList(base.modules as Obj[], d.modules, MODULES, 'modules');
  return out;
}
