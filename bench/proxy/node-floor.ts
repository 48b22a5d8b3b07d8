// The floor for a Node proxy built like Turnout's, for `npm run bench:proxy`: node:http server,
// undici Pool raw dispatch(), response piped back — and nothing else (no routing, context,
// header rules, balancing, retries or metrics). Turnout's distance to this row is its own
// per-request work; this row's distance to nginx is the platform's.
//
// Usage: node --import tsx bench/proxy/node-floor.ts LISTEN_PORT UPSTREAM_HOST:PORT

import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:http';
import type { Dispatcher } from 'undici';
import { Pool } from 'undici';

const port = Number(process.argv[2]);
const upstream = process.argv[3];
const pool = new Pool(`http://${upstream}`, { connections: 256, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding']);

const server = createServer((req, res) => {
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
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
