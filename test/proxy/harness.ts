// Test harness for the proxy: real upstream HTTP servers on 127.0.0.1, a snapshot file, and a
// proxy started in this process on ephemeral ports.

import { renameSync, writeFileSync } from 'node:fs';
import type {
  Agent,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { SnapshotInput } from '../../src/config/snapshot.js';
import type { ProxyOptions, RunningProxy } from '../../src/proxy/main.js';
import { startProxy } from '../../src/proxy/main.js';
import { madeTempDir } from '../support/temp-dir.js';
import { waitFor as waitUntil } from '../support/wait.js';

export interface Upstream {
  readonly name: string;
  readonly server: Server;
  readonly address: string;
  /** Requests seen: method, url and headers. */
  readonly seen: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** An upstream answering `{ name, url, headers }` as JSON (or echoing a POST body). */
export async function startUpstream(
  name: string,
  behaviour?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (behaviour?.(req, res)) return;
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-served-by': name });
      req.pipe(res);
      return;
    }
    const body = JSON.stringify({ name, url: req.url, headers: req.headers });
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-served-by': name,
      'keep-alive': 'timeout=7',
    });
    res.end(body);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    server,
    address: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port that nothing listens on (bound then released). */
export async function deadAddress(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

export function logCapture(): {
  logger: Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream) as unknown as Logger, lines };
}

export function writeSnapshot(dir: string, snapshot: SnapshotInput): string {
  const file = join(dir, 'snapshot.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(snapshot));
  // Rename so the watcher never sees a half-written file.
  renameSync(`${file}.tmp`, file);
  return file;
}

/** A temp directory for one test, removed after its file's tests (test/support/temp-dir.ts). */
export function tempDir(): string {
  return madeTempDir('turnout-proxy-');
}

export async function startTestProxy(
  configFile: string,
  extra: Partial<ProxyOptions> = {},
): Promise<RunningProxy & { logs: Record<string, unknown>[] }> {
  const { logger, lines } = logCapture();
  const proxy = await startProxy({
    config: configFile,
    lastGoodPath: null,
    outbound: { host: '127.0.0.1', port: 0 },
    edge: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    overrideSecrets: [],
    logger,
    ...extra,
  });
  return Object.assign(proxy, { logs: lines });
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request over a fresh or agent-pooled connection. */
export function send(
  port: number,
  opts: {
    path: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    agent?: Agent;
    /** The client's own address, e.g. 127.0.0.2 to be another loopback client. */
    localAddress?: string;
  },
): Promise<Reply> {
  // As an explicit-proxy client does (curl with http_proxy), send the absolute URI's host as Host.
  const absolute = /^http:\/\/([^/?]+)/.exec(opts.path);
  const headers = absolute === null ? opts.headers : { host: absolute[1]!, ...opts.headers };
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path,
        method: opts.method ?? 'GET',
        headers,
        agent: opts.agent,
        ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

// --- helpers for the resilience and lifecycle tests -------------------------------------------

/**
 * @deprecated Use `waitFor` from test/support/wait.ts (what first, then the check). Kept, in its
 * old argument order, for tests written against it.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
  everyMs = 5,
): Promise<void> {
  await waitUntil(what, check, { timeoutMs, everyMs });
}

/** Waits until the proxy has applied snapshot `version`; resolves with `performance.now()` then. */
export async function waitForVersion(proxy: RunningProxy, version: number): Promise<number> {
  await waitUntil(`config version ${version}`, () => (proxy.current()?.version ?? -1) >= version, {
    everyMs: 2,
  });
  return performance.now();
}

export interface LoadReply {
  readonly status: number;
  readonly servedBy: string | undefined;
  readonly error?: string;
}

export interface LoadResult {
  readonly replies: LoadReply[];
  /** Replies that were not `expectStatus` (default 200), or transport errors. */
  readonly failures: LoadReply[];
  /** Replies per `x-served-by`. */
  readonly servedBy: Map<string, number>;
}

/**
 * A bounded load: `clients` concurrent keep-alive clients, each sending one request after the
 * other until `durationMs` has passed or `maxRequests` were sent in all.
 */
export async function runLoad(
  port: number,
  opts: {
    clients: number;
    durationMs: number;
    maxRequests: number;
    request: (i: number) => {
      path: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    };
    expectStatus?: number;
    /** Stops sending once aborted: a load that lasts until the test has seen what it needs. */
    signal?: AbortSignal;
    /** Called with each reply as it comes (to wait for the load's progress, not for time). */
    onReply?: (reply: LoadReply) => void;
  },
): Promise<LoadResult> {
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: opts.clients });
  const replies: LoadReply[] = [];
  const until = Date.now() + opts.durationMs;
  let sent = 0;
  async function client(): Promise<void> {
    while (Date.now() < until && sent < opts.maxRequests && !opts.signal?.aborted) {
      const i = sent++;
      let reply: LoadReply;
      try {
        const r = await send(port, { ...opts.request(i), agent });
        const servedBy = r.headers['x-served-by'];
        reply = { status: r.status, servedBy: Array.isArray(servedBy) ? servedBy[0] : servedBy };
      } catch (error) {
        reply = { status: 0, servedBy: undefined, error: (error as Error).message };
      }
      replies.push(reply);
      opts.onReply?.(reply);
    }
  }
  try {
    await Promise.all(Array.from({ length: opts.clients }, client));
  } finally {
    agent.destroy();
  }
  const expect = opts.expectStatus ?? 200;
  const servedBy = new Map<string, number>();
  for (const r of replies)
    if (r.servedBy !== undefined) servedBy.set(r.servedBy, (servedBy.get(r.servedBy) ?? 0) + 1);
  return { replies, failures: replies.filter((r) => r.status !== expect), servedBy };
}

/** The `x-served-by` of `n` requests sent `concurrency` at a time. */
export async function servedBy(
  port: number,
  n: number,
  req: { path: string; headers?: Record<string, string> },
): Promise<{ statuses: number[]; by: Set<string> }> {
  const replies = await Promise.all(Array.from({ length: n }, () => send(port, req)));
  return {
    statuses: replies.map((r) => r.status),
    by: new Set(replies.map((r) => String(r.headers['x-served-by']))),
  };
}

/**
 * Sends `req` in rounds of `round` until every name in `expected` has served one (or `max`
 * requests were sent): who served and every status. Waits for the event (each expected endpoint
 * answering) rather than trusting a fixed count, which a balancer warming up a new endpoint, on
 * a busy machine, can leave unseen.
 */
export async function servedUntil(
  port: number,
  expected: readonly string[],
  req: { path: string; headers?: Record<string, string> },
  { round = 20, max = 400 } = {},
): Promise<{ statuses: number[]; by: Set<string> }> {
  const statuses: number[] = [];
  const by = new Set<string>();
  while (statuses.length < max && !expected.every((e) => by.has(e))) {
    const r = await servedBy(port, round, req);
    statuses.push(...r.statuses);
    for (const name of r.by) by.add(name);
  }
  return { statuses, by };
}
