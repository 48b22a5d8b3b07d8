// A real `turnout server` (the built bin) as a child process, for the server and host CLI tests:
// started with --json, ready once it has printed its summary (it prints it after the API listens).

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { ROOT } from './build.js';

const BIN = join(ROOT, 'bin', 'turnout.js');

export interface RunningServer {
  readonly child: ChildProcess;
  /** What `server --json` printed. */
  readonly summary: Record<string, unknown>;
  readonly url: string;
  stderr(): string;
  /** SIGTERM, then the exit (SIGKILL only if it hangs: a hang fails the exit code check). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `turnout server --json <args>`; rejects with its stderr if it exits instead. */
export async function startServer(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const child = spawn(process.execPath, [BIN, 'server', '--json', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // The timer only bounds a hang: the wait ends on the line itself, or on the exit.
  let timer: NodeJS.Timeout | undefined;
  const line = new Promise<string>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no summary within 60 s: ${err}`)), 60_000);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const end = out.indexOf('\n');
      if (end >= 0) resolve(out.slice(0, end));
    });
    void exit.then(({ code }) => reject(new Error(`turnout server exited ${code}: ${err}`)));
  });
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse(await line) as Record<string, unknown>;
    clearTimeout(timer);
  } catch (error) {
    clearTimeout(timer);
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    summary,
    url: String(summary.api),
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const result = await exit;
        clearTimeout(timer);
        return result;
      }
      return exit;
    },
  };
}

/** One API call with a bearer token; answers the status and the parsed body (null when empty). */
export async function call(
  url: string,
  token: string,
  method: 'GET' | 'PUT' | 'POST' = 'GET',
  body?: unknown,
  ca?: string,
): Promise<{ status: number; body: unknown }> {
  const res = await request(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    ...(ca === undefined ? {} : { dispatcher: await tlsAgent(ca) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) };
}

async function tlsAgent(ca: string) {
  const { Agent } = await import('undici');
  return new Agent({ connect: { ca } });
}

/**
 * Runs one instance of orders@1.0.0 on `host` the way a fleet does: a catalog (org acme, module
 * orders, product shop), a ticket deployed by `admin`, the assignment the engine writes for the
 * host (the only one with a lease), and the agent's report that it runs, healthy, at `address`
 * (sent with `agent`, which may be the admin token). Answers the instance id once it is ready.
 */
export async function placeInstance(
  url: string,
  tokens: { admin: string; agent: string },
  host: string,
  address: string,
): Promise<string> {
  const { waitFor } = await import('./wait.js');
  const ok = async (method: 'POST' | 'PUT', path: string, token: string, body?: unknown) => {
    const r = await call(`${url}${path}`, token, method, body);
    if (r.status >= 300)
      throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await ok('POST', '/v1/orgs', tokens.admin, { name: 'acme' });
  await ok('POST', '/v1/modules', tokens.admin, {
    name: 'orders',
    org: 'acme',
    run: { process: { command: 'node' } },
  });
  await ok('POST', '/v1/modules/orders/versions', tokens.admin, { version: '1.0.0' });
  await ok('POST', '/v1/products', tokens.admin, {
    name: 'shop',
    org: 'acme',
    entry: 'orders',
    baseDtab: '/svc/orders => /v/orders/1.0.0;',
  });
  const ticket = (await ok('POST', '/v1/tickets', tokens.admin, {
    product: 'shop',
    items: [{ module: 'orders', version: '1.0.0' }],
  })) as { id: number };
  await ok('POST', `/v1/tickets/${ticket.id}/deploy`, tokens.admin);
  const id = await waitFor(`an assignment on ${host}`, async () => {
    const r = await call(`${url}/v1/hosts/${host}/assignments`, tokens.agent);
    const list = (r.body as { assignments: { id: string; desired: string }[] }).assignments;
    return list.find((a) => a.desired === 'run')?.id;
  });
  const status = {
    phase: 'running',
    address,
    pid: 4242,
    startedAt: new Date().toISOString(),
    restarts: 0,
    health: 'healthy',
    lastExit: null,
    error: null,
    logTail: [],
  };
  // The engine records the instance once it reads the report, and a healthy report makes an
  // instance that exists ready: report again until it is, as an agent re-sends its status.
  await waitFor(`instance ${id} ready on ${host}`, async () => {
    await ok('PUT', `/v1/hosts/${host}/assignments/${id}/status`, tokens.agent, status);
    const r = await call(`${url}/v1/instances/${id}`, tokens.admin);
    return r.status === 200 && (r.body as { state: string }).state === 'ready';
  });
  return id;
}
