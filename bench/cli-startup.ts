// CLI start-up (issue 16): `turnout --version`, `turnout dtab show …` and `turnout get products`
// against a bare `node -e 0`, side by side. Goal: each within 2.5× the bare Node start.
//
// Method: the built bin (dist/) as a user runs it, `node bin/turnout.js …`, one child process per
// run. The commands alternate within each round (the order rotates every round), so a burst of
// load on a shared machine hits them all alike; each figure is the median wall time from spawn to
// exit. `get` talks to a real `turnout up` (free loopback ports, examples/shop.yaml applied), so
// its figure includes one real API round trip. Peak RSS comes from separate runs under GNU time
// (`/usr/bin/time -f %M`), so the timing runs carry no wrapper; without GNU time it is not shown.
//
// Run: npm run bench:cli [-- --rounds 21]

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ensureBuilt, ROOT } from '../test/support/build.js';
import { startStack } from '../test/support/release-stack.js';

const GOAL = 2.5;
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 21) || 21;
const BIN = join(ROOT, 'bin', 'turnout.js');
const GNU_TIME = '/usr/bin/time';

interface Case {
  name: string;
  args: string[];
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Wall milliseconds from spawn to exit; a run that fails stops the benchmark (not a figure). */
function timeRun(c: Case): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, c.args, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${c.name} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

/** Peak RSS in MB under GNU time, or null when it is not installed. */
function peakRss(c: Case): number | null {
  if (!existsSync(GNU_TIME)) return null;
  const dir = mkdtempSync(join(tmpdir(), 'turnout-rss-'));
  try {
    const out = join(dir, 'rss');
    const r = spawnSync(GNU_TIME, ['-f', '%M', '-o', out, process.execPath, ...c.args], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    if (r.status !== 0) return null;
    return Number(readFileSync(out, 'utf8').trim()) / 1024;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await ensureBuilt();
  const stack = await startStack();
  try {
    const documents = parseAllDocuments(
      readFileSync(join(ROOT, 'examples', 'shop.yaml'), 'utf8'),
    ).map((d) => d.toJSON());
    await stack.post('/v1/apply', { documents });
    const cases: Case[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'turnout --version', args: [BIN, '--version'] },
      {
        name: "turnout dtab show '/svc => /v/orders/1.0.0'",
        args: [BIN, 'dtab', 'show', '/svc => /v/orders/1.0.0'],
      },
      { name: 'turnout get products', args: [BIN, 'get', 'products', '--server', stack.api] },
    ];
    const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
    for (const c of cases) await timeRun(c); // warm the file cache; not counted
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < cases.length; i++) {
        const c = cases[(round + i) % cases.length] as Case;
        times.get(c.name)?.push(await timeRun(c));
      }
    }
    report(cases, times);
  } finally {
    await stack.stop();
  }
}

function report(cases: readonly Case[], times: ReadonlyMap<string, number[]>): void {
  const base = median(times.get('node -e 0') ?? []);
  console.log(
    `CLI start-up: ${rounds} alternating rounds, median wall time, goal ≤ ${GOAL}× node -e 0`,
  );
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
  let missed = 0;
  for (const c of cases) {
    const ms = median(times.get(c.name) ?? []);
    const ratio = ms / base;
    const rss = peakRss(c);
    const verdict = c.name === 'node -e 0' ? 'baseline' : ratio <= GOAL ? 'MET' : 'MISSED';
    if (verdict === 'MISSED') missed++;
    console.log(
      `${c.name.padEnd(48)} ${ms.toFixed(0).padStart(5)} ms  ${ratio.toFixed(2)}×  ` +
        `rss ${rss === null ? 'n/a' : `${rss.toFixed(0)} MB`}  ${verdict}`,
    );
  }
  console.log(missed === 0 ? 'goal MET for every command' : `goal MISSED for ${missed} command(s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
