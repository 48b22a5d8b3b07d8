// Helpers for the runtime tests: a temp dir, plain HTTP on 127.0.0.1, and process checks by pid.

import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readProcStat } from '../../src/runtime/process-identity.js';
import { madeTempDir } from '../support/temp-dir.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVICE = join(ROOT, 'examples', 'services', 'service.mjs');
export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

/** A temp directory for one test, removed after its file's tests (test/support/temp-dir.ts). */
export function tempDir(prefix: string): string {
  return madeTempDir(`turnout-${prefix}-`);
}

export interface Answer {
  status: number;
  body: string;
  json(): Record<string, unknown>;
}

/**
 * One GET on a fresh connection (no keep-alive left behind to a process a test stops); `onSent`
 * is called once the request is written out.
 */
export function get(
  address: string,
  path = '/',
  headers: Record<string, string> = {},
  onSent?: () => void,
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
    if (onSent) req.on('finish', onSent);
  });
}

/**
 * A GET the service (examples/services/service.mjs) is surely handling once this resolves, for
 * tests of what happens to a request in flight: once it is written, a /healthz on a new
 * connection, answered at once, is read after it (one event loop reads connections in the order
 * they arrived). Resolves with the pending answer (in an object, so it is not awaited here).
 */
export async function inFlightGet(
  address: string,
  path: string,
): Promise<{ answer: Promise<Answer> }> {
  let sent: () => void = () => {};
  const written = new Promise<void>((r) => {
    sent = r;
  });
  const answer = get(address, path, {}, sent);
  await Promise.race([written, answer]);
  await get(address, '/healthz');
  return { answer };
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

/** The shared wait (test/support/wait.ts). */
export { waitFor } from '../support/wait.js';

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
