// A trivial Node upstream for `npm run bench:proxy`: answers every request `200 ok`, keep-alive,
// one process. Used only to show why the bench's upstream is nginx (see bench/proxy.ts).
//
// Usage: node --import tsx bench/proxy/upstream.ts PORT

import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
