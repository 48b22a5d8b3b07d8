// What a load saw, without I/O: reading an example service's answer (its name, version and lane,
// and those of what it called) and summing served requests by lane and by module version, for
// `turnout load`, the demo's tour and tests. A service that answers otherwise is counted by
// status only (no lane, no versions).

/** What served one request, as the example services report it. */
export interface Served {
  readonly at: number;
  readonly status: number;
  readonly user: string;
  readonly product: string;
  /** The lane the entry service saw, or null (stable, or not reported). */
  readonly lane: string | null;
  /** module → version, over the whole call tree. */
  readonly versions: Readonly<Record<string, string>>;
  /** Why it failed: the proxy's `x-turnout-error` code, the body's start, or the socket error. */
  readonly error?: string;
}

export { readReply } from '../control/served-reply.js';

/** The lane name a summary shows for requests outside any lane (as /v1/traffic does). */
export const STABLE = 'stable';

export interface LaneCount {
  readonly lane: string;
  readonly requests: number;
  readonly users: number;
  readonly failed: number;
}

export interface VersionCount {
  readonly module: string;
  readonly version: string;
  readonly lane: string;
  readonly requests: number;
}

export interface LoadSummary {
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly users: number;
  readonly elapsedMs: number;
  /** Requests per second over elapsedMs (0 when nothing elapsed). */
  readonly rate: number;
  /** HTTP status → requests; 0 is a request that got no answer. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Why requests failed, and how many (the first 10 reasons seen). */
  readonly errors: readonly { readonly reason: string; readonly requests: number }[];
  readonly lanes: readonly LaneCount[];
  readonly versions: readonly VersionCount[];
}

const MAX_ERROR_KINDS = 10;

/** A request counts as ok when answered 2xx. */
export const isOk = (r: Served) => r.status >= 200 && r.status < 300;

/** Sums `served` by lane and by module version (sorted by name, stable first). */
export function summarize(served: readonly Served[], elapsedMs: number): LoadSummary {
  const lanes = new Map<string, { requests: number; users: Set<string>; failed: number }>();
  const versions = new Map<string, VersionCount>();
  const statuses: Record<string, number> = {};
  // A Map: the reasons are text from the network (a body could say `__proto__`).
  const errors = new Map<string, number>();
  const users = new Set<string>();
  let ok = 0;
  for (const r of served) {
    const lane = r.lane ?? STABLE;
    const l = lanes.get(lane) ?? { requests: 0, users: new Set<string>(), failed: 0 };
    lanes.set(lane, l);
    l.requests += 1;
    l.users.add(r.user);
    users.add(r.user);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (isOk(r)) ok += 1;
    else {
      l.failed += 1;
      const why = r.error ?? `HTTP ${r.status}`;
      if (errors.has(why) || errors.size < MAX_ERROR_KINDS)
        errors.set(why, (errors.get(why) ?? 0) + 1);
    }
    for (const [module, version] of Object.entries(r.versions)) {
      const key = `${module}\u0000${version}\u0000${lane}`;
      const v = versions.get(key) ?? { module, version, lane, requests: 0 };
      versions.set(key, { ...v, requests: v.requests + 1 });
    }
  }
  const byLane = (a: string, b: string) =>
    a === b ? 0 : a === STABLE ? -1 : b === STABLE ? 1 : a < b ? -1 : 1;
  return {
    requests: served.length,
    ok,
    failed: served.length - ok,
    users: users.size,
    elapsedMs,
    rate: elapsedMs > 0 ? (served.length * 1000) / elapsedMs : 0,
    statuses,
    errors: [...errors].map(([reason, requests]) => ({ reason, requests })),
    lanes: [...lanes.entries()]
      .sort(([a], [b]) => byLane(a, b))
      .map(([lane, l]) => ({ lane, requests: l.requests, users: l.users.size, failed: l.failed })),
    versions: [...versions.values()].sort(
      (a, b) =>
        a.module.localeCompare(b.module) ||
        a.version.localeCompare(b.version) ||
        byLane(a.lane, b.lane),
    ),
  };
}

/** Columns padded to their widest cell. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** The summary for people: totals, then a table by lane and one by module version. */
export function renderSummary(s: LoadSummary, target: string): string {
  const lines = [
    `${s.requests} requests to ${target} in ${(s.elapsedMs / 1000).toFixed(1)} s (${s.rate.toFixed(1)}/s) from ${s.users} users: ${s.ok} ok, ${s.failed} failed`,
  ];
  if (s.lanes.length > 0) {
    lines.push(
      '',
      ...table([
        ['LANE', 'REQUESTS', 'USERS', 'FAILED'],
        ...s.lanes.map((l) => [l.lane, String(l.requests), String(l.users), String(l.failed)]),
      ]),
    );
  }
  if (s.versions.length > 0) {
    lines.push(
      '',
      ...table([
        ['MODULE', 'VERSION', 'LANE', 'REQUESTS'],
        ...s.versions.map((v) => [v.module, v.version, v.lane, String(v.requests)]),
      ]),
    );
  } else if (s.requests > 0) {
    lines.push('', 'no versions reported (the service does not answer as the example services do)');
  }
  if (s.errors.length > 0) {
    lines.push('', 'failures:');
    for (const e of s.errors) lines.push(`  ${e.requests} × ${e.reason}`);
  }
  return lines.join('\n');
}
