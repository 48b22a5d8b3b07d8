// `npx tsx bench/proxy/alloc.ts`: what load on a shared machine does not skew, for Turnout against
// node-floor: bytes allocated per request (V8's sampling heap profiler, objects collected by
// either GC included), GCs per 10,000 requests, and what the slow requests (above the run's
// p99) waited for — each matched on the wall clock against the proxy's GCs and the generator's
// own send lateness.
//
// Per run and target: nginx upstream (1 worker, CPU 1), the proxy on CPU 0 under `node --trace-gc
// --require bench/proxy/alloc-probe.cjs`, bench/proxy/fixed-rate.ts at 2,000 req/s on CPU 1
// (2 s warm-up, then measured until 1 s past the probe's window, `--dump`). The probe samples
// allocations (`alloc` rounds) or only counts (`tail` rounds: the profiler's own cost would
// lengthen the tail) from 5 s after the first request for 4 s (--window). Targets are interleaved (A B …, then … B A) so load that comes and goes hits
// both alike.
//
// Usage: tsx bench/proxy/alloc.ts [--runs 2] [--targets turnout,node-floor] [--baseline DIR]
//   [--rate 2000] [--tail-rate R (the rounds without the profiler; default --rate)] [--keep]
//   [--modes alloc,tail] [--window 4000 (ms sampled or counted)] [--priority (root: nice -10)]      (--baseline adds `turnout-base`: DIR/bin/turnout.js, built)

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { plainHelper } from './plain-helper.js';
import { turnoutProxyArgs } from './turnout-args.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '2' },
    targets: { type: 'string', default: 'turnout,node-floor' },
    baseline: { type: 'string' },
    rate: { type: 'string', default: '2000' },
    'tail-rate': { type: 'string' },
    keep: { type: 'boolean', default: false },
    top: { type: 'string', default: '12' },
    modes: { type: 'string', default: 'alloc,tail' },
    window: { type: 'string', default: '4000' },
    priority: { type: 'boolean', default: false },
  },
});

const ROOT = resolve(import.meta.dirname, '../..');
const PROBE = join(ROOT, 'bench/proxy/alloc-probe.cjs');
const RATE = Number(flags.rate);
/** The rate of the `tail` rounds: a loaded machine may not sustain 2,000 req/s without queueing. */
const TAIL_RATE = Number(flags['tail-rate'] ?? flags.rate);
const WARMUP_S = 2;
/** The probe's window starts 5 s after the first request; the generator runs 1 s past its end. */
const WINDOW_MS = Number(flags.window);
const MEASURED_S = Math.ceil((5_000 + WINDOW_MS) / 1000) + 1 - WARMUP_S;
const PROBE_AT = `5000,${WINDOW_MS}`;
const work = mkdtempSync(join(tmpdir(), 'turnout-bench-alloc-'));
const children = new Set<ChildProcess>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

function start(name: string, cpu: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const log = join(work, `${name}.log`);
  const fd = openSync(log, 'a');
  // --priority (root): nice -10, as bench:proxy's, for a machine shared with other work.
  const nice = flags.priority && process.getuid?.() === 0 ? ['nice', '-n', '-10'] : [];
  const argv = [...nice, 'taskset', '-c', cpu, ...args];
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env },
  });
  closeSync(fd);
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return { proc, log };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(3_000)]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

/** Ready = accepts a TCP connection (no HTTP request: the probe arms on the first request). */
async function listening(port: number, log: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const ok = await new Promise<boolean>((done) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => done(true));
      s.on('error', () => done(false));
    }).catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`port ${port} never listened:\n${readFileSync(log, 'utf8').slice(-2000)}`);
}

const helper = (name: string): string => plainHelper(work, name);

async function startUpstream(): Promise<string> {
  const port = await freePort();
  const conf = join(work, 'nginx-upstream.conf');
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  writeFileSync(
    conf,
    `${user}worker_processes 1;\ndaemon off;\npid ${work}/nginx.pid;\nerror_log ${work}/nginx.error.log warn;
events { worker_connections 8192; }
http { access_log off; keepalive_timeout 75s; keepalive_requests 100000000;
  server { listen 127.0.0.1:${port} backlog=4096; location / { return 200 "ok"; } } }\n`,
  );
  const { log } = start('nginx', '1', ['nginx', '-p', `${work}/`, '-c', conf]);
  await listening(port, log);
  return `127.0.0.1:${port}`;
}

function proxyArgs(target: string, port: number, upstream: string): string[] {
  if (target === 'node-floor') return [helper('node-floor'), String(port), upstream];
  const checkout = target === 'turnout-base' ? resolve(flags.baseline ?? '') : ROOT;
  const snapshot = join(work, 'snapshot.json');
  writeFileSync(
    snapshot,
    JSON.stringify({
      version: 1,
      products: [{ name: 'bench', entry: 'bench', dtab: '/svc/bench => /v/bench/1' }],
      modules: [
        { name: 'bench', versions: [{ version: '1', endpoints: [{ address: upstream }] }] },
      ],
    }),
  );
  return [
    join(checkout, 'bin/turnout.js'),
    ...turnoutProxyArgs(snapshot, port, mkdtempSync(join(work, `${target}-data-`))),
  ];
}

type Gc = [startEpochMs: number, durationMs: number, kind: string];
interface ProbeReport {
  bytes: number;
  requests: number;
  window: { fromEpochMs: number; toEpochMs: number };
  top: [string, number][];
  gcs: Gc[];
}

/** `alloc`: with the sampling heap profiler (its cost lengthens the tail); `tail`: without. */
type Mode = 'alloc' | 'tail';

async function measure(target: string, upstream: string, tag: string, mode: Mode) {
  const port = await freePort();
  const out = join(work, `${tag}.probe.json`);
  const dump = join(work, `${tag}.csv`);
  const rate = mode === 'alloc' ? RATE : TAIL_RATE;
  const loadBefore = load();
  const proxy = start(
    tag,
    '0',
    [process.execPath, '--trace-gc', '--require', PROBE, ...proxyArgs(target, port, upstream)],
    {
      ALLOC_PROBE_AT: PROBE_AT,
      ALLOC_PROBE_OUT: out,
      ALLOC_PROBE_INTERVAL: mode === 'alloc' ? '256' : '0',
    },
  );
  await listening(port, proxy.log);
  const gen = start(`${tag}.gen`, '1', [
    process.execPath,
    helper('fixed-rate'),
    ...['--target', `127.0.0.1:${port}`, '--rate', String(rate)],
    ...['--warmup', String(WARMUP_S), '--seconds', String(MEASURED_S), '--dump', dump],
    ...['--header', 'baggage: turnout-product=bench'],
  ]);
  await new Promise((r) => gen.proc.once('exit', r));
  for (let i = 0; i < 100 && !existsSync(out); i++) await sleep(100);
  await stop(proxy.proc);
  const genOut = readFileSync(gen.log, 'utf8').trim().split('\n');
  const result = JSON.parse(genOut[genOut.length - 1]!) as {
    startEpochMs: number;
    completed: number;
    due: number;
  };
  const probe = JSON.parse(readFileSync(out, 'utf8')) as ProbeReport;
  return {
    target,
    mode,
    loadBefore,
    loadAfter: load(),
    result,
    probe,
    ...analyse(probe, dump, result.startEpochMs, rate),
  };
}

/** The slow requests (above p99 of the measured part the probe's GC list covers) and their cause. */
function analyse(probe: ProbeReport, dump: string, startEpochMs: number, rate: number) {
  const rows = readFileSync(dump, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number));
  const end = probe.window.toEpochMs;
  const reqs = rows
    .slice(WARMUP_S * rate)
    .map(([due, lat, late]) => ({ at: startEpochMs + due!, lat: lat!, late: late! }))
    .filter((r) => r.lat >= 0 && r.at + r.lat < end);
  const sorted = reqs.map((r) => r.lat).sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const p99 = p(0.99);
  const gcs = probe.gcs.filter((g) => g[1] > 0);
  const overlapping = (r: { at: number; lat: number }) =>
    gcs.filter(([s, d]) => s < r.at + r.lat && s + d > r.at);
  // A slow request's excess (latency − p50) is put down to GC when the proxy's GC pauses that
  // overlap it cover at least half of it, to the generator when its own send lateness does.
  const p50 = p(0.5);
  const causes: Record<string, number> = {};
  let gcShare = 0;
  const slow = reqs.filter((r) => r.lat > p99);
  for (const r of slow) {
    const hit = overlapping(r);
    const excess = r.lat - p50;
    const gcMs = Math.min(
      r.lat,
      hit.reduce((a, g) => a + g[1], 0),
    );
    gcShare += gcMs / r.lat;
    let cause = 'other (GC and generator < half the excess)';
    if (gcMs >= excess / 2) cause = `gc: ${[...new Set(hit.map((g) => g[2]))].sort().join('+')}`;
    else if (r.late >= excess / 2) cause = 'generator late';
    causes[cause] = (causes[cause] ?? 0) + 1;
  }
  // First-seen code paths: warm-up requests slower than the measured p99.
  const warmupAboveP99 = rows.slice(0, WARMUP_S * rate).filter(([, lat]) => lat! > p99).length;
  const anyGc = reqs.filter((r) => overlapping(r).length > 0).length;
  const inWindow = (g: Gc) => g[0] >= probe.window.fromEpochMs && g[0] < probe.window.toEpochMs;
  const count = (kind: string) => probe.gcs.filter((g) => inWindow(g) && g[2] === kind).length;
  const scav = probe.gcs
    .filter((g) => g[2] === 'scavenge')
    .map((g) => g[1])
    .sort((a, b) => a - b);
  const per10k = (n: number) => Number(((n / probe.requests) * 10_000).toFixed(1));
  return {
    bytesPerRequest: Math.round(probe.bytes / probe.requests),
    windowRequests: probe.requests,
    scavengesPer10k: per10k(count('scavenge')),
    markCompactsPer10k: per10k(count('mark-compact')),
    scavengePauseMs: {
      p50: scav[Math.floor(scav.length / 2)] ?? 0,
      max: scav[scav.length - 1] ?? 0,
    },
    latency: { requests: reqs.length, p50: p(0.5), p99, p999: p(0.999), max: p(1) },
    slow: slow.length,
    warmupAboveP99,
    slowCauses: causes,
    slowLatencyShareInGc: slow.length === 0 ? 0 : Number((gcShare / slow.length).toFixed(2)),
    allRequestsOverlappingGc: Number((anyGc / Math.max(1, reqs.length)).toFixed(3)),
  };
}

async function main(): Promise<void> {
  const targets = flags.targets.split(',');
  if (flags.baseline !== undefined && !targets.includes('turnout-base'))
    targets.push('turnout-base');
  process.stdout.write(`load average at start: ${load()}\n`);
  const upstream = await startUpstream();
  for (let run = 1; run <= Number(flags.runs); run++) {
    const order = run % 2 === 1 ? targets : [...targets].reverse();
    for (const mode of flags.modes.split(',') as Mode[])
      for (const t of order) {
        const m = await measure(t, upstream, `${t}-${mode}-${run}`, mode);
        const rate = mode === 'alloc' ? RATE : TAIL_RATE;
        const { probe, result, ...all } = m;
        const shown =
          mode === 'alloc'
            ? {
                run,
                target: t,
                mode,
                bytesPerRequest: all.bytesPerRequest,
                windowRequests: all.windowRequests,
                loadBefore: all.loadBefore,
              }
            : { run, ...all, rate, bytesPerRequest: undefined, completed: result.completed };
        process.stdout.write(`${JSON.stringify(shown)}\n`);
        if (mode === 'alloc')
          for (const [fn, bytes] of probe.top.slice(0, Number(flags.top)))
            process.stdout.write(
              `    ${(bytes / probe.requests).toFixed(0).padStart(6)} B/req  ${fn}\n`,
            );
      }
  }
}

try {
  await main();
} finally {
  for (const c of children) await stop(c);
  if (flags.keep) process.stdout.write(`kept ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}
