// `turnout proxy` loads only what serving traffic needs (issue 15: memory): prom-client comes with
// the first scrape of /metrics and the YAML parser with the first YAML document, not at start;
// zod never (snapshots are checked by src/config/snapshot-check.ts), and re2js only with a lane
// rule that has a regex. undici's index never, in either mode (a snapshot file, a control plane's
// stream): the proxy takes Pool and Agent from undici's own files (src/proxy/undici-parts.ts).
// The real bin runs under a module-resolution hook that records every module it resolves (as in
// test/cli/lazy-load.test.ts); which modules load, not how much memory, so it holds on a busy
// machine.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../support/build.js';
import type { RunningServer } from '../support/turnout-server.js';
import { startServer } from '../support/turnout-server.js';
import { freePort } from '../support/turnout-up.js';

const BIN = join(ROOT, 'bin', 'turnout.js');

let dir = '';
let child: ChildProcess | null = null;
/** Every proxy started (the control-plane one too), stopped at the end. */
const children: ChildProcess[] = [];
let server: RunningServer | null = null;
/** The proxy's log lines (pino JSON on stdout), parsed. */
const logLines: Record<string, unknown>[] = [];
let logWaiters: (() => void)[] = [];
let adminPort = 0;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-proxy-load-'));
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.TURNOUT_LOAD_LOG, process.pid + ' ' + r.url + '\\n');
  return r;
}\n`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    // The resolve hook sees imports; createRequire (yaml, re2js are loaded so, on first use) goes
    // through Module._resolveFilename, which Node 20's hooks do not see: record that too.
    `import Module, { register } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
register('./hooks.mjs', import.meta.url);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...args) {
  const file = resolveFilename.apply(this, args);
  if (file.startsWith('/')) appendFileSync(process.env.TURNOUT_LOAD_LOG, process.pid + ' ' + pathToFileURL(file).href + '\\n');
  return file;
};\n`,
  );
  writeFileSync(
    join(dir, 'snapshot.json'),
    JSON.stringify({
      version: 1,
      products: [{ name: 'shop', entry: 'web', dtab: '/svc/web => /v/web/1' }],
      modules: [
        { name: 'web', versions: [{ version: '1', endpoints: [{ address: '127.0.0.1:9' }] }] },
      ],
    }),
  );
}, 180_000);

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((done) => c.once('exit', done));
    c.kill('SIGTERM');
    await exited;
  }
  await server?.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

interface Ports {
  readonly admin: number;
  readonly outbound: number;
}

/**
 * Starts `turnout proxy --config <config>` under the hook (its workers inherit it); resolves with
 * its admin and outbound ports once it is listening.
 */
function startProxy(
  log: string,
  config = join(dir, 'snapshot.json'),
  workers = '1',
  env: Record<string, string> = {},
): Promise<Ports> {
  writeFileSync(log, '');
  child = spawn(
    process.execPath,
    [
      '--import',
      join(dir, 'register.mjs'),
      BIN,
      'proxy',
      '--config',
      config,
      '--outbound',
      '127.0.0.1:0',
      '--edge',
      'off',
      '--admin',
      '127.0.0.1:0',
      '--data',
      join(dir, 'data'),
      '--workers',
      workers,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, TURNOUT_LOAD_LOG: log },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) logLines.push(JSON.parse(line));
    const waiters = logWaiters;
    logWaiters = [];
    for (const w of waiters) w();
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child?.stderr?.setEncoding('utf8');
    child?.stderr?.on('data', (chunk: string) => {
      err += chunk;
      const m = /outbound 127\.0\.0\.1:(\d+), edge off, admin 127\.0\.0\.1:(\d+)/.exec(err);
      if (m !== null) resolve({ outbound: Number(m[1]), admin: Number(m[2]) });
    });
    child?.once('exit', (code) => reject(new Error(`turnout proxy exited ${code}: ${err}`)));
  });
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** Resolves with the first log line of `event` that `match` accepts, once the proxy writes it. */
async function logEvent(
  event: string,
  match: (line: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown>> {
  for (;;) {
    const found = logLines.find((l) => l.event === event && match(l));
    if (found !== undefined) return found;
    await new Promise<void>((wake) => logWaiters.push(wake));
  }
}

function snapshotWithRule(version: number, regex: string): string {
  return JSON.stringify({
    version,
    products: [
      {
        name: 'shop',
        entry: 'web',
        dtab: '/svc/web => /v/web/1',
        lanes: [{ name: 'beta' }],
        rules: [{ lane: 'beta', header: { name: 'X-User', regex, trust: 'any-client' } }],
      },
    ],
    modules: [
      { name: 'web', versions: [{ version: '1', endpoints: [{ address: '127.0.0.1:9' }] }] },
    ],
  });
}

/** A request through the outbound (explicit proxy) listener to `web`: its only endpoint refuses. */
function viaProxy(outbound: number): Promise<{ status: number; body: string }> {
  return get(outbound, 'http://web/', { host: 'web' });
}

/** Whether the proxy (any of its processes) loaded undici's index, not only files of it. */
function loadedUndiciIndex(log: string): boolean {
  return readFileSync(log, 'utf8')
    .split('\n')
    .some((u) => u.endsWith('/node_modules/undici/index.js'));
}

/** The ids of the processes that loaded a module whose URL contains `part` (lines: `pid url`). */
function processesLoading(log: string, part: string): Set<string> {
  const lines = readFileSync(log, 'utf8').split('\n');
  return new Set(lines.filter((l) => l.includes(part)).map((l) => l.split(' ')[0] ?? ''));
}

function loadedPackages(log: string, names: readonly string[]): string[] {
  const urls = readFileSync(log, 'utf8').split('\n');
  return names.filter((pkg) => urls.some((u) => u.includes(`/node_modules/${pkg}/`)));
}

describe('turnout proxy loads what serving needs', () => {
  it('serves without prom-client or the YAML parser, and loads prom-client at the first scrape', async () => {
    const log = join(dir, 'load.log');
    const { admin, outbound } = await startProxy(log);
    adminPort = admin;
    const ready = await get(admin, '/ready');
    expect(ready.status).toBe(200);
    // A request forwarded through an undici pool (the endpoint refuses: 502 upstream_failed).
    expect((await viaProxy(outbound)).status).toBe(502);
    // The hook saw the data plane load (so the empty list below means something).
    expect(loadedPackages(log, ['undici', 'pino'])).toEqual(['undici', 'pino']);
    expect(loadedPackages(log, ['prom-client', 'yaml', 'zod', 're2js'])).toEqual([]);
    expect(loadedUndiciIndex(log)).toBe(false);

    const metrics = await get(admin, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('turnout_config_version 1');
    expect(loadedPackages(log, ['prom-client'])).toEqual(['prom-client']);
    expect(loadedPackages(log, ['zod'])).toEqual([]);
  });

  it('refuses a bad snapshot with its field and reason without zod, keeps serving it, and loads re2js for a regex rule', async () => {
    const log = join(dir, 'load.log');
    const admin = adminPort;
    const file = join(dir, 'snapshot.json');
    // A backreference: RE2 cannot run it, so the regex check (re2js) refuses it by field.
    writeFileSync(file, snapshotWithRule(2, '(a)\\1'));
    const rejected = await logEvent('config_rejected');
    expect(rejected.field).toBe('products[0].rules[0].header.regex');
    expect(String(rejected.reason)).toContain('lane regexes use RE2 syntax');
    expect(JSON.parse((await get(admin, '/ready')).body)).toEqual({ ready: true, version: 1 });

    writeFileSync(file, snapshotWithRule(3, '^u[0-9]+$'));
    await logEvent('config_applied', (l) => l.version === 3);
    expect(JSON.parse((await get(admin, '/ready')).body)).toEqual({ ready: true, version: 3 });
    expect(loadedPackages(log, ['re2js', 'zod'])).toEqual(['re2js']);
  });
});

describe('turnout proxy following a control plane', () => {
  it("never loads undici's index: the stream follower and the pools use undici's own files", async () => {
    server = await startServer([
      '--data',
      join(dir, 'server'),
      '--listen',
      `127.0.0.1:${await freePort()}`,
    ]);
    const token = readFileSync(join(dir, 'server', 'admin-token'), 'utf8').trim();
    const log = join(dir, 'load-control.log');
    // Two workers: the primary follows the stream, the workers serve (and hold the pools).
    const { admin, outbound } = await startProxy(log, `${server.url}/v1/stream`, '2', {
      TURNOUT_TOKEN: token,
    });
    // Ready: the snapshot came over the stream (the server's, version 0: no products yet).
    expect(JSON.parse((await get(admin, '/ready')).body)).toEqual({ ready: true, version: 0 });
    // A worker answers (no product yet, so no pool: the file mode above forwards through one).
    const answer = await viaProxy(outbound);
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('no turnout-product in the baggage header');
    // The hook saw all three processes load undici's files (so the check below covers each).
    expect(processesLoading(log, '/node_modules/undici/').size).toBe(3);
    expect(loadedUndiciIndex(log)).toBe(false);
  });
});
