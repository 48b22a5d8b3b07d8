// /v1/artifacts over real HTTP against a store with its artifact store (data dir with SQLite,
// Postgres with Postgres): upload, idempotence, head, ranges, roles, the size cap, a client that
// goes away mid-upload, and versions naming artifacts. Run by artifacts-sqlite.test.ts and
// artifacts-postgres.test.ts.

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/server.js';
import type { ArtifactMeta, ArtifactStore } from '../../src/artifacts/artifact-store.js';
import type { Store } from '../../src/store/store.js';
import { pieces, sha256Of } from '../artifacts/artifact-store.contract.js';
import { TEST_AUTH, TOKENS } from './harness.js';

export interface ArtifactsBackend {
  store: Store;
  artifacts: ArtifactStore;
  /** Bytes of uploads that did not commit still held anywhere. */
  leftovers(): Promise<number>;
  dispose(): Promise<void>;
}

/** Watches the uploads the API hands the artifact store: how far each got, how each ended. */
class WatchedArtifacts implements ArtifactStore {
  readonly puts: Promise<ArtifactMeta>[] = [];
  #onBytes: { at: number; resolve: () => void } | null = null;

  constructor(private readonly inner: ArtifactStore) {}

  /** Resolves once an upload has passed `n` bytes to the back-end. */
  bytesPassed(n: number): Promise<void> {
    return new Promise((resolve) => {
      this.#onBytes = { at: n, resolve };
    });
  }

  put(expected: string, body: Readable, o: { maxBytes: number }): Promise<ArtifactMeta> {
    let passed = 0;
    const counted = new PassThrough();
    body.on('data', (b: Buffer) => {
      passed += b.length;
      const w = this.#onBytes;
      if (w !== null && passed >= w.at) {
        this.#onBytes = null;
        w.resolve();
      }
    });
    // As stream.pipeline would: the request's error (its client went away) reaches the store.
    body.on('error', (e) => counted.destroy(e));
    body.pipe(counted);
    const p = this.inner.put(expected, counted, o);
    this.puts.push(p);
    return p;
  }
  head(sha256: string) {
    return this.inner.head(sha256);
  }
  read(sha256: string, range?: { start: number; end: number }) {
    return this.inner.read(sha256, range);
  }
  delete(sha256: string) {
    return this.inner.delete(sha256);
  }
  list() {
    return this.inner.list();
  }
  close() {
    return this.inner.close();
  }
}

const MAX = 2 * 1024 * 1024;

export function describeArtifactsApi(name: string, open: () => Promise<ArtifactsBackend>): void {
  describe(`/v1/artifacts (${name})`, () => {
    let backend: ArtifactsBackend;
    let watched: WatchedArtifacts;
    let app: FastifyInstance;
    let url: string;

    beforeEach(async () => {
      backend = await open();
      watched = new WatchedArtifacts(backend.artifacts);
      app = await createApiServer({
        store: backend.store,
        auth: TEST_AUTH,
        artifacts: watched,
        maxArtifactBytes: MAX,
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      url = `http://127.0.0.1:${address.port}`;
    });
    afterEach(async () => {
      await app.close();
      await backend.dispose();
    });

    const auth = (as: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[as]}` });
    const put = async (
      sha: string,
      body: Buffer | Readable,
      as: keyof typeof TOKENS = 'releaser',
    ) => {
      const res = await request(`${url}/v1/artifacts/${sha}`, {
        method: 'PUT',
        headers: { ...auth(as), 'content-type': 'application/gzip' },
        body,
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers,
        body: text === '' ? undefined : JSON.parse(text),
      };
    };
    const get = async (
      path: string,
      headers: Record<string, string> = {},
      as: keyof typeof TOKENS = 'viewer',
      method: 'GET' | 'HEAD' = 'GET',
    ) => {
      const res = await request(`${url}${path}`, { method, headers: { ...auth(as), ...headers } });
      return {
        status: res.statusCode,
        headers: res.headers,
        bytes: Buffer.from(await res.body.arrayBuffer()),
      };
    };
    const json = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const res = await request(`${url}${path}`, {
        method,
        headers: {
          ...auth('admin'),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
      return { status: res.statusCode, body: (await res.body.json()) as any };
    };

    const bytes = randomBytes(300 * 1024);
    const sha = sha256Of(bytes);

    it('uploads (201, then 200 for the same again), heads, downloads whole and by range', async () => {
      const first = await put(sha, pieces(bytes));
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ sha256: sha, size: bytes.length });
      const again = await put(sha, bytes);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);

      const head = await get(`/v1/artifacts/${sha}`, {}, 'viewer', 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe(String(bytes.length));
      expect(head.bytes.length).toBe(0);

      const whole = await get(`/v1/artifacts/${sha}`);
      expect(whole.status).toBe(200);
      expect(whole.headers['content-type']).toBe('application/gzip');
      expect(whole.headers['accept-ranges']).toBe('bytes');
      expect(whole.bytes.equals(bytes)).toBe(true);

      const part = await get(`/v1/artifacts/${sha}`, { range: 'bytes=1000-2999' });
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes 1000-2999/${bytes.length}`);
      expect(part.bytes.equals(bytes.subarray(1000, 3000))).toBe(true);
      const tail = await get(`/v1/artifacts/${sha}`, { range: 'bytes=-10' });
      expect(tail.status).toBe(206);
      expect(tail.bytes.equals(bytes.subarray(bytes.length - 10))).toBe(true);
      const from = await get(`/v1/artifacts/${sha}`, { range: `bytes=${bytes.length - 5}-` });
      expect(from.bytes.equals(bytes.subarray(bytes.length - 5))).toBe(true);

      for (const range of [`bytes=${bytes.length}-`, 'bytes=5-1', 'bytes=0-1,4-5', 'items=0-1']) {
        const bad = await get(`/v1/artifacts/${sha}`, { range });
        expect(bad.status, range).toBe(416);
        expect(bad.headers['content-range']).toBe(`bytes */${bytes.length}`);
        expect(JSON.parse(bad.bytes.toString()).error).toMatchObject({
          code: 'range_not_satisfiable',
          field: 'range',
        });
      }
      const audit = await json('GET', '/v1/audit?limit=100');
      const creates = audit.body.items.filter(
        (a: { action: string }) => a.action === 'artifact.create',
      );
      expect(creates.map((a: { target: string; actor: string }) => [a.target, a.actor])).toEqual([
        [`artifact/${sha}`, 'rey'],
      ]);
    });

    it('answers 404 for an artifact it lacks, and refuses a malformed sha256 naming it', async () => {
      const absent = sha256Of(Buffer.from('nothing'));
      expect((await get(`/v1/artifacts/${absent}`)).status).toBe(404);
      expect((await get(`/v1/artifacts/${absent}`, {}, 'viewer', 'HEAD')).status).toBe(404);
      const bad = await put('ABC', bytes);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'invalid_argument', field: 'sha256' });
    });

    it('agents may download and head but not upload; viewers may not upload; no token is 401', async () => {
      expect((await put(sha, bytes, 'viewer')).status).toBe(403);
      expect((await put(sha, bytes, 'agent')).status).toBe(403);
      expect((await put(sha, bytes, 'releaser')).status).toBe(201);
      expect((await get(`/v1/artifacts/${sha}`, {}, 'agent')).bytes.equals(bytes)).toBe(true);
      expect((await get(`/v1/artifacts/${sha}`, {}, 'agent', 'HEAD')).status).toBe(200);
      expect((await get('/v1/artifacts', {}, 'agent')).status).toBe(403);
      const anonymous = await request(`${url}/v1/artifacts/${sha}`);
      await anonymous.body.dump();
      expect(anonymous.statusCode).toBe(401);
    });

    it('refuses a body whose sha256 differs, naming expected and actual, and stores nothing', async () => {
      const other = randomBytes(1000);
      const res = await put(sha, other);
      expect(res.status).toBe(400);
      expect(res.body.error.field).toBe('sha256');
      expect(res.body.error.message).toContain(sha256Of(other));
      expect(await backend.artifacts.head(sha)).toBeNull();
      expect(await backend.leftovers()).toBe(0);
    });

    it('refuses an upload over --max-artifact-bytes with 413 naming the limit, declared or streamed', async () => {
      const big = randomBytes(MAX + 1);
      const bigSha = sha256Of(big);
      const declared = await put(bigSha, big);
      expect(declared.status).toBe(413);
      expect(declared.body.error.code).toBe('payload_too_large');
      expect(declared.body.error.message).toContain(`${MAX} bytes (2 MiB`);
      // chunked: no content-length, so the store finds out as the bytes pass
      const streamed = await put(bigSha, pieces(big, 64 * 1024));
      expect(streamed.status).toBe(413);
      expect(streamed.body.error.code).toBe('payload_too_large');
      expect(await backend.artifacts.head(bigSha)).toBeNull();
      expect(await backend.leftovers()).toBe(0);
      // the connection's next request still works
      expect((await put(sha, bytes)).status).toBe(201);
    });

    it('closes the connection after refusing a body it did not read (declared over the cap)', async () => {
      // A raw client that sends a little of a body declared far over the cap and then waits, as a
      // client that does not stop on an early answer does: it gets the 413 and the server closes
      // the connection (the event itself; without the close it would wait on the socket).
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      let answer = '';
      socket.on('data', (b: Buffer) => {
        answer += b.toString('latin1');
      });
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => {}); // a reset after the close is the server's choice too
      socket.write(
        `PUT /v1/artifacts/${sha} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKENS.releaser}\r\ncontent-type: application/gzip\r\ncontent-length: ${100 * MAX}\r\n\r\n`,
      );
      socket.write(randomBytes(64 * 1024));
      await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer.toLowerCase()).toContain('connection: close');
      expect(await backend.artifacts.head(sha)).toBeNull();
      expect(await backend.leftovers()).toBe(0);
    });

    it('a client that goes away mid-upload leaves nothing behind', async () => {
      const big = randomBytes(1024 * 1024);
      const bigSha = sha256Of(big);
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const half = watched.bytesPassed(400 * 1024);
      socket.write(
        `PUT /v1/artifacts/${bigSha} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKENS.releaser}\r\ncontent-type: application/gzip\r\ncontent-length: ${big.length}\r\n\r\n`,
      );
      socket.write(big.subarray(0, 512 * 1024));
      await half; // the server is streaming it into the store
      socket.destroy();
      const outcome = await (watched.puts[0] as Promise<ArtifactMeta>).then(
        () => 'stored',
        () => 'failed',
      );
      expect(outcome).toBe('failed');
      expect(await backend.artifacts.head(bigSha)).toBeNull();
      expect(await backend.artifacts.list()).toEqual([]);
      expect(await backend.leftovers()).toBe(0);
    });

    it('a version names an artifact it has: absent or a wrong size is refused naming the field; immutable', async () => {
      const proc = { process: { command: 'node' } };
      expect((await json('POST', '/v1/orgs', { name: 'acme' })).status).toBe(201);
      expect(
        (await json('POST', '/v1/modules', { name: 'web', org: 'acme', run: proc })).status,
      ).toBe(201);
      const missing = await json('POST', '/v1/modules/web/versions', {
        version: '2.0.0',
        artifact: { sha256: sha, size: bytes.length },
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error.field).toBe('artifact.sha256');
      expect(missing.body.error.message).toContain('push it first');
      const malformed = await json('POST', '/v1/modules/web/versions', {
        version: '2.0.0',
        artifact: { sha256: 'nope', size: 1 },
      });
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.field).toBe('artifact.sha256');

      expect((await put(sha, bytes)).status).toBe(201);
      const wrongSize = await json('POST', '/v1/modules/web/versions', {
        version: '2.0.0',
        artifact: { sha256: sha, size: 5 },
      });
      expect(wrongSize.status).toBe(400);
      expect(wrongSize.body.error.field).toBe('artifact.size');
      expect((await json('GET', '/v1/modules/web/versions/2.0.0')).status).toBe(404);

      const made = await json('POST', '/v1/modules/web/versions', {
        version: '2.0.0',
        artifact: { sha256: sha, size: bytes.length },
      });
      expect(made.status).toBe(201);
      expect(made.body.artifact).toEqual({ sha256: sha, size: bytes.length });
      const same = await json('POST', '/v1/modules/web/versions', {
        version: '2.0.0',
        artifact: { sha256: sha, size: bytes.length },
      });
      expect(same.status).toBe(201);
      const other = sha256Of(Buffer.from('other'));
      const changed = await json('POST', '/v1/modules/web/versions', {
        version: '2.0.0',
        artifact: { url: 'https://builds.example.com/web.tgz', sha256: other },
      });
      expect(changed.status).toBe(409);
      expect(changed.body.error.field).toBe('artifact');
      // one fetched from a url is the agents' to check
      const fetched = await json('POST', '/v1/modules/web/versions', {
        version: '3.0.0',
        artifact: { url: 'https://builds.example.com/web.tgz', sha256: other },
      });
      expect(fetched.status).toBe(201);
      expect(fetched.body.artifact).toEqual({
        url: 'https://builds.example.com/web.tgz',
        sha256: other,
        size: null,
      });
      const ftp = await json('POST', '/v1/modules/web/versions', {
        version: '4.0.0',
        artifact: { url: 'ftp://builds.example.com/web.tgz', sha256: other },
      });
      expect(ftp.status).toBe(400);
      expect(ftp.body.error.field).toBe('artifact.url');

      const list = await json('GET', '/v1/artifacts');
      expect(list.body.artifacts).toEqual([
        expect.objectContaining({
          sha256: sha,
          size: bytes.length,
          versions: [{ module: 'web', version: '2.0.0' }],
        }),
      ]);
    });
  });
}
