// `npm run bench:proxy:workers`: the maximum rate of Turnout's proxy with 1 and 2 workers
// (`turnout proxy --workers N`) beside nginx with 1 and 2 worker processes, in one run, in front
// of the same trivial upstream (nginx, 1 worker, `return 200 "ok"`).
//
// Per target: wrk, keep-alive, `-t1 -c50`, the same absolute-form request as bench/proxy.ts;
// a 2 s warm-up, then rounds of 5 s in interleaved order (A B C D E, then E D C B A) so load that
// comes and goes hits every target alike; each figure is the better round's. Beside req/s, the
// CPU time of the proxy's processes per request (primary and workers together).
//
// Layout: with 4 or more cores the proxies run on CPUs 0-1 and the upstream and the load
// generator on the others (taskset), so 2 workers have 2 cores of their own. With fewer, nothing
// is pinned: proxy, upstream and wrk share the cores, a 2-worker proxy competes with the load
// generator for them, and the 2-worker figures are an indication, not a measure of scaling —
// the run says which layout it used and the load average before and after.
//
// Also measured: Turnout with 2 workers under NODE_CLUSTER_SCHED_POLICY=none (the kernel hands
// connections to the workers instead of the primary accepting and passing them round-robin,
// node:cluster's default on Linux).
//
// Flags: --quick (3 s rounds), --priority (root: run the bench's processes at nice -10, as
// bench/proxy.ts does, for a machine shared with other work), --keep (keep the temp dir). Needs nginx and wrk
// (apt-get install nginx wrk) and dist/ (`npm run build`).

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    priority: { type: 'boolean', default: false },
  },
});

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'turnout.js');
const ROUNDS = 2;
const SECONDS = flags.quick ? 3 : 5;
const WARMUP_SECONDS = 2;
const CONNECTIONS = 50;
const CORES = availableParallelism();
const PINNED = CORES >= 4;
const PRIORITY = flags.priority && process.getuid?.() === 0;
const CPU_PROXY = '0,1';
const CPU_LOAD = `2-${CORES - 1}`;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const userLine = process.getuid?.() === 0 ? 'user root;\n' : '';

const work = mkdtempSync(join(tmpdir(), 'turnout-bench-workers-'));
const children: ChildProcess[] = [];

function start(
  cpu: string,
  cmd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  output = false,
): ChildProcess {
  let argv = PINNED ? ['taskset', '-c', cpu, cmd, ...args] : [cmd, ...args];
  if (PRIORITY) argv = ['nice', '-n', '-10', ...argv];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    stdio: ['ignore', output ? 'pipe' : 'ignore', 'ignore'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return child;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => done(port));
    });
  });
}

/** A GET through the target answers 200 (it is up and routes to the upstream). */
async function waitReady(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: 'http://bench/',
          headers: { host: 'bench', baggage: 'turnout-product=bench' },
        },
        (res) => {
          res.resume();
          done(res.statusCode === 200);
        },
      );
      req.on('error', () => done(false));
      req.end();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not answer 200 within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function nginxConf(name: string, port: number, workers: number, body: string): string {
  const file = join(work, `${name}.conf`);
  writeFileSync(
    file,
    `${userLine}worker_processes ${workers};
daemon off;
pid ${work}/${name}.pid;
error_log ${work}/${name}.error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_timeout 75s;
  keepalive_requests 100000000;
${body.replaceAll('PORT', String(port))}
}
`,
  );
  return file;
}

function proxyBody(upstream: string): string {
  return `  upstream bench { server ${upstream}; keepalive 64; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:PORT backlog=4096;
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`;
}

interface Target {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
}

async function startNginx(name: string, workers: number, upstream: string): Promise<Target> {
  const port = await freePort();
  const conf = nginxConf(name, port, workers, proxyBody(upstream));
  const child = start(CPU_PROXY, 'nginx', ['-c', conf, '-p', work]);
  await waitReady(port, name);
  return { name, port, child };
}

async function startTurnout(
  name: string,
  workers: number,
  upstream: string,
  env: Record<string, string> = {},
): Promise<Target> {
  const port = await freePort();
  const file = join(work, `${name}.snapshot.json`);
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      products: [{ name: 'bench', entry: 'bench', dtab: '/svc/bench => /v/bench/1' }],
      modules: [
        { name: 'bench', versions: [{ version: '1', endpoints: [{ address: upstream }] }] },
      ],
    }),
  );
  const args = [BIN, 'proxy', '--config', file, '--outbound', `127.0.0.1:${port}`];
  args.push('--edge', 'off', '--admin', 'off', '--data', join(work, `${name}-data`));
  args.push('--workers', String(workers));
  const child = start(CPU_PROXY, process.execPath, args, env);
  await waitReady(port, name);
  return { name, port, child };
}

/** CPU ticks (user + system) of a process and all its descendants, from /proc. */
function treeTicks(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(f[1]));
      ticks.set(Number(entry), Number(f[11]) + Number(f[12]));
    } catch {
      // gone meanwhile
    }
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    let p: number | undefined = pid;
    while (p !== undefined && p !== root && p > 1) p = parent.get(p);
    if (p === root) sum += t;
  }
  return sum;
}

const wrkScript = join(work, 'bench.lua');
writeFileSync(
  wrkScript,
  'wrk.path = "http://bench/"\nwrk.headers["Host"] = "bench"\nwrk.headers["baggage"] = "turnout-product=bench"\n',
);

interface WrkResult {
  readonly rps: number;
  /** wrk's non-2xx and socket-error lines, or null: a round with errors is marked. */
  readonly errors: string | null;
}

/** One wrk run: requests per second and any errors it reported. */
function wrk(port: number, seconds: number): Promise<WrkResult> {
  return new Promise((done, fail) => {
    const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', wrkScript];
    const child = start(CPU_LOAD, 'wrk', [...args, `http://127.0.0.1:${port}/`], {}, true);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', () => {
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const errors = [...out.matchAll(/^\s*(Non-2xx.*|Socket errors.*)$/gm)].map((m) => m[1]);
      if (rps === null) fail(new Error(`wrk printed no rate:\n${out}`));
      else done({ rps: Number(rps[1]), errors: errors.length === 0 ? null : errors.join('; ') });
    });
  });
}

interface Round extends WrkResult {
  readonly cpuUs: number;
}

async function round(t: Target, seconds: number): Promise<Round> {
  const before = treeTicks(t.child.pid!);
  const res = await wrk(t.port, seconds);
  const ticks = treeTicks(t.child.pid!) - before;
  return { ...res, cpuUs: ((ticks / TICKS_PER_SECOND) * 1e6) / (res.rps * seconds) };
}

function stopAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

async function main(): Promise<void> {
  for (const tool of ['nginx', 'wrk']) {
    if (!['/usr/sbin', '/usr/bin', '/usr/local/bin'].some((d) => existsSync(join(d, tool)))) {
      throw new Error(`${tool} not found: apt-get install nginx wrk`);
    }
  }
  const load0 = loadavg()[0]!.toFixed(1);
  const upstreamPort = await freePort();
  start(CPU_LOAD, 'nginx', [
    '-c',
    nginxConf(
      'upstream',
      upstreamPort,
      1,
      'server { listen 127.0.0.1:PORT backlog=4096; location / { return 200 "ok"; } }',
    ),
    '-p',
    work,
  ]);
  const upstream = `127.0.0.1:${upstreamPort}`;
  const targets = [
    await startTurnout('turnout-1w', 1, upstream),
    await startTurnout('turnout-2w', 2, upstream),
    await startTurnout('turnout-2w-sched-none', 2, upstream, { NODE_CLUSTER_SCHED_POLICY: 'none' }),
    await startNginx('nginx-1w', 1, upstream),
    await startNginx('nginx-2w', 2, upstream),
  ];
  for (const t of targets) await wrk(t.port, WARMUP_SECONDS);
  const best = new Map<string, Round>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      const res = await round(t, SECONDS);
      const note = res.errors === null ? '' : ` (${res.errors})`;
      process.stdout.write(`  round ${r + 1} ${t.name}: ${res.rps.toFixed(0)} req/s${note}\n`);
      const seen = best.get(t.name);
      if (seen === undefined || res.rps > seen.rps) best.set(t.name, res);
    }
  }
  const rps = (name: string) => best.get(name)!.rps;
  const lines = [
    '',
    `machine: ${CORES} cores; layout: ${
      PINNED
        ? `proxies on CPUs ${CPU_PROXY}, upstream and wrk on CPUs ${CPU_LOAD}`
        : 'nothing pinned: proxy, upstream (nginx, 1 worker) and wrk (-t1) share every core — an indication, not a scaling measure'
    }`,
    `load average (1 min) before: ${load0}, after: ${loadavg()[0]!.toFixed(1)}${PRIORITY ? '; the bench ran at nice -10' : ''}`,
    `wrk -t1 -c${CONNECTIONS}, keep-alive, best of ${ROUNDS} rounds of ${SECONDS} s`,
    '',
    '| target | max req/s | proxy CPU µs/req | errors in that round |',
    '|---|---|---|---|',
    ...targets.map((t) => {
      const b = best.get(t.name)!;
      return `| ${t.name} | ${b.rps.toFixed(0)} | ${b.cpuUs.toFixed(1)} | ${b.errors ?? 'none'} |`;
    }),
    '',
    `Turnout 2 workers ÷ 1 worker: ${(rps('turnout-2w') / rps('turnout-1w')).toFixed(2)}×; nginx 2 ÷ 1: ${(rps('nginx-2w') / rps('nginx-1w')).toFixed(2)}×`,
    `Turnout ÷ nginx: 1 worker ${(rps('turnout-1w') / rps('nginx-1w')).toFixed(2)}×, 2 workers ${(rps('turnout-2w') / rps('nginx-2w')).toFixed(2)}×`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});
main()
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : error}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    stopAll();
    if (!flags.keep) rmSync(work, { recursive: true, force: true });
    else process.stdout.write(`kept ${work}\n`);
  });
