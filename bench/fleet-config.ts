// Config at fleet size (issue 13): compile time, snapshot size, bytes on the wire per proxy per
// single-instance change, and change → applied on every proxy, each beside a reference measured
// in the same run.
//
// Set-up: a real SQLite store in a temp dir holding the issue's synthetic catalog — 10 products,
// 1,000 modules, 2,000 versions, 10,000 instances on 200 registered hosts (zones a/b/c) — the
// SnapshotPublisher and the fastify stream route on 127.0.0.1:0.
//   compile     — compileStoreSnapshot (full), and SnapshotCompiler after one instance changed
//                 (incremental), beside JSON.stringify of the same store state (the reference the
//                 issue's figure used) and the store read the publisher does before compiling;
//   wire bytes  — two raw HTTP stream connections, one with `?delta=1` and one without (what an
//                 old proxy gets: the reference), counting the socket's bytes read per change;
//   apply       — PROXIES real `turnout proxy` processes (dist/, built if stale) on the stream
//                 with deltas; "applied" is the proxy's own `config_applied` log line, written
//                 after it swapped the routing table in; latency from the store commit returning.
// Changes are made one at a time (the next once every proxy and both wire clients have it, or
// after 10 s), each one instance's weight.
//
// Run: npm run bench:fleet-config [-- --proxies 4 --changes 40 --compiles 20]

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import Fastify from 'fastify';
import { streamPlugin } from '../src/api/stream.js';
import type { StoreState } from '../src/control/compile-snapshot.js';
import { compileStoreSnapshot, SnapshotCompiler } from '../src/control/compile-snapshot.js';
import { readStoreState, SnapshotPublisher } from '../src/control/publisher.js';
import { readStoreChanges } from '../src/control/store-changes.js';
import { SseParser } from '../src/proxy/sse.js';
import type { PlacementHost } from '../src/release/placement.js';
import { place } from '../src/release/placement.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';
import { ensureBuilt, ROOT } from '../test/support/build.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const PROXIES = arg('proxies', 4);
const CHANGES = arg('changes', 40);
const COMPILES = arg('compiles', 20);
const PRODUCTS = 10;
const MODULES_PER_PRODUCT = 100;
const VERSIONS_PER_MODULE = 2;
const INSTANCES_PER_VERSION = 5;
const HOSTS = 200;
const GOAL_BYTES = 2048;
const GOAL_COMPILE_MS = 50;
const GOAL_APPLY_P99_MS = 100;
const ACTOR = 'bench';

const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');
const ms = (x: number) => `${x.toFixed(1)} ms`;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** The issue's catalog; answers the instance ids. Batched in transactions (one per product). */
async function catalog(store: Store): Promise<string[]> {
  const zones = ['a', 'b', 'c'];
  await store.transaction(async (tx) => {
    await tx.createOrg({ name: 'acme' }, ACTOR);
    for (let h = 0; h < HOSTS; h++)
      await tx.registerHost(
        {
          name: `host-${h}`,
          address: `10.${Math.floor(h / 250)}.${h % 250}.1`,
          labels: { zone: zones[h % zones.length]! },
          capacity: 100,
        },
        ACTOR,
      );
  });
  const ids: string[] = [];
  let n = 0;
  for (let p = 0; p < PRODUCTS; p++) {
    await store.transaction(async (tx) => {
      const mod = (i: number) => `p${p}-m${i}`;
      // Bottom-up: a module may only call modules that exist.
      for (let i = MODULES_PER_PRODUCT - 1; i >= 0; i--) {
        await tx.createModule(
          {
            name: mod(i),
            org: 'acme',
            calls: i + 1 < MODULES_PER_PRODUCT ? [mod(i + 1)] : [],
            run: { process: { command: 'node' } },
          },
          ACTOR,
        );
        for (let v = 0; v < VERSIONS_PER_MODULE; v++) {
          const version = `1.${v}.0`;
          await tx.createVersion({ module: mod(i), version }, ACTOR);
          for (let k = 0; k < INSTANCES_PER_VERSION; k++, n++) {
            const h = n % HOSTS;
            const id = `i-${n}`;
            await tx.createInstance(
              {
                id,
                module: mod(i),
                version,
                host: `host-${h}`,
                address: `10.${Math.floor(h / 250)}.${h % 250}.1:${20000 + Math.floor(n / HOSTS)}`,
                state: 'ready',
                health: 'healthy',
              },
              ACTOR,
            );
            ids.push(id);
          }
        }
      }
      // The base dtab pins every module to its stable version, as a release leaves it.
      const pins = Array.from(
        { length: MODULES_PER_PRODUCT },
        (_, i) => `/svc/${mod(i)} => /v/${mod(i)}/1.0.0;`,
      );
      await tx.createProduct(
        {
          name: `p${p}`,
          org: 'acme',
          entry: mod(0),
          hosts: [`p${p}.example.com`],
          baseDtab: `/svc => /v;${pins.join('')}`,
        },
        ACTOR,
      );
      for (const lane of ['dev', 'qa'])
        await tx.createLane(
          {
            product: `p${p}`,
            name: lane,
            overlay: `/svc/${mod(1)} => /v/${mod(1)}/1.1.0;`,
            rules: [{ lane, header: { name: 'x-lane', equals: lane } }],
          },
          ACTOR,
        );
    });
  }
  return ids;
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

async function compileFigures(store: Store, ids: string[]) {
  const state = await readStoreState(store);
  const stringify: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < COMPILES; i++) {
    stringify.push(time(() => JSON.stringify(state)).ms);
    full.push(time(() => compileStoreSnapshot(state)).ms);
  }
  const first = compileStoreSnapshot(state);
  if (!first.ok) throw first.error;
  const compiler = new SnapshotCompiler();
  compiler.compile(state);
  const incremental: number[] = [];
  const reads: number[] = [];
  for (let i = 0; i < COMPILES; i++) {
    await store.updateInstance(ids[(i * 7919) % ids.length]!, { weight: 2 + (i % 5) }, ACTOR);
    const t = performance.now();
    const next: StoreState = await readStoreState(store);
    reads.push(performance.now() - t);
    const r = time(() => compiler.compile(next));
    if (!r.value.ok) throw r.value.error;
    if (compiler.lastValidated !== 1) throw new Error('incremental compile validated more');
    incremental.push(r.ms);
  }
  // What the publisher does now: read the changed rows from the change feed, patch the compile.
  const fed = new SnapshotCompiler();
  fed.compile(await readStoreState(store));
  const feedReads: number[] = [];
  const patches: number[] = [];
  for (let i = 0; i < COMPILES; i++) {
    // Weights the other loops never give, so each update is a change.
    await store.updateInstance(ids[(i * 6151) % ids.length]!, { weight: 20 + (i % 5) }, ACTOR);
    const t = performance.now();
    const changes = await readStoreChanges(store, fed.version()!);
    feedReads.push(performance.now() - t);
    if (changes === null) throw new Error('the change feed had a gap');
    const r = time(() => fed.compileChanges(changes));
    if (!r.value.ok) throw r.value.error;
    if (fed.lastValidated !== 1)
      throw new Error(`compile of the changes validated ${fed.lastValidated} parts, not 1`);
    patches.push(r.ms);
  }
  // Both incremental results equal the full compile (the property test's claim, checked here too).
  const last = await readStoreState(store);
  const inc = compiler.compile(last);
  const ref = compileStoreSnapshot(last);
  if (!inc.ok || !ref.ok || inc.json !== ref.json) throw new Error('incremental ≠ full compile');
  const changes = await readStoreChanges(store, fed.version()!);
  const patched = changes === null ? null : fed.compileChanges(changes);
  if (patched === null || !patched.ok || patched.json !== ref.json)
    throw new Error('compile of the changes ≠ full compile');
  return {
    feedRead: quantile(feedReads, 0.5),
    feedReadP99: quantile(feedReads, 0.99),
    patch: quantile(patches, 0.5),
    patchP99: quantile(patches, 0.99),
    bytes: Buffer.byteLength(first.json),
    stringify: quantile(stringify, 0.5),
    full: quantile(full, 0.5),
    incremental: quantile(incremental, 0.5),
    incrementalP99: quantile(incremental, 0.99),
    read: quantile(reads, 0.5),
  };
}

/** A raw stream connection counting the bytes its socket read; `ids` are its events' ids. */
function wireClient(url: string) {
  const ids: string[] = [];
  let socketBytes = () => 0;
  const parser = new SseParser({ onEvent: (e) => ids.push(e.id) });
  const req = get(url, { headers: { accept: 'text/event-stream' } });
  const ready = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      const socket = res.socket;
      socketBytes = () => socket.bytesRead;
      res.on('data', (chunk: Buffer) => parser.push(chunk));
      resolve();
    });
    req.on('error', reject);
  });
  return { ids, ready, bytes: () => socketBytes(), close: () => req.destroy() };
}

interface ProxyProc {
  readonly child: ChildProcess;
  readonly applied: Map<number, number>;
}

async function startProxy(url: string, dataDir: string): Promise<ProxyProc> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'turnout.js'),
      'proxy',
      '--config',
      url,
      '--outbound',
      'off',
      '--edge',
      '127.0.0.1:0',
      '--admin',
      'off',
      '--workers',
      '1',
      '--data',
      dataDir,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const applied = new Map<number, number>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const log = JSON.parse(line) as {
        event?: string;
        version?: number;
        origin?: string;
        time?: number;
      };
      // main.ts's line (with origin), logged once the routing table is swapped in.
      if (log.event === 'config_applied' && log.origin !== undefined)
        applied.set(log.version!, log.time!);
    } catch {
      // not a log line
    }
  });
  return { child, applied };
}

async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 1));
  }
  return true;
}

/**
 * Placement at fleet size: one version's replicas (3, as a ticket's default) placed on the 200
 * hosts, zones a/b/c, carrying the catalog's 10,000 instances between them (50 each, capacity 100).
 * The engine places when it deploys a version, not on every config change; the goal counts both.
 */
function placementFigures(runs: number): { median: number; p99: number } {
  const hosts: PlacementHost[] = Array.from({ length: HOSTS }, (_, h) => ({
    name: `h${h}`,
    state: 'ready',
    labels: { zone: ['a', 'b', 'c'][h % 3]! },
    capacity: 100,
    instances: 50,
  }));
  const times: number[] = [];
  for (let i = 0; i < Math.max(runs, 200); i++) {
    const t = performance.now();
    const placed = place(hosts, { count: 3, existing: [] });
    times.push(performance.now() - t);
    if (!placed.ok) throw new Error(`placement failed: ${placed.reason}`);
  }
  return { median: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

async function main(): Promise<void> {
  await ensureBuilt();
  const dir = await mkdtemp(join(tmpdir(), 'turnout-fleet-config-'));
  const store = await openSqliteStore(join(dir, 'turnout.db'));
  const tBuild = performance.now();
  const ids = await catalog(store);
  console.log(
    `fleet-config: ${PRODUCTS} products, ${PRODUCTS * MODULES_PER_PRODUCT} modules, ` +
      `${PRODUCTS * MODULES_PER_PRODUCT * VERSIONS_PER_MODULE} versions, ${ids.length} instances on ` +
      `${HOSTS} hosts in SQLite (built in ${ms(performance.now() - tBuild)}); ${cpus().length} cores, ` +
      `load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );

  const c = await compileFigures(store, ids);
  console.log(
    `reference: JSON.stringify of the store state ${ms(c.stringify)} (median of ${COMPILES})`,
  );
  console.log(
    `full compile (compileStoreSnapshot)              ${ms(c.full)} = ${(c.full / c.stringify).toFixed(1)}× reference` +
      `  — goal ≤ ${GOAL_COMPILE_MS} ms: ${verdict(c.full <= GOAL_COMPILE_MS)}`,
  );
  console.log(
    `incremental compile after one instance changed   ${ms(c.incremental)} median, ${ms(c.incrementalP99)} p99 = ` +
      `${(c.incremental / c.stringify).toFixed(2)}× reference  — goal ≤ ${GOAL_COMPILE_MS} ms: ` +
      `${verdict(c.incrementalP99 <= GOAL_COMPILE_MS)}`,
  );
  console.log(
    `  (not in the compile figure: the read of all rows before it, ${ms(c.read)} median)`,
  );
  console.log(
    `compile of the changes read from the change feed   ${ms(c.patch)} median, ${ms(c.patchP99)} p99 = ` +
      `${(c.patch / c.stringify).toFixed(2)}× reference  — goal ≤ ${GOAL_COMPILE_MS} ms: ` +
      `${verdict(c.patchP99 <= GOAL_COMPILE_MS)}`,
  );
  console.log(
    `  (not in the compile figure: the change feed's read of the changed rows before it, ${ms(c.feedRead)} median, ${ms(c.feedReadP99)} p99)`,
  );
  const pl = placementFigures(COMPILES);
  console.log(
    `placement of one version's 3 replicas on ${HOSTS} hosts   ${pl.median.toFixed(3)} ms median, ${pl.p99.toFixed(3)} ms p99; ` +
      `compile from the feed + placement, p99s added: ${ms(c.patchP99 + pl.p99)}  — goal ≤ ${GOAL_COMPILE_MS} ms: ` +
      `${verdict(c.patchP99 + pl.p99 <= GOAL_COMPILE_MS)}`,
  );
  console.log(`snapshot ${c.bytes} bytes (${(c.bytes / 1024).toFixed(0)} KB)`);

  const publisher = new SnapshotPublisher(store, { pollIntervalMs: 15 });
  await publisher.start();
  const app = Fastify({ forceCloseConnections: true });
  await app.register(streamPlugin, { store, publisher, prefix: '/v1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;

  const delta = wireClient(`${url}?delta=1`);
  const full = wireClient(url);
  await Promise.all([delta.ready, full.ready]);
  const proxies = await Promise.all(
    Array.from({ length: PROXIES }, (_, i) => startProxy(url, join(dir, `proxy-${i}`))),
  );
  const v0 = publisher.current()!.version;
  const allHave = (v: number) =>
    proxies.every((p) => p.applied.has(v)) &&
    delta.ids.some((id) => id.startsWith(`${v}.`)) &&
    full.ids.includes(String(v));
  if (!(await waitUntil(() => allHave(v0), 60_000)))
    throw new Error('the proxies did not apply the first snapshot within 60 s');

  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  let n = 0;
  /** One single-instance change, once it is everywhere: the version and when it was committed. */
  async function change(
    everywhere: (v: number) => boolean,
  ): Promise<{ version: number; committed: number; publishMs: number }> {
    const i = n++;
    await store.updateInstance(ids[(i * 104729) % ids.length]!, { weight: 7 + (i % 3) }, ACTOR);
    const committed = Date.now();
    void publisher.notify();
    const version = await store.changeVersion();
    await waitUntil(() => publisher.current()!.version === version, 10_000);
    const publishMs = Date.now() - committed;
    if (!(await waitUntil(() => everywhere(version), 10_000)))
      console.log(`change ${i + 1} (version ${version}): not everywhere within 10 s`);
    await new Promise((r) => setTimeout(r, 10));
    return { version, committed, publishMs };
  }

  // 1. Bytes on the wire, delta stream beside the full one.
  const deltaBytes: number[] = [];
  const fullBytes: number[] = [];
  const WIRE_CHANGES = Math.min(CHANGES, 10);
  for (let i = 0; i < WIRE_CHANGES; i++) {
    const d0 = delta.bytes();
    const f0 = full.bytes();
    await change(allHave);
    deltaBytes.push(delta.bytes() - d0);
    fullBytes.push(full.bytes() - f0);
  }
  full.close();
  const maxDelta = Math.max(...deltaBytes);
  console.log(
    `bytes on the wire per proxy per single-instance change (${WIRE_CHANGES} changes, socket bytes incl. SSE and chunk framing):`,
  );
  console.log(
    `  reference (full snapshots, no ?delta=1)  mean ${meanOf(fullBytes).toFixed(0)}  max ${Math.max(...fullBytes)}`,
  );
  console.log(
    `  deltas (?delta=1)                        mean ${meanOf(deltaBytes).toFixed(0)}  max ${maxDelta}` +
      `  — goal ≤ ${GOAL_BYTES}: ${verdict(maxDelta <= GOAL_BYTES)}` +
      `  (× ${HOSTS} hosts: ${((meanOf(deltaBytes) * HOSTS) / 1024).toFixed(0)} KB vs ` +
      `${((meanOf(fullBytes) * HOSTS) / 1024 / 1024).toFixed(0)} MB per change)`,
  );

  // 2. Change → applied on every proxy (the full-stream reader is gone: it is not a proxy).
  const onProxies = (v: number) => proxies.every((p) => p.applied.has(v));
  const latencies: number[] = [];
  const publishes: number[] = [];
  let missed = 0;
  for (let i = 0; i < CHANGES; i++) {
    const { version, committed, publishMs } = await change(onProxies);
    publishes.push(publishMs);
    for (const p of proxies) {
      const at = p.applied.get(version);
      if (at === undefined) missed++;
      else latencies.push(at - committed);
    }
  }
  const p99 = quantile(latencies, 0.99);
  console.log(
    `change → applied on every proxy: ${PROXIES} turnout proxy processes on the delta stream, ` +
      `${CHANGES} changes, ${latencies.length} samples${missed > 0 ? ` (${missed} missing)` : ''}: p50 ${ms(quantile(latencies, 0.5))}` +
      `  p99 ${ms(p99)}  max ${ms(Math.max(...latencies))}  — goal p99 ≤ ${GOAL_APPLY_P99_MS} ms: ` +
      `${verdict(missed === 0 && p99 <= GOAL_APPLY_P99_MS)}`,
  );
  console.log(
    `  of which commit → published by the control plane (store read + compile + delta): p50 ${ms(quantile(publishes, 0.5))}  p99 ${ms(quantile(publishes, 0.99))}` +
      `  (compiles from the change feed ${publisher.reads.changes}, from a read of every row ${publisher.reads.full})`,
  );

  for (const p of proxies) p.child.kill('SIGTERM');
  await Promise.all(
    proxies.map(
      (p) => new Promise((r) => (p.child.exitCode !== null ? r(null) : p.child.on('exit', r))),
    ),
  );
  publisher.stop();
  await app.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

await main();
