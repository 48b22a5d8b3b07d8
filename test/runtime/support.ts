// Helpers for the runtime tests: a temp dir, plain HTTP on 127.0.0.1, and process checks by pid.

import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readProcStat } from '../../src/runtime/process-identity.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVICE = join(ROOT, 'examples', 'services', 'service.mjs');
export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `turnout-${prefix}-`));
}

export interface Answer {
  status: number;
  body: string;
  json(): Record<string, unknown>;
}

/** One GET on a fresh connection (no keep-alive left behind to a process a test stops). */
export function get(
  address: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<Answer> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port: Number(port), path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) }),
      );
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${address}${path}: no answer`)));
    req.on('error', reject);
  });
}

/** Whether the process runs (a zombie has ended, it only waits for its parent to reap it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** Polls `check` every 20 ms until it holds (or throws after `timeoutMs`). */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Kills whatever of `pids` is still alive (SIGKILL, by pid) and empties the list. */
export function killAll(pids: number[]): void {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
