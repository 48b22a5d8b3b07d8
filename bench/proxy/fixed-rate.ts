// A fixed-rate HTTP load generator (wrk2-style, which Debian does not package): request i is
// due at start + i/rate, and its latency is measured from that due time, not from when it was
// actually sent, so a stall anywhere (proxy, upstream or this process) is counted against every
// request it delayed (no coordinated omission).
//
// Timing: a worker thread sleeps to each due time with Atomics.wait (sub-millisecond, unlike
// setTimeout's 1 ms ticks) and posts the request's index; the main thread sends it on a
// keep-alive undici Pool through the raw dispatch() API. The generator's own lateness (post →
// send) is reported, so its floor is visible.
//
// Usage: node --import tsx bench/proxy/fixed-rate.ts --target 127.0.0.1:PORT [--path http://bench/]
//   [--host bench] [--header 'baggage: turnout-product=bench'] [--rate 2000] [--seconds 8]
//   [--warmup 1] [--connections 64] [--dump FILE (CSV per request: due ms, latency ms, send
//   lateness ms)]
// Prints one JSON line: { due, completed, errors, non2xx, latencyMs: {p50,p90,p99,p999,max}, …,
// startEpochMs } (request i is due at startEpochMs + due ms: to match a dump with another
// process's events on the wall clock, e.g. the proxy's GCs in bench/proxy/alloc.ts).

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { Dispatcher } from 'undici';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    path: { type: 'string', default: 'http://bench/' },
    host: { type: 'string', default: 'bench' },
    header: { type: 'string', multiple: true, default: [] },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '64' },
    dump: { type: 'string' },
  },
});

if (values.target === undefined) {
  process.stderr.write('fixed-rate: --target host:port is required\n');
  process.exit(2);
}

const rate = Number(values.rate);
const warmupCount = Math.round(rate * Number(values.warmup));
const measuredCount = Math.round(rate * Number(values.seconds));
const total = warmupCount + measuredCount;
const intervalNs = 1e9 / rate;

const headers: string[] = ['host', values.host];
for (const h of values.header) {
  const colon = h.indexOf(':');
  headers.push(h.slice(0, colon).trim(), h.slice(colon + 1).trim());
}

const pool = new Pool(`http://${values.target}`, {
  connections: Number(values.connections),
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 60_000,
});

// Per request: due time (ns since `start`), latency (ms, -1 while outstanding), send lateness.
const latencyMs = new Float64Array(total).fill(-1);
const latenessMs = new Float64Array(total).fill(-1);
let completed = 0;
let errors = 0;
let non2xx = 0;
let firstError: string | null = null;

const start = process.hrtime.bigint() + 200_000_000n; // 200 ms to let the ticker start
const startEpochMs =
  performance.timeOrigin + performance.now() + Number(start - process.hrtime.bigint()) / 1e6;
const dueNs = (i: number) => start + BigInt(Math.round(i * intervalNs));
const sinceNs = (t: bigint) => Number(process.hrtime.bigint() - t);

let finish: () => void = () => undefined;
const allDone = new Promise<void>((resolve) => {
  finish = resolve;
});

function settle(i: number, due: bigint, ok: boolean, status: number): void {
  latencyMs[i] = sinceNs(due) / 1e6;
  if (!ok) errors++;
  else if (status < 200 || status > 299) non2xx++;
  if (++completed === total) finish();
}

function send(i: number): void {
  const due = dueNs(i);
  latenessMs[i] = sinceNs(due) / 1e6;
  let status = 0;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {},
    onResponseStart(_c, s) {
      status = s;
    },
    onResponseData() {},
    onResponseEnd() {
      settle(i, due, true, status);
    },
    onResponseError(_c, error) {
      firstError ??= error.message;
      settle(i, due, false, 0);
    },
  };
  pool.dispatch(
    { method: 'GET', path: values.path, headers, headersTimeout: 10_000, bodyTimeout: 10_000 },
    handler,
  );
}

// The ticker: sleeps to each due time, posts the index. Plain JS, evaluated in the worker.
const ticker = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads');
   const cell = new Int32Array(new SharedArrayBuffer(4));
   const start = BigInt(workerData.start);
   for (let i = 0; i < workerData.total; i++) {
     const due = start + BigInt(Math.round(i * workerData.intervalNs));
     const waitMs = Number(due - process.hrtime.bigint()) / 1e6;
     if (waitMs > 0) Atomics.wait(cell, 0, 0, waitMs);
     parentPort.postMessage(i);
   }`,
  { eval: true, workerData: { start: start.toString(), total, intervalNs } },
);
ticker.on('message', (i: number) => send(i));
ticker.on('error', (error) => {
  process.stderr.write(`fixed-rate: ticker failed: ${error.message}\n`);
  process.exit(1);
});

// Bounded: the schedule's length plus 5 s for stragglers; whatever is still out then is an error.
const deadline = setTimeout(finish, 200 + (total / rate) * 1000 + 5_000);
await allDone;
clearTimeout(deadline);

function percentiles(xs: Float64Array): Record<string, number> {
  const sorted = Float64Array.from(xs).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

// Only the measured part counts; a request never answered counts as the whole run's length.
const measured = latencyMs.subarray(warmupCount);
let outstanding = 0;
for (let i = 0; i < measured.length; i++) {
  if (measured[i]! < 0) {
    outstanding++;
    measured[i] = Number.POSITIVE_INFINITY;
  }
}
const lateness = latenessMs.subarray(warmupCount).filter((x) => x >= 0);
const result = {
  rate,
  due: measuredCount,
  completed: measuredCount - outstanding,
  outstanding,
  errors,
  non2xx,
  firstError,
  latencyMs: percentiles(measured),
  generatorLatenessMs: percentiles(lateness),
  startEpochMs,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
if (values.dump !== undefined) {
  const rows = Array.from(latencyMs, (l, i) => `${(i * intervalNs) / 1e6},${l},${latenessMs[i]}`);
  writeFileSync(values.dump, `due_ms,latency_ms,lateness_ms\n${rows.join('\n')}\n`);
}
await ticker.terminate();
await pool.destroy();
