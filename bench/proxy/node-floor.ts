// The floor for a Node proxy built like Turnout's, for `npm run bench:proxy`: node:http server,
// undici Pool raw dispatch(), response piped back — and nothing else (no routing, context,
// header rules, balancing, retries or metrics). Turnout's distance to this row is its own
// per-request work; this row's distance to nginx is the platform's.
//
// Usage: node --import tsx bench/proxy/node-floor.ts LISTEN_PORT UPSTREAM_HOST:PORT
// (bench/proxy/request-loop.ts imports `floorHandler` to run the same handler without sockets.)

import { realpathSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Dispatcher } from 'undici';
import { Pool } from 'undici';

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding']);

/** What the handler needs of a pool: undici's raw dispatch. */
export type FloorPool = Pick<Dispatcher, 'dispatch'>;

/** node-floor's request handler: the client's request to `pool`, the answer piped back. */
export function floorHandler(pool: FloorPool): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.startsWith('/') ? url : url.slice(url.indexOf('/', 7)) || '/';
    const headers: string[] = [];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2)
      if (!HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_c, status, h: IncomingHttpHeaders) {
        const out: IncomingHttpHeaders = {};
        for (const name in h) if (!HOP.has(name)) out[name] = h[name];
        res.writeHead(status, out);
      },
      onResponseData(_c, chunk: Buffer) {
        res.write(chunk);
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    };
    pool.dispatch({ method: req.method ?? 'GET', path, headers, body: null }, handler);
  };
}

/** Run as a program (not imported): serve on the port given. */
function isMain(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === fileURLToPath(import.meta.url);
}

if (isMain()) {
  const port = Number(process.argv[2]);
  const pool = new Pool(`http://${process.argv[3]}`, { connections: 256, pipelining: 1 });
  const server = createServer(floorHandler(pool));
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}
