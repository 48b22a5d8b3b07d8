// Reads a V8 .cpuprofile (from `node --cpu-prof`) and prints where the time went: the top
// functions by self time, by area (Turnout's own code, undici, prom-client, node:http, GC…), and
// the top Turnout functions by inclusive time.
//
// Usage: npx tsx bench/proxy/cpuprofile-top.ts FILE.cpuprofile [TOP=25]

import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A short, stable place for a function: package or repo-relative file, and line. */
function where(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  const short =
    nm !== -1
      ? url.slice(nm + '/node_modules/'.length)
      : url.replace(/^file:\/\/.*?\/(dist|src)\//, '$1/');
  return `${short}:${frame.lineNumber + 1}`;
}

export function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program (native, uncategorised)';
    return `native ${functionName.slice(0, 60)}`;
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([a-z_]+)/.exec(url);
    return `node:${m?.[1] ?? url}`;
  }
  const own = /\/(dist|src)\/([a-z-]+)\//.exec(url);
  if (own !== null) return `turnout ${own[2]}/`;
  return url;
}

/** Self time (µs) per area and per function of a profile, and its busy (non-idle) total. */
export function selfTimes(profile: CpuProfile): {
  busy: number;
  areas: Map<string, number>;
  functions: Map<string, number>;
} {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i]!);
    if (node === undefined || node.callFrame.functionName === '(idle)') continue;
    busy += dt;
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const k = `${(node.callFrame.functionName || '(anonymous)').slice(0, 50)}  ${where(node.callFrame)}`;
    functions.set(k, (functions.get(k) ?? 0) + dt);
  }
  return { busy, areas, functions };
}

/**
 * Two profiles of the same load side by side, in µs of self time per request: where one
 * proxy's extra cost per request goes (by area, then the functions that differ most).
 */
export function compare(
  a: { name: string; profile: CpuProfile; requests: number },
  b: { name: string; profile: CpuProfile; requests: number },
  top = 25,
): string {
  const sa = selfTimes(a.profile);
  const sb = selfTimes(b.profile);
  const per = (us: number | undefined, n: number) => (us ?? 0) / Math.max(1, n);
  const f = (v: number) => v.toFixed(2).padStart(7);
  const lines = [
    `busy µs per request: ${a.name} ${f(per(sa.busy, a.requests))}, ${b.name} ${f(per(sb.busy, b.requests))} (under the profiler)`,
    '',
    `self time by area, µs/request:  ${a.name} | ${b.name} | difference`,
  ];
  const rows = (ma: Map<string, number>, mb: Map<string, number>) =>
    [...new Set([...ma.keys(), ...mb.keys()])]
      .map((k) => ({ k, x: per(ma.get(k), a.requests), y: per(mb.get(k), b.requests) }))
      .sort((p, q) => Math.abs(q.x - q.y) - Math.abs(p.x - p.y));
  for (const r of rows(sa.areas, sb.areas).filter((r) => Math.max(r.x, r.y) >= 0.05))
    lines.push(`  ${f(r.x)} ${f(r.y)} ${f(r.x - r.y)}  ${r.k}`);
  lines.push('', `functions differing most, µs/request:  ${a.name} | ${b.name} | difference`);
  for (const r of rows(sa.functions, sb.functions).slice(0, top))
    lines.push(`  ${f(r.x)} ${f(r.y)} ${f(r.x - r.y)}  ${r.k}`);
  return lines.join('\n');
}

export function summarise(profile: CpuProfile, top = 25): string {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const key = (f: CallFrame) => `${(f.functionName || '(anonymous)').slice(0, 60)}  ${where(f)}`;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i]!);
    if (node === undefined) continue;
    total += dt;
    if (node.callFrame.functionName === '(idle)') idle += dt;
    const k = key(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (!/\/(dist|src)\/(proxy|routing|config)\//.test(f.url)) continue;
      const fk = key(f);
      if (seen.has(fk)) continue;
      seen.add(fk);
      inclusive.set(fk, (inclusive.get(fk) ?? 0) + dt);
    }
  }
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const lines: string[] = [];
  lines.push(
    `profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy ` +
      `(${((100 * busy) / Math.max(total, 1)).toFixed(0)}%); percentages are of busy time`,
  );
  const sorted = (m: Map<string, number>) =>
    [...m.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
  lines.push('', `top ${top} functions by self time:`);
  for (const [k, us] of sorted(self).slice(0, top)) lines.push(`  ${pct(us)}  ${k}`);
  lines.push('', 'self time by area:');
  for (const [k, us] of sorted(areas).filter(([k]) => k !== 'idle'))
    if (us / busy >= 0.002) lines.push(`  ${pct(us)}  ${k}`);
  lines.push('', 'Turnout functions by inclusive time (self + callees):');
  for (const [k, us] of sorted(inclusive).slice(0, 20)) lines.push(`  ${pct(us)}  ${k}`);
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('cpuprofile-top.ts')) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: npx tsx bench/proxy/cpuprofile-top.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${summarise(profile, Number(process.argv[3] ?? 25))}\n`);
}
