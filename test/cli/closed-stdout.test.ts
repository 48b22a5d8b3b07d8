// A closed stdout (`turnout … | head`, `… | true`) ends the command quietly with its own exit code:
// no EPIPE stack trace, no exit 1 after the command did its work (issue 16). The real bin writes
// more than a pipe buffer (64 KiB), so it is still writing when the reader goes away, whichever
// runs first: the EPIPE is certain, not a race.

import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { ROOT } from './run.js';

const BIN = join(ROOT, 'bin', 'turnout.js');

let server: Server;
let api: string;

beforeAll(async () => {
  await ensureBuilt();
  // 3,000 products: a table of ~200 KiB.
  const items = Array.from({ length: 3000 }, (_, i) => ({
    name: `product-${String(i).padStart(4, '0')}`,
    org: 'acme',
    entry: '/svc/web',
    hosts: [`p${i}.example.test`],
    updatedAt: '2026-01-01T00:00:00.000Z',
  }));
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ items, nextCursor: null }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
});

interface Closed {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  read: number;
}

/**
 * Runs the bin with stdout on a pipe and closes the pipe's reading end: at once (`| true`), or
 * after the first chunk (`| head -1`).
 */
function withClosedStdout(mode: 'at-once' | 'after-first-chunk', args: string[]): Promise<Closed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let read = 0;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    if (mode === 'at-once') child.stdout.destroy();
    else
      child.stdout.once('data', (d: Buffer) => {
        read = d.length;
        child.stdout.destroy();
      });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, read }));
  });
}

describe('a closed stdout', () => {
  it('turnout get … | head: the first lines were read, then exit 0 and nothing on stderr', async () => {
    const r = await withClosedStdout('after-first-chunk', ['get', 'products', '--server', api]);
    expect(r.read).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
  });

  it('turnout dtab show … | true: exit 0 and nothing on stderr', async () => {
    const dtab = Array.from({ length: 3000 }, (_, i) => `/s/${i}=>/v/orders/1.0.0`).join(';');
    const r = await withClosedStdout('at-once', ['dtab', 'show', dtab]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('a failing command keeps its own exit code and its error on stderr', async () => {
    const r = await withClosedStdout('at-once', ['dtab', 'show', '/a=>']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^turnout: .*expected/);
    expect(r.stderr).not.toContain('EPIPE');
  });
});
