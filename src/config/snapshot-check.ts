// The routing snapshot checked without zod, for the proxy (issue 15: memory: zod costs a proxy
// ~6–8 MB of RSS). Same answers as snapshotSchema in snapshot.ts, which stays the source of truth
// (the control plane compiles with it): the same documents accepted, the same output (defaults
// filled, header names lower-cased, unknown fields refused), and the same path and message for the
// first issue. test/config/snapshot-check.test.ts feeds both the same documents and mutations.

import { nameProblem } from '../routing/context.js';
import { checkLaneRules } from '../routing/lane-rules-check.js';
import { parseDtab } from '../routing/parser.js';
import type { Path } from '../routing/plain-check.js';
import { fail, list, number, object, Problem, strictKeys, string } from '../routing/plain-check.js';
import type { Snapshot } from './snapshot.js';
import { snapshotIssues } from './snapshot-issues.js';

type Product = Snapshot['products'][number];
type Module = Snapshot['modules'][number];
type Version = Module['versions'][number];
type Endpoint = Version['endpoints'][number];

const VERSION_LABEL = /^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$/;
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const ZONE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const HOST = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$/;
const STATES = ['starting', 'ready', 'draining', 'stopped'] as const;

function name(what: string) {
  return (value: unknown, path: Path): string => {
    const s = string(value, path);
    const problem = nameProblem(s);
    if (problem !== null) fail(path, `${what} "${s}" ${problem}`);
    return s;
  };
}
const moduleName = name('module');

function dtabText(value: unknown, path: Path): string {
  const text = string(value, path);
  try {
    parseDtab(text);
  } catch (error) {
    fail(path, `invalid dtab: ${(error as Error).message}`);
  }
  return text;
}

function matching(re: RegExp, message: string) {
  return (value: unknown, path: Path): string => {
    const s = string(value, path);
    if (!re.test(s)) fail(path, message);
    return s;
  };
}
const versionLabel = matching(
  VERSION_LABEL,
  'a version is 1–64 of A-Z a-z 0-9 _ . : - and starts with a letter or digit',
);
const host = matching(HOST, 'a host is a lower-case DNS name, optionally :port');

function address(value: unknown, path: Path): string {
  const a = matching(ADDRESS, 'an address is host:port')(value, path);
  if (Number(a.slice(a.lastIndexOf(':') + 1)) > 65535) fail(path, 'port out of range');
  return a;
}

function state(value: unknown, path: Path): Endpoint['state'] {
  if (value === undefined) return 'ready';
  if (!(STATES as readonly unknown[]).includes(value))
    fail(path, `Invalid option: expected one of ${STATES.map((s) => `"${s}"`).join('|')}`);
  return value as Endpoint['state'];
}

function weight(value: unknown, path: Path): number {
  if (value === undefined) return 1;
  const w = number(value, path);
  if (w < 0) fail(path, 'Too small: expected number to be >=0');
  if (w > 1000) fail(path, 'Too big: expected number to be <=1000');
  return w;
}

const ENDPOINT_FIELDS = ['address', 'state', 'weight', 'zone'];

function endpoint(value: unknown, path: Path): Endpoint {
  const e = object(value, path);
  const out: Endpoint = {
    address: address(e.address, [...path, 'address']),
    state: state(e.state, [...path, 'state']),
    weight: weight(e.weight, [...path, 'weight']),
  };
  if (e.zone !== undefined)
    out.zone = matching(ZONE, 'a zone is a host label value')(e.zone, [...path, 'zone']);
  strictKeys(e, ENDPOINT_FIELDS, path);
  return out;
}

function version(value: unknown, path: Path): Version {
  const v = object(value, path);
  const out: Version = {
    version: versionLabel(v.version, [...path, 'version']),
    endpoints: list(v.endpoints, [...path, 'endpoints'], endpoint),
  };
  strictKeys(v, ['version', 'endpoints'], path);
  return out;
}

export function checkModule(value: unknown, path: Path): Module {
  const m = object(value, path);
  const out: Module = {
    name: moduleName(m.name, [...path, 'name']),
    calls: list(m.calls, [...path, 'calls'], moduleName),
    versions: list(m.versions, [...path, 'versions'], version),
  };
  strictKeys(m, ['name', 'calls', 'versions'], path);
  return out;
}

function lane(value: unknown, path: Path): Product['lanes'][number] {
  const l = object(value, path);
  const out = {
    name: name('lane')(l.name, [...path, 'name']),
    overlay: l.overlay === undefined ? '' : dtabText(l.overlay, [...path, 'overlay']),
  };
  strictKeys(l, ['name', 'overlay'], path);
  return out;
}

const PRODUCT_FIELDS = ['name', 'hosts', 'entry', 'dtab', 'lanes', 'rules'];

export function checkProduct(value: unknown, path: Path): Product {
  const p = object(value, path);
  const out: Product = {
    name: name('product')(p.name, [...path, 'name']),
    hosts: list(p.hosts, [...path, 'hosts'], host),
    entry: moduleName(p.entry, [...path, 'entry']),
    dtab: dtabText(p.dtab, [...path, 'dtab']),
    lanes: list(p.lanes, [...path, 'lanes'], lane),
    rules: checkLaneRules(p.rules, [...path, 'rules']),
  };
  strictKeys(p, PRODUCT_FIELDS, path);
  return out;
}

function snapshotVersion(value: unknown, path: Path): number {
  const v = number(value, path);
  if (!Number.isInteger(v)) fail(path, 'Invalid input: expected int, received number');
  if (v < 0) fail(path, 'Too small: expected number to be >=0');
  return v;
}

function snapshot(value: unknown): Snapshot {
  const s = object(value, []);
  const out: Snapshot = {
    version: snapshotVersion(s.version, ['version']),
    products: list(s.products, ['products'], checkProduct),
    modules: list(s.modules, ['modules'], checkModule),
  };
  strictKeys(s, ['version', 'products', 'modules'], []);
  const issue = snapshotIssues(out)[0];
  if (issue !== undefined) fail(issue.path, issue.message);
  return out;
}

export type CheckResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly path: Path; readonly message: string };

/** Runs a check; a `Problem` becomes the result's path and message, anything else is a defect. */
export function runCheck<T>(check: () => T): CheckResult<T> {
  try {
    return { ok: true, value: check() };
  } catch (error) {
    if (error instanceof Problem) return { ok: false, path: error.path, message: error.message };
    throw error;
  }
}

/** A whole snapshot document, as snapshotSchema.safeParse answers it (first issue only). */
export function checkSnapshot(doc: unknown): CheckResult<Snapshot> {
  return runCheck(() => snapshot(doc));
}
