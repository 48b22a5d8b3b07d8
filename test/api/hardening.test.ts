// The API's input limits over real HTTP: bodies over the limit answer 413 naming it, a bad value
// is never echoed back whole or with raw control characters, a YAML body is refused as bad input,
// and each token holds a bounded number of /v1/stream and /v1/events streams (a closed stream
// frees its slot).

import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { API_BODY_LIMIT } from '../../src/api/server.js';
import { STREAMS_PER_TOKEN } from '../../src/api/stream-slots.js';
import type { Api, StartApiOptions } from './harness.js';
import { startApi, TOKENS } from './harness.js';

const apis: Api[] = [];
afterEach(async () => {
  for (const api of apis.splice(0)) await api.close();
});

async function serve(options: StartApiOptions = {}): Promise<Api> {
  const api = await startApi(options);
  apis.push(api);
  return api;
}

/** A raw request on its own connection, so the test knows which server socket is its. */
function rawPost(api: Api, path: string, body: string | Buffer, contentType: string) {
  return new Promise<{ status: number; json: unknown; text: string }>((resolve, reject) => {
    const req = httpRequest(`${api.url}${path}`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': contentType },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), text }));
    });
    req.end(body);
  });
}

describe('request bodies', () => {
  it('a body over the limit answers 413 payload_too_large, naming the limit', async () => {
    const api = await serve();
    const big = JSON.stringify({ name: 'acme', pad: 'x'.repeat(API_BODY_LIMIT) });
    const a = await rawPost(api, '/v1/orgs', big, 'application/json');
    expect(a.status).toBe(413);
    expect(a.json).toEqual({
      error: {
        code: 'payload_too_large',
        message: `the request body is larger than the limit of ${API_BODY_LIMIT} bytes (1 MiB)`,
      },
    });
    expect((await api.call('GET', '/v1/orgs')).body.items).toEqual([]);
  });

  it('a configured limit is the one enforced and named', async () => {
    const api = await serve({ bodyLimit: 2048 });
    const a = await rawPost(
      api,
      '/v1/orgs',
      JSON.stringify({ name: 'x'.repeat(3000) }),
      'application/json',
    );
    expect(a.status).toBe(413);
    expect(a.text).toContain('limit of 2048 bytes (2 KiB)');
  });

  it('a 900 KB name is quoted by a short prefix, not echoed back', async () => {
    const api = await serve();
    const name = `A${'b'.repeat(900_000)}`;
    const a = await api.call('POST', '/v1/orgs', { body: { name } });
    expect(a.status).toBe(400);
    expect(a.body.error.code).toBe('invalid_argument');
    expect(a.body.error.field).toBe('name');
    const message: string = a.body.error.message;
    expect(message.length).toBeLessThanOrEqual(512);
    expect(message).toContain(`"A${'b'.repeat(63)}…" (900001 characters)`);
    expect(JSON.stringify(a.body).length).toBeLessThan(1024);
  });

  it('control characters in a bad value come back escaped', async () => {
    const api = await serve();
    const a = await api.call('POST', '/v1/orgs', { body: { name: 'x\u001b[2Jy\u202e' } });
    expect(a.status).toBe(400);
    const message: string = a.body.error.message;
    const raw = [...message].filter((c) => c.charCodeAt(0) < 0x20 || c === '\u202e');
    expect(raw).toEqual([]);
    expect(message).toContain('"x\\x1b[2Jy\\u202e"');
  });

  it('any long message stays bounded (a 900 KB overlay that does not parse)', async () => {
    const api = await serve();
    await api.call('POST', '/v1/orgs', { body: { name: 'acme' } });
    await api.call('POST', '/v1/modules', {
      body: { name: 'web', org: 'acme', run: { process: { command: 'node' } } },
    });
    await api.call('POST', '/v1/products', {
      body: { name: 'shop', org: 'acme', entry: 'web', hosts: ['shop.example.com'] },
    });
    const overlay = `/svc/web => /x; ${'\u001b'.repeat(10)}${'?'.repeat(900_000)}`;
    const a = await api.call('POST', '/v1/products/shop/lanes', { body: { name: 'dev', overlay } });
    expect(a.status).toBe(400);
    expect(a.body.error.message.length).toBeLessThanOrEqual(512);
    expect(JSON.stringify(a.body).length).toBeLessThan(1024);
    expect(a.body.error.message).not.toContain('\u001b');
  });

  it('a YAML alias bomb to POST /v1/apply is bad input, not an internal error', async () => {
    const api = await serve();
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...'bcdefghi'.split('').map((k, i) => {
        const prev = 'abcdefghi'[i];
        return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]`;
      }),
    ].join('\n');
    for (const type of ['application/yaml', 'text/yaml', 'application/json']) {
      const a = await rawPost(api, '/v1/apply', bomb, type);
      expect(a.status, type).toBe(400);
      expect((a.json as { error: { code: string } }).error.code).toBe('bad_request');
    }
  });
});

// ---- streams per token ----------------------------------------------------------------------

interface OpenStream {
  status: number;
  /** The JSON error of a refused stream. */
  error: { code: string; message: string } | null;
  /** Closes the connection and resolves once the server has seen it close. */
  close(): Promise<void>;
}

/** The close of the server's side of each connection, by the client's port. */
function serverSockets(api: Api): Map<number, Promise<void>> {
  const sockets = new Map<number, Promise<void>>();
  api.app.server.on('connection', (s: Socket) => {
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    if (s.remotePort !== undefined) sockets.set(s.remotePort, closed);
  });
  return sockets;
}

function openStream(
  api: Api,
  sockets: Map<number, Promise<void>>,
  path: '/v1/stream' | '/v1/events',
  token: string,
): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${api.url}${path}`, {
      agent: false,
      headers: { authorization: `Bearer ${token}` },
    });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const local = req.socket?.localPort;
      const closed = local === undefined ? undefined : sockets.get(local);
      if (closed === undefined) return reject(new Error('no server socket for the stream'));
      const close = async () => {
        req.destroy();
        await closed;
      };
      if (res.statusCode === 200) {
        res.resume();
        resolve({ status: 200, error: null, close });
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, error: JSON.parse(text).error, close }),
      );
    });
    req.end();
  });
}

describe('streams per token', () => {
  it('the cap+1st stream of a token answers 503 too_many_streams; closing one frees its slot', async () => {
    const api = await serve({ streamsPerToken: 3 });
    const sockets = serverSockets(api);
    const open: OpenStream[] = [];
    try {
      // /v1/stream and /v1/events count together
      for (const path of ['/v1/stream', '/v1/events', '/v1/stream'] as const) {
        const s = await openStream(api, sockets, path, TOKENS.viewer);
        open.push(s);
        expect(s.status, path).toBe(200);
      }
      for (const path of ['/v1/events', '/v1/stream'] as const) {
        const refused = await openStream(api, sockets, path, TOKENS.viewer);
        await refused.close();
        expect(refused.status, path).toBe(503);
        expect(refused.error?.code).toBe('too_many_streams');
        expect(refused.error?.message).toContain('token vic');
        expect(refused.error?.message).toContain('(3)');
      }
      // another token has slots of its own
      const other = await openStream(api, sockets, '/v1/events', TOKENS.releaser);
      open.push(other);
      expect(other.status).toBe(200);

      await open.shift()?.close();
      const again = await openStream(api, sockets, '/v1/events', TOKENS.viewer);
      open.push(again);
      expect(again.status).toBe(200);
      const full = await openStream(api, sockets, '/v1/stream', TOKENS.viewer);
      await full.close();
      expect(full.status).toBe(503);
    } finally {
      for (const s of open) await s.close();
    }
  });

  it(`the default cap is ${STREAMS_PER_TOKEN} per token`, async () => {
    const api = await serve();
    const sockets = serverSockets(api);
    const open: OpenStream[] = [];
    try {
      for (let i = 0; i < STREAMS_PER_TOKEN; i++) {
        const s = await openStream(api, sockets, '/v1/stream', TOKENS.admin);
        open.push(s);
        expect(s.status).toBe(200);
      }
      const refused = await openStream(api, sockets, '/v1/stream', TOKENS.admin);
      await refused.close();
      expect(refused.status).toBe(503);
      expect(refused.error?.message).toContain(`token ada already has ${STREAMS_PER_TOKEN}`);
      await open.pop()?.close();
      const again = await openStream(api, sockets, '/v1/stream', TOKENS.admin);
      open.push(again);
      expect(again.status).toBe(200);
    } finally {
      for (const s of open) await s.close();
    }
  });

  it('a refused stream and a closed one leave no slot held', async () => {
    const api = await serve({ streamsPerToken: 1 });
    const sockets = serverSockets(api);
    for (let i = 0; i < 5; i++) {
      const s = await openStream(
        api,
        sockets,
        i % 2 === 0 ? '/v1/stream' : '/v1/events',
        TOKENS.admin,
      );
      expect(s.status).toBe(200);
      const refused = await openStream(api, sockets, '/v1/events', TOKENS.admin);
      await refused.close();
      expect(refused.status).toBe(503);
      await s.close();
    }
  });
});
