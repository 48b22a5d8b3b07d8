// A whole fleet on one machine for the fleet end-to-end tests and bench/fleet.ts: a real
// `turnout server` (SQLite, TLS with a certificate made by openssl for the bridge address) in the
// root namespace, and one real `turnout agent` (and so its proxy and its instances) in each host
// namespace of test/support/netns.ts, labelled zone=a, b, c…. The catalog is three example
// services (examples/services/service.mjs) that call each other through their host proxy's
// outbound: web → orders → account.
//
// Everything waits for the state it needs (the API polled), never for a stretch of time.

import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ROOT } from '../support/build.js';
import type { FleetHost, FleetNet } from '../support/netns.js';
import { createFleetNet, pidsIn } from '../support/netns.js';
import { selfSignedCert } from '../support/self-signed.js';
import type { RunningServer } from '../support/turnout-server.js';
import { startServer } from '../support/turnout-server.js';
import { Hopeless, waitFor as waitUntil } from '../support/wait.js';

const BIN = join(ROOT, 'bin', 'turnout.js');
const API_PORT = 7443;
const EDGE_PORT = 8080;
export const ZONES = ['a', 'b', 'c', 'd', 'e'];
export const MODULES = ['web', 'orders', 'account'] as const;

/** Waits polling every 100 ms; the timeout (default 90 s) only bounds a hang. */
export function waitFor<T>(
  what: string,
  check: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  ms = 90_000,
): Promise<T> {
  return waitUntil(what, check, { timeoutMs: ms, everyMs: 100 });
}

export interface Instance {
  id: string;
  module: string;
  version: string;
  host: string;
  address: string;
  state: string;
  health: string;
}

export interface Host {
  name: string;
  address: string;
  state: string;
  labels: Record<string, string>;
  leaseExpiresAt: string | null;
}

export interface AgentRun {
  readonly child: ChildProcess;
  out(): string;
}

export interface FleetOptions {
  /** The namespaces' prefix (netns.ts): each test file its own, so files run in parallel. */
  readonly prefix: string;
  readonly hosts?: number;
  /** Agents' lease (--ttl). */
  readonly ttlMs?: number;
  /** The server's --host-lost-grace. */
  readonly hostLostGraceMs?: number;
  /** More `turnout server` flags (e.g. --max-concurrent-downloads 1). */
  readonly serverArgs?: readonly string[];
  /** More `turnout agent` flags, every host's. */
  readonly agentArgs?: readonly string[];
}

export interface Fleet {
  readonly net: FleetNet;
  readonly url: string;
  readonly admin: string;
  /** Where the server's and the agents' data dirs are (`server`, `agent-h<i>`). */
  readonly dataDir: string;
  /** The host named `h<i>` (1-based), as the agents register them. */
  name(i: number): string;
  /** `http://<host address>:8080`: host i's edge, reached from the root namespace. */
  edge(i: number): string;
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown): Promise<ApiAnswer>;
  get(path: string): Promise<any>;
  post(path: string, body?: unknown): Promise<any>;
  server(): RunningServer;
  startServer(): Promise<RunningServer>;
  /** kill -9 of the server process. */
  killServer(): Promise<void>;
  startAgent(i: number): AgentRun;
  agent(i: number): AgentRun | undefined;
  /** kill -9 of everything in host i's namespace: its agent, proxy and instances. */
  killHost(i: number): void;
  hosts(): Promise<Host[]>;
  instances(): Promise<Instance[]>;
  /** Applies the catalog and promotes v1 of the three modules (`replicas` each); answers the ticket. */
  setUp(replicas: number): Promise<number>;
  ticket(id: number): Promise<any>;
  untilTicket(id: number, ok: (t: any) => boolean, ms?: number): Promise<any>;
  createTicket(items: Record<string, string>, plan?: Record<string, unknown>): Promise<number>;
  /** What the agents reported, their last lines, the latest audit entries, the server's log. */
  diagnose(): Promise<string>;
  /** Runs `turnout …` (the real bin) in the root namespace with the admin token; its exit code and output. */
  cli(args: readonly string[]): { code: number; stdout: string; stderr: string };
  destroy(): Promise<void>;
}

export interface ApiAnswer {
  status: number;
  body: any;
}

/** Three modules, each calling the next through its host proxy, versions 1.0.0 and 2.0.0. */
export function catalog(): unknown[] {
  const calls: Record<string, string[]> = { web: ['orders'], orders: ['account'], account: [] };
  const docs: unknown[] = [{ kind: 'Org', name: 'acme' }];
  for (const m of MODULES) {
    docs.push({
      kind: 'Module',
      name: m,
      org: 'acme',
      calls: calls[m],
      health: { path: '/healthz', intervalMs: 1000 },
      run: {
        process: {
          command: 'node',
          args: ['examples/services/service.mjs'],
          env: { SERVICE_NAME: m, SERVICE_CALLS: (calls[m] ?? []).join(',') },
        },
      },
    });
    for (const v of ['1.0.0', '2.0.0'])
      docs.push({
        kind: 'Version',
        module: m,
        version: v,
        run: { process: { env: { SERVICE_VERSION: v } } },
      });
  }
  docs.push({
    kind: 'Product',
    name: 'shop',
    org: 'acme',
    hosts: ['shop.localhost'],
    entry: 'web',
    retainTickets: 2,
  });
  return docs;
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const hostCount = o.hosts ?? 3;
  const net = createFleetNet({ prefix: o.prefix, hosts: hostCount });
  const dir = mkdtempSync(join(tmpdir(), `turnout-${o.prefix}-`));
  const serverData = join(dir, 'server');
  // A self-signed certificate for the bridge address (the server's TLS).
  const { cert, key } = selfSignedCert(dir, {
    ip: net.bridgeAddress,
    cn: 'turnout-fleet-test',
    days: 1,
    name: 'server-',
  });
  const ca = readFileSync(cert, 'utf8');
  const dispatcher = new Agent({ connect: { ca } });
  const url = `https://${net.bridgeAddress}:${API_PORT}`;
  let server: RunningServer | null = null;
  const agents = new Map<number, AgentRun>();
  const serverArgs = [
    '--data',
    serverData,
    '--listen',
    `${net.bridgeAddress}:${API_PORT}`,
    '--tls-cert',
    cert,
    '--tls-key',
    key,
    '--host-lost-grace',
    String(o.hostLostGraceMs ?? 2000),
    ...(o.serverArgs ?? []),
  ];
  const startSrv = async () => {
    server = await startServer(serverArgs);
    return server;
  };
  await startSrv();
  const admin = readFileSync(join(serverData, 'admin-token'), 'utf8').trim();
  const join_ = readFileSync(join(serverData, 'join-token'), 'utf8').trim();

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown) => {
    const res = await request(`${url}${path}`, {
      method,
      dispatcher,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) };
  };
  const must = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const r = await call(method, path, method === 'POST' ? (body ?? {}) : undefined);
    if (r.status < 200 || r.status > 299)
      throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const hostOf = (i: number): FleetHost => net.host(i);

  const startAgent = (i: number): AgentRun => {
    const h = hostOf(i);
    const data = join(dir, `agent-h${i}`);
    mkdirSync(data, { recursive: true });
    const child = net.spawn(
      h,
      process.execPath,
      [
        BIN,
        'agent',
        '--server',
        url,
        '--token',
        join_,
        '--name',
        `h${i}`,
        '--advertise',
        h.address,
        '--labels',
        `zone=${ZONES[(i - 1) % ZONES.length]}`,
        '--data',
        data,
        '--ca',
        cert,
        '--ttl',
        String(o.ttlMs ?? 6000),
        '--edge',
        `${h.address}:${EDGE_PORT}`,
        '--json',
        ...(o.agentArgs ?? []),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const keep = (b: Buffer) => {
      out = (out + b.toString()).slice(-200_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const run = { child, out: () => out };
    agents.set(i, run);
    return run;
  };

  const hosts = async () => (await must('GET', '/v1/hosts')).items as Host[];
  const instances = async () => {
    const all: Instance[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await must(
        'GET',
        `/v1/instances?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      all.push(...(page.items as Instance[]));
      cursor = page.nextCursor ?? null;
    } while (cursor !== null);
    return all;
  };
  /** What every host's agent reported, and its last output lines: for a failure's message. */
  const diagnose = async () => {
    const lines: string[] = [];
    for (let i = 1; i <= hostCount; i++) {
      const r = await call('GET', `/v1/hosts/h${i}/assignments`).catch(() => null);
      for (const a of (r?.body?.assignments ?? []) as any[])
        lines.push(
          `h${i} ${a.id} desired ${a.desired} ${a.status.phase} ${a.status.health} ${a.status.address} ${a.status.error ?? ''} ${a.status.logTail.slice(-3).join(' | ')}`,
        );
      lines.push(`h${i} agent: ${agents.get(i)?.out().split('\n').slice(-8).join('\n  ')}`);
    }
    const audit = await call('GET', '/v1/audit?newestFirst=true&limit=60').catch(() => null);
    for (const e of (audit?.body?.items ?? []) as any[])
      lines.push(
        `audit ${e.createdAt} ${e.actor} ${e.action} ${e.target} ${JSON.stringify(e.after)?.slice(0, 200)}`,
      );
    lines.push(`server: ${server?.stderr().slice(-3000)}`);
    return lines.join('\n');
  };
  const ticket = (id: number) => must('GET', `/v1/tickets/${id}`);
  const untilTicket = (id: number, ok: (t: any) => boolean, ms = 120_000) =>
    waitFor(
      `ticket ${id}`,
      async () => {
        const t = await ticket(id);
        if (ok(t)) return t;
        if (['failed', 'aborted'].includes(t.state))
          throw new Hopeless(
            `ticket ${id} is ${t.state}: ${t.progress?.message}\n${await diagnose()}`,
          );
        throw new Error(`last seen ${t.state}: ${t.progress?.message}`);
      },
      ms,
    );
  const createTicket = async (items: Record<string, string>, plan?: Record<string, unknown>) =>
    (
      await must('POST', '/v1/tickets', {
        product: 'shop',
        items: Object.entries(items).map(([module, version]) => ({ module, version })),
        ...(plan === undefined ? {} : { plan }),
      })
    ).id as number;

  const fleet: Fleet = {
    net,
    url,
    admin,
    dataDir: dir,
    name: (i) => `h${i}`,
    edge: (i) => `http://${hostOf(i).address}:${EDGE_PORT}`,
    call,
    get: (path) => must('GET', path),
    post: (path, body) => must('POST', path, body),
    server: () => {
      if (server === null) throw new Error('no server');
      return server;
    },
    startServer: startSrv,
    async killServer() {
      const s = fleet.server();
      const gone = new Promise((r) => s.child.once('exit', r));
      s.child.kill('SIGKILL');
      await gone;
    },
    startAgent,
    agent: (i) => agents.get(i),
    killHost(i) {
      // Everything inside: the agent, its proxy (and workers), the instances. Repeated, because
      // a dying supervisor may have forked just before.
      for (let round = 0; round < 3; round++)
        for (const pid of pidsIn(hostOf(i).ns)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
    },
    hosts,
    instances,
    async setUp(replicas) {
      for (let i = 1; i <= hostCount; i++) startAgent(i);
      await waitFor('every host registered and ready', async () => {
        const hs = await hosts();
        return hs.filter((h) => h.state === 'ready').length === hostCount ? hs : null;
      });
      const applied = await call('POST', '/v1/apply', { documents: catalog() });
      if (applied.status !== 200) throw new Error(`apply: ${JSON.stringify(applied.body)}`);
      const id = await createTicket(
        { web: '1.0.0', orders: '1.0.0', account: '1.0.0' },
        { replicas },
      );
      await must('POST', `/v1/tickets/${id}/promote`);
      await untilTicket(id, (t) => t.state === 'promoted');
      // Every host's edge routes shop end to end.
      for (let i = 1; i <= hostCount; i++)
        await waitFor(`host h${i}'s edge to serve shop`, async () => {
          const res = await request(`${fleet.edge(i)}/`, {
            headers: { host: 'shop.localhost', 'x-user-id': 'probe' },
          });
          await res.body.text();
          return res.statusCode === 200;
        });
      return id;
    },
    ticket,
    untilTicket,
    createTicket,
    diagnose,
    cli(args) {
      try {
        const stdout = execFileSync(process.execPath, [BIN, ...args], {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, TURNOUT_SERVER: url, TURNOUT_TOKEN: admin, TURNOUT_CA: cert },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        return { code: 0, stdout, stderr: '' };
      } catch (error) {
        const e = error as { status?: number; stdout?: string; stderr?: string };
        return { code: e.status ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    },
    async destroy() {
      if (server !== null) {
        const s = server as RunningServer;
        if (s.child.exitCode === null && s.child.signalCode === null) await s.stop();
      }
      net.destroy();
      await dispatcher.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}

/** Instance ids on each host, of the live (starting, ready, draining) instances. */
export function byHost(instances: readonly Instance[]): Map<string, Instance[]> {
  const out = new Map<string, Instance[]>();
  for (const i of instances) {
    if (!['starting', 'ready', 'draining'].includes(i.state)) continue;
    out.set(i.host, [...(out.get(i.host) ?? []), i]);
  }
  return out;
}
