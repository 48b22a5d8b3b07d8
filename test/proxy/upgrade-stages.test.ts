// WebSocket upgrades go through the request's stages (issue 15): a handshake is balanced,
// recorded in the request metrics and retried by the one retry policy like any GET without a
// body — here a 503 to the first handshake is held back and the retry's 101 reaches the client.
// Real sockets on 127.0.0.1.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Upstream } from './harness.js';
import { send, startTestProxy, startUpstream, tempDir, writeSnapshot } from './harness.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c().catch(() => undefined)));
});

/** A WebSocket service that answers its first `refusals` handshakes 503, then 101 (echo). */
async function flakyWebSocket(refusals: number): Promise<Upstream & { handshakes: number }> {
  const up = Object.assign(await startUpstream('ws'), { handshakes: 0 });
  closers.push(() => up.close());
  up.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    up.handshakes++;
    if (up.handshakes <= refusals) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy');
      return;
    }
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.pipe(socket);
  });
  return up;
}

async function proxyFor(ws: Upstream) {
  const file = writeSnapshot(tempDir(), {
    version: 1,
    products: [
      { name: 'shop', hosts: ['shop.example.com'], entry: 'ws', dtab: '/svc/ws=>/v/ws/1' },
    ],
    modules: [{ name: 'ws', versions: [{ version: '1', endpoints: [{ address: ws.address }] }] }],
  });
  const proxy = await startTestProxy(file);
  closers.push(() => proxy.stop(200));
  return proxy;
}

/** Sends an upgrade on a raw socket; resolves with what was read once a head is complete. */
function upgrade(port: number): Promise<{ socket: Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    closers.push(async () => socket.destroy());
    let got = '';
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) resolve({ socket, head: got });
    });
    socket.on('close', () => resolve({ socket, head: got }));
    socket.write(
      'GET http://ws/chat HTTP/1.1\r\nHost: ws\r\nbaggage: turnout-product=shop\r\n' +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
}

describe('WebSocket upgrades through the request stages', () => {
  it('holds back a 503 to the handshake and retries it: the client gets the 101', async () => {
    const ws = await flakyWebSocket(1);
    const proxy = await proxyFor(ws);
    const { head } = await upgrade(proxy.outbound!.port);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(ws.handshakes).toBe(2);
    // Both attempts are in the request metrics, as a request's attempts are.
    const m = (await send(proxy.admin!.port, { path: '/metrics' })).body;
    expect(m).toMatch(/turnout_requests_total\{[^}]*module="ws"[^}]*class="5xx"\} 1\n/);
    expect(m).toMatch(/turnout_requests_total\{[^}]*module="ws"[^}]*class="1xx"\} 1\n/);
    expect(m).toMatch(/turnout_websocket_tunnels_open\{[^}]*module="ws"[^}]*\} 1\n/);
  }, 20_000);

  it('relays the 503 when every attempt the policy allows is refused', async () => {
    const ws = await flakyWebSocket(100);
    const proxy = await proxyFor(ws);
    const { head } = await upgrade(proxy.outbound!.port);
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    // The attempt limit (3 by default, src/proxy/main.ts): the last answer is relayed as it is.
    expect(ws.handshakes).toBe(3);
  }, 20_000);
});
