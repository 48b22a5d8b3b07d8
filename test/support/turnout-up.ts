// A real `turnout up` (the built bin, SQLite in a temp dir, free ports on 127.0.0.1) for CLI tests
// that need a control plane, and a runner for the bin with its own environment and stdin.

import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { ROOT } from './build.js';
import { Hopeless, waitFor } from './wait.js';

const BIN = join(ROOT, 'bin', 'turnout.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the bin; `env` replaces TURNOUT_SERVER / TURNOUT_TOKEN (unset unless given). */
export function runTurnout(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<CliRun> {
  const env = { ...process.env };
  delete env.TURNOUT_SERVER;
  delete env.TURNOUT_TOKEN;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, timeout: 60_000, env: { ...env, ...options.env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

export interface RunningUp {
  server: string;
  data: string;
  /** The admin token, unless insecure. */
  token: string | null;
  /** GET on the API, for checks that must not go through the CLI under test. */
  get(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * `turnout up` with the proxy's traffic listeners off; resolves once the API answers. `data`: a
 * data dir for `up` to create (default: a fresh temporary one); stop() removes it either way.
 */
export async function startUp(options: {
  insecure: boolean;
  data?: string;
  /** More arguments for `up` (e.g. `--store …`). */
  args?: readonly string[];
}): Promise<RunningUp> {
  const data = options.data ?? mkdtempSync(join(tmpdir(), 'turnout-cli-'));
  const [apiPort, adminPort] = [await freePort(), await freePort()];
  const server = `http://127.0.0.1:${apiPort}`;
  const args = [
    BIN,
    'up',
    '--json',
    '--data',
    data,
    '--api',
    `127.0.0.1:${apiPort}`,
    '--outbound',
    'off',
    '--edge',
    'off',
    '--admin',
    `127.0.0.1:${adminPort}`,
  ];
  if (options.insecure) args.push('--insecure-local');
  args.push(...(options.args ?? []));
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  // Up prints its summary once everything has started (its agent registered, its proxy up).
  let stdout = '';
  child.stdout?.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const token = () =>
    options.insecure ? null : readFileSync(join(data, 'admin-token'), 'utf8').trim();
  const get = async (path: string) => {
    const t = token();
    const res = await request(`${server}${path}`, {
      headers: t === null ? {} : { authorization: `Bearer ${t}` },
    });
    const body = await res.body.json();
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode}`);
    return body;
  };
  try {
    await waitFor(
      'the API',
      async () => {
        if (child.exitCode !== null) throw new Hopeless(`turnout up exited: ${stderr}`);
        await get('/v1/orgs');
        return stdout.includes('\n');
      },
      { timeoutMs: 60_000, everyMs: 100 },
    );
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
    throw error;
  }
  return {
    server,
    data,
    token: token(),
    get,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}
