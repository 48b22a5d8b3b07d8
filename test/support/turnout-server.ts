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
