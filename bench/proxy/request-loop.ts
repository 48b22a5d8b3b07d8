// `npx tsx bench/proxy/request-loop.ts`: Turnout's own work per request without the network —
// the request path (`trackExchange` + `handleRequest`, from dist/) in a loop, with an upstream
// pool that answers at once, against node-floor's own handler (`floorHandler` from
// bench/proxy/node-floor.ts) in the same loop. Real IncomingMessage and ServerResponse objects, no
// sockets: what differs between the rows is the proxy's own code. Hot and cached, so it reads
// lower than the same code under load (docs/proxy-performance.md, "Fifth pass"); use it to
// compare two versions of the code, not as the cost of a request.
//
// Each target runs in its own process (`--child`), interleaved over --runs rounds; each prints
// the median of 7 timed batches of --iterations requests, after a warm-up batch.
//
// Usage: tsx bench/proxy/request-loop.ts [--runs 3] [--iterations 100000] [--baseline DIR]
//   (--baseline adds `turnout-base`: DIR/dist, another checkout, built)

import { spawnSync } from 'node:child_process';
import { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Dispatcher } from 'undici';
import { floorHandler } from './node-floor.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    iterations: { type: 'string', default: '100000' },
    baseline: { type: 'string' },
    child: { type: 'string' },
    dist: { type: 'string' },
  },
});
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const ITERATIONS = Number(flags.iterations);

/** The upstream's answer, as undici's parser hands it over. */
const RAW_HEAD = [
  'Server',
  'nginx/1.22.1',
  'Date',
  'Mon, 07 Dec 2026 02:00:00 GMT',
  'Content-Type',
  'application/octet-stream',
  'Content-Length',
  '2',
  'Connection',
  'keep-alive',
].map((s) => Buffer.from(s, 'latin1'));
const BODY = Buffer.from('ok');

/** undici's own step from a controller-API handler to the raw protocol its Request calls. */
const { unwrap } = createRequire(import.meta.url)('undici/lib/handler/unwrap-handler.js') as {
  unwrap(h: Dispatcher.DispatchHandler): Dispatcher.DispatchHandler;
};

/** A pool that answers every request at once, as undici's dispatch calls a handler. */
const answeringPool = {
  dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const h = unwrap(handler);
    h.onConnect!(() => {});
    h.onHeaders!(200, RAW_HEAD, () => {}, 'OK');
    h.onData!(BODY);
    h.onComplete!([]);
    return true;
  },
};

const socket = new Socket();
Object.defineProperty(socket, 'remoteAddress', { value: '127.0.0.1' });

/** The bench's request: `GET http://bench/` with its product in baggage. */
function benchRequest(): IncomingMessage {
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = 'http://bench/';
  req.rawHeaders = ['Host', 'bench', 'baggage', 'turnout-product=bench'];
  req.headers = { host: 'bench', baggage: 'turnout-product=bench' };
  req.complete = true;
  return req;
}

/** One request through Turnout's path from `dist`. */
async function turnoutRequest(dist: string): Promise<() => ServerResponse> {
  const load = (p: string) => import(pathToFileURL(join(dist, p)).href);
  const { handleRequest } = await load('proxy/handler.js');
  const { trackExchange } = await load('proxy/client-connection.js');
  const { ProxyResponse } = await load('proxy/response-close.js').catch(() => ({}));
  const { compileSnapshot } = await load('config/compile.js');
  const { validateSnapshot } = await load('config/load.js');
  const { createProxyStats } = await load('proxy/stats.js');
  const { createRetryBudget } = await load('proxy/retry-budget.js');
  const { newEndpointState } = await load('proxy/endpoint-state.js');
  const { createDestinationPicker } = await load('proxy/destination.js');
  const { DEFAULT_HANDLER_OPTIONS } = await load('proxy/main.js');
  const { default: pino } = await import('pino');
  const compiled = compileSnapshot(
    validateSnapshot(
      {
        version: 1,
        products: [{ name: 'bench', entry: 'bench', dtab: '/svc/bench => /v/bench/1' }],
        modules: [
          {
            name: 'bench',
            versions: [{ version: '1', endpoints: [{ address: '127.0.0.1:9' }] }],
          },
        ],
      },
      'request-loop',
    ),
  );
  const ups = new Map<string, unknown>();
  const rt = {
    options: { ...DEFAULT_HANDLER_OPTIONS },
    current: () => compiled,
    upstreams: {
      get(address: string, now: number) {
        let up = ups.get(address);
        if (up === undefined) {
          up = { address, pool: answeringPool, state: newEndpointState(now) };
          ups.set(address, up);
        }
        return up;
      },
      retain() {},
      all: () => ups.values(),
      close: async () => {},
    },
    retryBudget: createRetryBudget(),
    stats: createProxyStats(),
    secrets: [],
    trustedHops: [],
    isSelf: () => false,
    logger: pino({ level: 'silent' }),
    pickDestination: createDestinationPicker(30_000),
    now: () => performance.now(),
    random: Math.random,
  };
  // A checkout from before ProxyResponse made its responses as node:http does by default.
  const Response = ProxyResponse ?? ServerResponse;
  const inflight = { count: 0 };
  return () => {
    const req = benchRequest();
    const res = new Response(req);
    trackExchange(req, res, inflight);
    handleRequest('outbound', req, res, rt);
    res.emit('close');
    return res;
  };
}

/** One request through node-floor's own handler (bench/proxy/node-floor.ts), as undici runs it. */
async function floorRequest(): Promise<() => ServerResponse> {
  const handle = floorHandler(answeringPool);
  return () => {
    const req = benchRequest();
    const res = new ServerResponse(req);
    handle(req, res);
    res.emit('close');
    return res;
  };
}

function timed(one: () => ServerResponse, n: number): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) one();
  return Number(process.hrtime.bigint() - t) / n;
}

async function child(target: string, dist: string): Promise<void> {
  const one = target === 'node-floor' ? await floorRequest() : await turnoutRequest(dist);
  // A loop of failing requests would time the error path: the answer must be the upstream's.
  const res = one();
  if (res.statusCode !== 200 || !res.writableEnded)
    throw new Error(`${target}: the request was not answered by the upstream (${res.statusCode})`);
  timed(one, ITERATIONS / 2);
  const batches = Array.from({ length: 7 }, () => timed(one, ITERATIONS)).sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ target, ns: Math.round(batches[3]!) })}\n`);
}

function parent(): void {
  const targets: [string, string][] = [['turnout', join(ROOT, 'dist')]];
  if (flags.baseline !== undefined)
    targets.push(['turnout-base', join(resolve(flags.baseline), 'dist')]);
  targets.push(['node-floor', '']);
  const results = new Map<string, number[]>(targets.map(([t]) => [t, []]));
  const runs = Number(flags.runs);
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? targets : [...targets].reverse();
    for (const [target, dist] of order) {
      const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', target];
      const r = spawnSync(
        process.execPath,
        [...args, '--dist', dist, '--iterations', String(ITERATIONS)],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`${target}: ${r.stderr}`);
      results.get(target)!.push(JSON.parse(r.stdout.trim().split('\n').pop()!).ns);
    }
  }
  process.stdout.write(
    `request-loop: ns per request, median of 7 batches of ${ITERATIONS}, ${runs} interleaved runs\n`,
  );
  const floor = results.get('node-floor')!;
  for (const [target, ns] of results) {
    const own = ns.map((v, i) => v - floor[i]!);
    const extra = target === 'node-floor' ? '' : `   minus node-floor: ${own.join(' / ')}`;
    process.stdout.write(`  ${target.padEnd(13)} ${ns.join(' / ')}${extra}\n`);
  }
}

if (flags.child !== undefined) await child(flags.child, flags.dist ?? join(ROOT, 'dist'));
else parent();
