// A whole embedded Turnout for release tests: the real `turnout up` (SQLite, the release engine,
// the process runtime, the proxy with edge and outbound listeners) on free loopback ports, a JSON
// API helper, and a bounded load client that records what served every request.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ROOT } from './build.js';
import { freePort } from './turnout-up.js';

const BIN = join(ROOT, 'bin', 'turnout.js');

export interface Stack {
  readonly api: string;
  readonly edge: string;
  readonly data: string;
  readonly process: ChildProcess;
  call(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: any }>;
  /** GET that must answer 200. */
  get(path: string): Promise<any>;
  /** POST that must answer 2xx. */
  post(path: string, body?: unknown): Promise<any>;
  /** SIGTERM, wait; the data dir is removed unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Pids of the instances the runtime recorded (pid files). */
  instancePids(): number[];
}

/** Thrown from a waitFor check: stop waiting, the condition can no longer be met. */
export class Hopeless extends Error {}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | undefined | null>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== false && v !== undefined && v !== null) return v;
    } catch (error) {
      if (error instanceof Hopeless) throw error;
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out after ${ms} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`,
  );
}

export async function startStack(options: { data?: string } = {}): Promise<Stack> {
  const data = options.data ?? mkdtempSync(join(tmpdir(), 'turnout-release-'));
  const [api, outbound, edge, admin] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const child = spawn(
    process.execPath,
    [
      BIN,
      'up',
      '--insecure-local',
      '--json',
      '--data',
      data,
      '--api',
      `127.0.0.1:${api}`,
      '--outbound',
      `127.0.0.1:${outbound}`,
      '--edge',
      `127.0.0.1:${edge}`,
      '--admin',
      `127.0.0.1:${admin}`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const base = `http://127.0.0.1:${api}`;
  const call: Stack['call'] = async (method, path, body) => {
    const res = await request(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
  try {
    await waitFor('the API and the proxy', async () => {
      if (child.exitCode !== null) throw new Error(`turnout up exited: ${stderr}`);
      await must('GET', '/v1/orgs');
      const ready = await request(`http://127.0.0.1:${admin}/ready`);
      await ready.body.text();
      return ready.statusCode === 200;
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    api: base,
    edge: `http://127.0.0.1:${edge}`,
    data,
    process: child,
    call,
    get: (path) => must('GET', path),
    post: (path, body) => must('POST', path, body),
    async stop(o = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      if (o.keepData !== true) rmSync(data, { recursive: true, force: true });
    },
    instancePids() {
      const dir = join(data, 'instances');
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number }).pid);
    },
  };
}

/** What served one request, as the example services report it. */
export interface Served {
  readonly at: number;
  readonly status: number;
  readonly user: string;
  readonly product: string;
  /** The lane the entry service saw, or null (stable). */
  readonly lane: string | null;
  /** module → version, over the whole call tree. */
  readonly versions: Readonly<Record<string, string>>;
  readonly error?: string;
}

interface Reply {
  service: string;
  version: string;
  lane: string | null;
  calls?: Reply[];
}

function versionsOf(reply: Reply, out: Record<string, string> = {}): Record<string, string> {
  if (typeof reply.service === 'string' && typeof reply.version === 'string')
    out[reply.service] = reply.version;
  for (const c of reply.calls ?? []) versionsOf(c, out);
  return out;
}

export interface Load {
  readonly results: Served[];
  stop(): Promise<Served[]>;
}

/**
 * Steady load on the edge: `concurrency` loops, each sending one request at a time for host
 * `host` with `x-user-id: <prefix><n>` cycling over `users` users, until stop() or `maxMs` /
 * `maxRequests` (whichever first).
 */
export function startLoad(o: {
  edge: string;
  host: string;
  product: string;
  users: number;
  userPrefix?: string;
  concurrency?: number;
  maxMs?: number;
  maxRequests?: number;
  headers?: Record<string, string>;
}): Load {
  const results: Served[] = [];
  const dispatcher = new Agent({ connections: o.concurrency ?? 4, keepAliveTimeout: 10_000 });
  const deadline = Date.now() + (o.maxMs ?? 180_000);
  const max = o.maxRequests ?? 200_000;
  let stopped = false;
  let n = 0;
  const loop = async () => {
    while (!stopped && Date.now() < deadline && n < max) {
      const user = `${o.userPrefix ?? 'u'}${n++ % o.users}`;
      const at = Date.now();
      try {
        const res = await request(o.edge, {
          dispatcher,
          headers: { host: o.host, 'x-user-id': user, ...o.headers },
        });
        const text = await res.body.text();
        let versions: Record<string, string> = {};
        let lane: string | null = null;
        try {
          const body = JSON.parse(text) as Reply;
          versions = versionsOf(body);
          lane = body.lane ?? null;
        } catch {
          // not JSON: an error page from the proxy
        }
        results.push({
          at,
          status: res.statusCode,
          user,
          product: o.product,
          lane,
          versions,
          ...(res.statusCode === 200 ? {} : { error: text.slice(0, 200) }),
        });
      } catch (error) {
        results.push({
          at,
          status: 0,
          user,
          product: o.product,
          lane: null,
          versions: {},
          error: String(error),
        });
      }
    }
  };
  const loops = Array.from({ length: o.concurrency ?? 4 }, loop);
  return {
    results,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      await dispatcher.close();
      return results;
    },
  };
}
