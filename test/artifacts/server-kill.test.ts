// `kill -9` of a real `turnout server` in the middle of an upload (a slow client streaming an
// artifact) leaves no partial artifact: on the data-dir back-end the crash leaves a temp file,
// which the restarted server removes before it serves; on Postgres the upload's transaction dies
// with the connection. Either way the artifact is absent after the restart and can be pushed again.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { withTestPostgres } from '../support/postgres.js';
import type { RunningServer } from '../support/turnout-server.js';
import { startServer } from '../support/turnout-server.js';
import { freePort } from '../support/turnout-up.js';
import { waitFor } from '../support/wait.js';
import { sha256Of } from './artifact-store.contract.js';
import { dirLeftovers, orphanChunkBytes } from './leftovers.js';

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-art-kill-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SIZE = 2 * 1024 * 1024;

/** Starts a PUT of `bytes` and sends only the first half: a slow client, still uploading. */
async function slowUpload(url: string, token: string, sha: string, bytes: Buffer): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {}); // the server is about to die under it
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `PUT /v1/artifacts/${sha} HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/gzip\r\ncontent-length: ${bytes.length}\r\n\r\n`,
  );
  socket.write(bytes.subarray(0, bytes.length / 2));
  return socket;
}

async function killHard(server: RunningServer): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await exited;
}

async function artifactStatus(url: string, token: string, sha: string): Promise<number> {
  const res = await request(`${url}/v1/artifacts/${sha}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${token}` },
  });
  await res.body.dump();
  return res.statusCode;
}

async function pushWhole(url: string, token: string, sha: string, bytes: Buffer): Promise<number> {
  const res = await request(`${url}/v1/artifacts/${sha}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
    body: bytes,
  });
  await res.body.dump();
  return res.statusCode;
}

describe('kill -9 of turnout server mid-upload (data dir)', () => {
  it('leaves no partial artifact after the restart', async () => {
    const data = join(dir, 'sqlite');
    const listen = `127.0.0.1:${await freePort()}`;
    const bytes = randomBytes(SIZE);
    const sha = sha256Of(bytes);
    const first = await startServer(['--data', data, '--listen', listen]);
    const token = readFileSync(join(data, 'admin-token'), 'utf8').trim();
    const shard = join(data, 'artifacts', sha.slice(0, 2));
    let socket: Socket | undefined;
    try {
      socket = await slowUpload(first.url, token, sha, bytes);
      // The event: the server is writing the upload to its temp file.
      await waitFor(
        'the upload to reach a temp file',
        () => dirLeftovers(join(data, 'artifacts')) > 1,
      );
      await killHard(first);
    } finally {
      socket?.destroy();
      await first.stop();
    }
    // The crash left part of the upload on disk, under a temp name only.
    expect(readdirSync(shard).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
    expect(readdirSync(shard)).not.toContain(sha);

    const second = await startServer(['--data', data, '--listen', listen]);
    try {
      expect(dirLeftovers(join(data, 'artifacts'))).toBe(0);
      expect(await artifactStatus(second.url, token, sha)).toBe(404);
      expect(await pushWhole(second.url, token, sha, bytes)).toBe(201);
      expect(await artifactStatus(second.url, token, sha)).toBe(200);
    } finally {
      expect((await second.stop()).code).toBe(0);
    }
  });
});

withTestPostgres('kill -9 of turnout server mid-upload (postgres)', (pgTest) => {
  it('leaves no partial artifact after the restart', async () => {
    const db = await pgTest.createDatabase('turnout_art_kill');
    const data = join(dir, 'postgres');
    const listen = `127.0.0.1:${await freePort()}`;
    const bytes = randomBytes(SIZE);
    const sha = sha256Of(bytes);
    const args = ['--data', data, '--listen', listen, '--store', db.url];
    const first = await startServer(args);
    const token = readFileSync(join(data, 'admin-token'), 'utf8').trim();
    const watch = new pg.Pool({ connectionString: db.url, max: 1 });
    let socket: Socket | undefined;
    try {
      socket = await slowUpload(first.url, token, sha, bytes);
      // The event: a server connection holds the upload's open transaction, chunks written.
      await waitFor('the upload to be inside its transaction', async () => {
        const { rows } = await watch.query(
          `select count(*)::int as n from pg_stat_activity
           where datname = current_database() and state = 'idle in transaction'
             and query like 'insert into "artifact_chunks"%'`,
        );
        return (rows[0] as { n: number }).n > 0;
      });
      await killHard(first);
    } finally {
      socket?.destroy();
      await first.stop();
      await watch.end();
    }
    const second = await startServer(args);
    try {
      expect(await artifactStatus(second.url, token, sha)).toBe(404);
      expect(await orphanChunkBytes(db.url)).toBe(0);
      expect(await pushWhole(second.url, token, sha, bytes)).toBe(201);
      expect(await artifactStatus(second.url, token, sha)).toBe(200);
    } finally {
      expect((await second.stop()).code).toBe(0);
      await db.drop();
    }
  });
});
