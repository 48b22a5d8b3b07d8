// A whole embedded Turnout for release tests: the real `turnout up` (SQLite, the release engine,
// the process runtime, the proxy with edge and outbound listeners) on free loopback ports, a JSON
// API helper, and a bounded load client that records what served every request.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { spawnLocal } from './local.js';
import { waitFor as waitUntil } from './wait.js';

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
  /** What `turnout up` printed so far (its control plane's and proxy's logs; the last megabyte). */
  out(): string;
}

export { Hopeless } from './wait.js';

/**
 * The shared wait (test/support/wait.ts) with this stack's defaults: 60 s (whole processes on a
 * busy machine; it only bounds a hang), polling the API every 100 ms.
 */
export function waitFor<T>(
  what: string,
  check: () => Promise<T | false | undefined | null>,
  ms = 60_000,
): Promise<T> {
  return waitUntil(what, check, { timeoutMs: ms, everyMs: 100 });
}

export async function startStack(options: { data?: string } = {}): Promise<Stack> {
  const data = options.data ?? mkdtempSync(join(tmpdir(), 'turnout-release-'));
  const run = await spawnLocal('up', data, ['--insecure-local', '--json']);
  const child = run.child;
  const exited = run.exit;
  const base = run.api;
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
      if (child.exitCode !== null) throw new Error(`turnout up exited: ${run.out().slice(-5000)}`);
      await must('GET', '/v1/orgs');
      const ready = await request(`${run.admin}/ready`);
      await ready.body.text();
      return ready.statusCode === 200;
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    api: base,
    edge: run.edge,
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
    out: run.out,
    instancePids() {
      const dir = join(data, 'instances');
      return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { pid: number }).pid);
    },
  };
}

export type { Load, Served } from '../../src/demo/load.js';
export { startLoad } from '../../src/demo/load.js';
