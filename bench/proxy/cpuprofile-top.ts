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
interface CpuProfile {
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
