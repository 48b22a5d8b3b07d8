// Downloading an artifact (src/agent/artifact-download.ts) from a real HTTP server on 127.0.0.1:
// verified when the bytes hash to the expected sha256; refused — naming the artifact, the expected
// and actual hash, and the host — when they do not; refused as truncated when the server closes
// mid-body. A refused download leaves no file.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadArtifact } from '../../src/agent/artifact-download.js';
import { sha256Of } from './tarballs.js';

const BODY = Buffer.alloc(300_000, 7);
const SHA = sha256Of(BODY);
let server: Server;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-download-'));
  server = createServer((req, res) => {
    if (req.url === '/whole') {
      res.writeHead(200, { 'content-length': BODY.length });
      res.end(BODY);
    } else if (req.url === '/truncated') {
      res.writeHead(200, { 'content-length': BODY.length });
      // Half the body, then the connection goes.
      res.write(BODY.subarray(0, 100_000), () => res.socket?.destroy());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const request = (path: string, sha256: string) => ({
  url: `${base}${path}`,
  headers: {},
  sha256,
  size: BODY.length,
  maxBytes: 10 * 1024 * 1024,
  host: 'h7',
});

describe('downloading an artifact', () => {
  it('writes the verified bytes, reporting progress', async () => {
    const file = join(dir, 'ok.tgz');
    const seen: number[] = [];
    const bytes = await downloadArtifact(
      { ...request('/whole', SHA), onProgress: (n) => seen.push(n), progressEveryBytes: 65_536 },
      file,
    );
    expect(bytes).toBe(BODY.length);
    expect(readFileSync(file).equals(BODY)).toBe(true);
    expect(seen.at(-1)).toBe(BODY.length);
    expect(seen.length).toBeGreaterThan(1);
  });

  it('refuses a sha256 mismatch naming artifact, expected and actual hash, and host; no file', async () => {
    const expected = 'a'.repeat(64);
    const file = join(dir, 'mismatch.tgz');
    await expect(downloadArtifact(request('/whole', expected), file)).rejects.toThrow(
      `artifact ${expected} on host h7 from ${base}/whole: sha256 mismatch, expected ${expected}, got ${SHA} (300000 bytes)`,
    );
    expect(existsSync(file)).toBe(false);
  });

  it('refuses a body cut off mid-way as truncated; no file', async () => {
    const file = join(dir, 'truncated.tgz');
    await expect(downloadArtifact(request('/truncated', SHA), file)).rejects.toThrow(
      new RegExp(
        `artifact ${SHA} on host h7 from .*/truncated: truncated, \\d+ of 300000 bytes arrived.*expected sha256 ${SHA}, nothing verified`,
      ),
    );
    expect(existsSync(file)).toBe(false);
  });

  it('refuses an HTTP error naming the status; no file', async () => {
    const file = join(dir, 'missing.tgz');
    await expect(downloadArtifact(request('/missing', SHA), file)).rejects.toThrow(
      /answered HTTP 404/,
    );
    expect(existsSync(file)).toBe(false);
  });
});
