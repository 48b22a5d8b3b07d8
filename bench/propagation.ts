// Config propagation: how long from a store commit returning until every connected proxy has
// applied the change. Goal (issue 4): p99 ≤ 100 ms for 50 proxies on this machine.
//
// Set-up, in ONE process (decided for 2 cores: 50 `turnout proxy` child processes would need ~50
// Node runtimes, ~2–3 GB, and their start-up and GC would dominate the run): a SQLite store in a
// temp dir, the SnapshotPublisher (polling every 15 ms) and the fastify stream route on
// 127.0.0.1:0, and 50 clients made with the proxy's own `createConfigSource` over real HTTP/SSE.
// Each client's "applied" is its snapshot callback, which runs after the proxy parsed, validated and
// compiled the snapshot. Server and clients share one event loop, so the figure includes their
// contention (a pessimistic set-up compared with separate processes).
//
// Changes are made one at a time (the next once all 50 clients applied the last, or after 5 s),
// each a bounded routing change (an instance weight from 1 to 10, or a lane overlay). Two modes:
//   notify — the writer calls publisher.notify() after the commit (what the API does);
//   poll   — nothing is told; the publisher finds the change by polling changeVersion().
//
// Run: npm run bench:propagation [-- --clients 50 --changes 200]

import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import pino from 'pino';
import { streamPlugin } from '../src/api/stream.js';
import { compileSnapshot } from '../src/config/compile.js';
import { parseSnapshot } from '../src/config/load.js';
import { SnapshotPublisher } from '../src/control/publisher.js';
import type { ConfigSource } from '../src/proxy/config-source.js';
import { createConfigSource } from '../src/proxy/config-source.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const CLIENTS = arg('clients', 50);
const CHANGES = arg('changes', 200);
const POLL_MS = arg('poll', 15);
const PROCS = arg('procs', 1);
const GOAL_P99_MS = 100;
const ACTOR = 'bench';
const MODULES = 10;
const VERSIONS = 3;
const INSTANCES_PER_VERSION = 2;

async function catalog(store: Store): Promise<string[]> {
  await store.createOrg({ name: 'acme' }, ACTOR);
  const names = Array.from({ length: MODULES }, (_, i) => `m${i}`);
  // Bottom-up: a module may only call modules that exist.
  for (const [i, name] of [...names.entries()].reverse()) {
    const calls = i + 1 < names.length ? [names[i + 1]!] : [];
    await store.createModule(
      { name, org: 'acme', calls, run: { process: { command: 'node' } } },
      ACTOR,
    );
    for (let v = 0; v < VERSIONS; v++)
      await store.createVersion({ module: name, version: `1.${v}.0` }, ACTOR);
  }
  await store.createProduct(
    {
      name: 'shop',
      org: 'acme',
      entry: 'm0',
      hosts: ['shop.example.com'],
      baseDtab: '/svc => /v;',
    },
    ACTOR,
  );
  for (const lane of ['dev', 'qa'])
    await store.createLane(
      {
        product: 'shop',
        name: lane,
        overlay: '/svc/m1 => /v/m1/1.2.0;',
        rules: [{ lane, header: { name: 'x-lane', equals: lane } }],
      },
      ACTOR,
    );
  const ids: string[] = [];
  let port = 20000;
  for (const name of names)
    for (let v = 0; v < VERSIONS; v++)
      for (let k = 0; k < INSTANCES_PER_VERSION; k++) {
        const id = `${name}-${v}-${k}`;
        await store.createInstance(
          {
            id,
            module: name,
            version: `1.${v}.0`,
            host: 'h1',
            address: `127.0.0.1:${port++}`,
            state: 'ready',
            health: 'healthy',
          },
          ACTOR,
        );
        ids.push(id);
      }
  return ids;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/** Wall-clock ms with sub-ms precision, comparable across processes on this machine. */
const now = () => performance.timeOrigin + performance.now();

type ChildMessage = { kind: 'ready' } | { kind: 'applied'; c: number; version: number; at: number };

/** Starts `count` stream clients numbered from `from`; answers their stop. */
async function startClients(
  url: string,
  from: number,
  count: number,
  onApplied: (c: number, version: number, at: number) => void,
): Promise<() => Promise<void>> {
  const logger = pino({ level: 'silent' });
  const sources: ConfigSource[] = [];
  for (let i = 0; i < count; i++)
    sources.push(createConfigSource({ source: url, lastGoodPath: null, logger }));
  await Promise.all(
    sources.map((s, i) =>
      s.start((compiled) => {
        onApplied(from + i, compiled.version, now());
      }),
    ),
  );
  return async () => {
    await Promise.all(sources.map((s) => s.stop()));
  };
}

async function child(): Promise<void> {
  const i = process.argv.indexOf('--child');
  const [url, from, count] = process.argv.slice(i + 1, i + 4);
  const send = (m: ChildMessage) => process.send!(m);
  const stop = await startClients(url!, Number(from), Number(count), (c, version, at) =>
    send({ kind: 'applied', c, version, at }),
  );
  send({ kind: 'ready' });
  process.on('message', async () => {
    await stop();
    process.exit(0);
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'turnout-propagation-'));
  const store = await openSqliteStore(join(dir, 'turnout.db'));
  const ids = await catalog(store);
  const publisher = new SnapshotPublisher(store, { pollIntervalMs: POLL_MS });
  await publisher.start();
  const app = Fastify({ forceCloseConnections: true });
  await app.register(streamPlugin, { store, publisher, prefix: '/v1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;

  const snapshotJson = publisher.current()!.json;
  const snapshotBytes = snapshotJson.length;
  // What one client (measured before any client runs) spends applying one snapshot (the proxy's parse, validation and compile).
  for (let i = 0; i < 50; i++) compileSnapshot(parseSnapshot(snapshotJson, 'warm-up'));
  let t = performance.now();
  for (let i = 0; i < 100; i++) compileSnapshot(parseSnapshot(snapshotJson, 'bench'));
  const applyMs = (performance.now() - t) / 100;
  t = performance.now();
  for (let i = 0; i < 100; i++) JSON.parse(snapshotJson);
  const jsonParseMs = (performance.now() - t) / 100;
  // applied[c].get(version) = when client c applied that version (wall clock, ms, sub-ms precision).
  const applied = Array.from({ length: CLIENTS }, () => new Map<number, number>());
  const record = (c: number, version: number, at: number) => applied[c]!.set(version, at);
  let stopClients: () => Promise<void>;
  if (PROCS <= 1) {
    stopClients = await startClients(url, 0, CLIENTS, record);
  } else {
    const children: ChildProcess[] = [];
    const per = Math.ceil(CLIENTS / PROCS);
    const ready: Promise<void>[] = [];
    for (let k = 0; k < PROCS; k++) {
      const from = k * per;
      const count = Math.min(per, CLIENTS - from);
      if (count <= 0) break;
      const child = fork(fileURLToPath(import.meta.url), [
        '--child',
        url,
        String(from),
        String(count),
      ]);
      children.push(child);
      ready.push(
        new Promise((resolve, reject) => {
          child.on('message', (m: ChildMessage) => {
            if (m.kind === 'ready') resolve();
            else record(m.c, m.version, m.at);
          });
          child.on('exit', (code) => reject(new Error(`client process exited (${code})`)));
        }),
      );
    }
    await Promise.all(ready);
    stopClients = async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              c.removeAllListeners('exit');
              c.on('exit', () => resolve());
              c.send('stop');
            }),
        ),
      );
    };
  }

  let n = 0;
  let lastVersion = await store.changeVersion();
  async function run(mode: 'notify' | 'poll'): Promise<{ samples: number[]; missed: number }> {
    const samples: number[] = [];
    let missed = 0;
    for (let i = 0; i < CHANGES; i++) {
      n++;
      if (n % 10 === 0) {
        await store.updateLane(
          {
            product: 'shop',
            name: 'dev',
            overlay: `/svc/m1 => /v/m1/1.${n % VERSIONS}.0;`,
            rules: [{ lane: 'dev', header: { name: 'x-lane', equals: 'dev' } }],
          },
          ACTOR,
        );
      } else {
        // Every round over the instances moves each to a weight it does not have (2..10, initial 1).
        const weight = 2 + (Math.floor(n / ids.length) % 9);
        await store.updateInstance(ids[n % ids.length]!, { weight }, ACTOR);
      }
      const committed = now();
      if (mode === 'notify') void publisher.notify();
      const version = await store.changeVersion();
      if (version !== lastVersion + 1) throw new Error(`change ${n} did not bump the version once`);
      lastVersion = version;
      const deadline = committed + 5_000;
      while (applied.some((m) => !m.has(version)) && now() < deadline)
        await new Promise((r) => setTimeout(r, 1));
      for (const m of applied) {
        const at = m.get(version);
        if (at === undefined) missed++;
        else samples.push(at - committed);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return { samples: samples.sort((a, b) => a - b), missed };
  }

  console.log(
    `propagation: ${CLIENTS} stream clients (proxy createConfigSource, ` +
      `${PROCS <= 1 ? 'in the control-plane process' : `in ${PROCS} client processes`}), SQLite store, ` +
      `fastify SSE on 127.0.0.1, publisher poll ${POLL_MS} ms, snapshot ${snapshotBytes} bytes, ` +
      `${CHANGES} changes per mode`,
  );
  console.log(
    `client apply cost per snapshot (parseSnapshot + compileSnapshot): ${applyMs.toFixed(2)} ms ` +
      `(of which JSON.parse alone ${jsonParseMs.toFixed(3)} ms); × ${CLIENTS} clients = ${(applyMs * CLIENTS).toFixed(0)} ms of CPU per change (${cpus().length} cores here)`,
  );
  for (const mode of ['notify', 'poll'] as const) {
    const { samples, missed } = await run(mode);
    const p99 = quantile(samples, 0.99);
    console.log(
      `${mode.padEnd(6)} ${CHANGES} changes × ${CLIENTS} clients = ${samples.length} samples` +
        `${missed > 0 ? ` (${missed} not applied within 5 s)` : ''}: ` +
        `p50 ${fmt(quantile(samples, 0.5))}  p99 ${fmt(p99)}  max ${fmt(samples.at(-1) ?? Number.NaN)}` +
        `  — goal p99 ≤ ${GOAL_P99_MS} ms: ${missed === 0 && p99 <= GOAL_P99_MS ? 'met' : 'NOT met'}`,
    );
  }

  await stopClients();
  publisher.stop();
  await app.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

if (process.argv.includes('--child')) await child();
else await main();
