// The `http-proxy` reference for `npm run bench:proxy`: one Node process forwarding every request
// to one upstream through a keep-alive agent (the setup most Node proxies built on it use).
//
// Usage: node --import tsx bench/proxy/http-proxy.ts LISTEN_PORT UPSTREAM_HOST:PORT

import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

const port = Number(process.argv[2]);
const upstream = process.argv[3];
const agent = new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 60_000 });
const proxy = httpProxy.createProxyServer({ target: `http://${upstream}`, agent, xfwd: true });
proxy.on('error', (_error, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
