// The one example service every example module runs: it answers with its name and version, and
// with what the services it calls answered, so a user sees which versions served a request.
// Plain node:http so it runs without a build. Configured by the environment (see docs/deploy-your-own-service.md).

import http from 'node:http';

const port = Number(process.env.PORT);
if (process.env.PORT === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('service: PORT must be set to a port number');
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';
const name = process.env.SERVICE_NAME || 'service';
const version = process.env.SERVICE_VERSION || '0.0.0';
const callees = (process.env.SERVICE_CALLS || '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const proxy = process.env.http_proxy ? new URL(process.env.http_proxy) : null;
const errorRate = Math.min(1, Math.max(0, Number(process.env.FAULT_ERROR_RATE) || 0));
const latencyMs = Math.max(0, Number(process.env.FAULT_LATENCY_MS) || 0);
const CALL_TIMEOUT_MS = 5000;
const DRAIN_DEADLINE_MS = 8000; // below the runtime's default stop deadline, so we exit first
const FORWARDED = ['baggage', 'traceparent', 'x-turnout-lane', 'x-turnout-override'];
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

// The error share is spread evenly (request n fails when floor(n·rate) steps up), not drawn at
// random, so exactly that share of any run of requests fails and a demo behaves the same each time.
let served = 0;
function shouldFail() {
  served += 1;
  return Math.floor(served * errorRate) > Math.floor((served - 1) * errorRate);
}

/** The lane the request travels in: x-turnout-lane wins over baggage, as in the proxy. */
function laneOf(headers) {
  if (headers['x-turnout-lane']) return headers['x-turnout-lane'];
  for (const member of (headers.baggage || '').split(',')) {
    const [key, value] = member.split(';')[0].split('=');
    if (key?.trim() === 'turnout-lane' && value !== undefined) {
      try {
        return decodeURIComponent(value.trim());
      } catch {
        return value.trim();
      }
    }
  }
  return null;
}

/** GET http://<callee><path> through the Turnout proxy (absolute form), with the context headers. */
function call(callee, path, incoming) {
  const headers = { host: callee };
  for (const h of FORWARDED) if (incoming[h] !== undefined) headers[h] = incoming[h];
  return new Promise((resolve) => {
    const failed = (error) => resolve({ service: callee, error });
    const req = http.get(
      {
        host: proxy.hostname,
        port: proxy.port || 80,
        path: `http://${callee}${path}`,
        headers,
        agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('error', (e) => failed(e.message));
        res.on('end', () => {
          const why = res.headers['x-turnout-error'];
          if (res.statusCode < 200 || res.statusCode > 299)
            return failed(`HTTP ${res.statusCode}${why ? ` (${why})` : ''}`);
          try {
            resolve(JSON.parse(body));
          } catch {
            failed('the answer is not JSON');
          }
        });
      },
    );
    req.setTimeout(CALL_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer in ${CALL_TIMEOUT_MS} ms`)),
    );
    req.on('error', (e) => failed(e.message));
  });
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/healthz') return send(res, 200, { status: 'ok', service: name, version });
  if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
  const lane = laneOf(req.headers);
  if (shouldFail())
    return send(res, 500, { service: name, version, lane, error: 'injected fault' });
  const calls = proxy ? await Promise.all(callees.map((c) => call(c, req.url, req.headers))) : [];
  const failed = calls.some((c) => c.error !== undefined); // our answers carry no `error` field
  send(res, failed ? 502 : 200, { service: name, version, lane, calls });
});

server.listen(port, host, () => {
  const { port: bound } = server.address();
  console.log(`${name} ${version} listening on ${host}:${bound}`);
  if (callees.length > 0 && !proxy) console.log(`no http_proxy: calls to ${callees} are skipped`);
});

process.on('SIGTERM', () => {
  console.log(`${name} ${version}: SIGTERM, finishing in-flight requests`);
  server.close(() => process.exit(0)); // stops accepting; idle keep-alive sockets close at once
  setTimeout(() => {
    console.log(`${name} ${version}: requests still open after ${DRAIN_DEADLINE_MS} ms, exiting`);
    process.exit(1);
  }, DRAIN_DEADLINE_MS).unref();
});
