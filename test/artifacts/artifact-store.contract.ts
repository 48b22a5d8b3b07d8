// The artifact store contract: what both back-ends (data dir, Postgres) must do, run against each
// by dir-store.test.ts and postgres-store.test.ts. Bodies are real streams; an "interrupted"
// upload is a stream that fails part-way, as a request body does when its client goes away.

import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/artifact-store.js';
import { expectError } from '../store/fixtures.js';

export interface ArtifactTarget {
  readonly store: ArtifactStore;
  /** Bytes of uploads that did not commit still held anywhere (temp files, orphan chunks). */
  leftovers(): Promise<number>;
  /** Opens the back-end again on the same storage (after a crash, say). */
  reopen(): Promise<ArtifactStore>;
  dispose(): Promise<void>;
}

const MAX = 4 * 1024 * 1024;

export const sha256Of = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** `bytes` in pieces of `piece` bytes, the way a socket delivers a body. */
export function pieces(bytes: Buffer, piece = 16 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += piece) parts.push(bytes.subarray(i, i + piece));
  return Readable.from(parts, { objectMode: false });
}

/** The first `cut` bytes of `bytes`, then the stream fails as an aborted request body does. */
export function cutOff(bytes: Buffer, cut: number): Readable {
  async function* gen() {
    yield bytes.subarray(0, cut);
    await new Promise((r) => setImmediate(r));
    const error = new Error('aborted') as NodeJS.ErrnoException;
    error.code = 'ECONNRESET';
    throw error;
  }
  return Readable.from(gen(), { objectMode: false });
}

export function describeArtifactStore(name: string, open: () => Promise<ArtifactTarget>): void {
  describe(`artifact store contract (${name})`, () => {
    let t: ArtifactTarget;
    beforeEach(async () => {
      t = await open();
    });
    afterEach(async () => {
      await t.dispose();
    });

    // 600 KiB: more than two of Postgres's 256 KiB chunks, so ranges cross chunk boundaries.
    const bytes = randomBytes(600 * 1024);
    const sha = sha256Of(bytes);

    it('stores an upload whole under its sha256: head, read, list', async () => {
      const meta = await t.store.put(sha, pieces(bytes), { maxBytes: MAX });
      expect(meta).toMatchObject({ sha256: sha, size: bytes.length });
      expect(new Date(meta.createdAt).toISOString()).toBe(meta.createdAt);
      expect(await t.store.head(sha)).toEqual(meta);
      const back = await buffer((await t.store.read(sha)) as Readable);
      expect(back.equals(bytes)).toBe(true);
      expect(await t.store.list()).toEqual([meta]);
      expect(await t.leftovers()).toBe(0);
    });

    it('reads byte ranges, across chunk boundaries and at both ends', async () => {
      await t.store.put(sha, pieces(bytes), { maxBytes: MAX });
      const k = 256 * 1024;
      for (const [start, end] of [
        [0, 0],
        [0, 9],
        [k - 3, k + 2],
        [k, 2 * k - 1],
        [10, bytes.length - 1],
        [bytes.length - 1, bytes.length - 1],
        [k - 1, 2 * k + 5],
      ] as const) {
        const part = await buffer((await t.store.read(sha, { start, end })) as Readable);
        expect(part.equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
    });

    it('putting one it has again answers the stored one; two at once store it once', async () => {
      const first = await t.store.put(sha, pieces(bytes), { maxBytes: MAX });
      expect(await t.store.put(sha, pieces(bytes), { maxBytes: MAX })).toEqual(first);
      const other = randomBytes(300 * 1024);
      const otherSha = sha256Of(other);
      const [a, b] = await Promise.all([
        t.store.put(otherSha, pieces(other), { maxBytes: MAX }),
        t.store.put(otherSha, pieces(other), { maxBytes: MAX }),
      ]);
      expect(a.sha256).toBe(otherSha);
      expect(b.sha256).toBe(otherSha);
      expect((await t.store.list()).map((m) => m.sha256).sort()).toEqual([sha, otherSha].sort());
      const back = await buffer((await t.store.read(otherSha)) as Readable);
      expect(back.equals(other)).toBe(true);
      expect(await t.leftovers()).toBe(0);
    });

    it('refuses a body whose sha256 is not the expected one, naming both, and keeps nothing', async () => {
      const wrong = Buffer.concat([bytes.subarray(0, 1000), Buffer.from('x')]);
      const e = await expectError(
        t.store.put(sha, pieces(wrong), { maxBytes: MAX }),
        'bad_request',
        'sha256',
      );
      expect(e.message).toContain(sha);
      expect(e.message).toContain(sha256Of(wrong));
      expect(await t.store.head(sha)).toBeNull();
      expect(await t.store.list()).toEqual([]);
      expect(await t.leftovers()).toBe(0);
    });

    it('refuses a body over maxBytes as soon as it passes the limit, naming it, and keeps nothing', async () => {
      const limit = 100 * 1024;
      await expectError(
        t.store.put(sha, pieces(bytes), { maxBytes: limit }),
        'payload_too_large',
        undefined,
        /102400 bytes \(100 KiB/,
      );
      expect(await t.store.head(sha)).toBeNull();
      expect(await t.leftovers()).toBe(0);
    });

    it('an upload cut off part-way (its client went away) leaves nothing', async () => {
      const error = await t.store.put(sha, cutOff(bytes, 300 * 1024), { maxBytes: MAX }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toBe('aborted');
      expect(await t.store.head(sha)).toBeNull();
      expect(await t.store.list()).toEqual([]);
      expect(await t.leftovers()).toBe(0);
      // and the same artifact can be uploaded afterwards
      expect((await t.store.put(sha, pieces(bytes), { maxBytes: MAX })).size).toBe(bytes.length);
    });

    it('an empty artifact is an artifact', async () => {
      const empty = Buffer.alloc(0);
      const meta = await t.store.put(sha256Of(empty), pieces(empty), { maxBytes: MAX });
      expect(meta.size).toBe(0);
      expect((await buffer((await t.store.read(meta.sha256)) as Readable)).length).toBe(0);
    });

    it('answers null for one it lacks; deletes once; refuses a malformed sha256', async () => {
      const absent = sha256Of(Buffer.from('absent'));
      expect(await t.store.head(absent)).toBeNull();
      expect(await t.store.read(absent)).toBeNull();
      expect(await t.store.delete(absent)).toBe(false);
      await t.store.put(sha, pieces(bytes), { maxBytes: MAX });
      expect(await t.store.delete(sha)).toBe(true);
      expect(await t.store.delete(sha)).toBe(false);
      expect(await t.store.head(sha)).toBeNull();
      expect(await t.store.read(sha)).toBeNull();
      expect(await t.store.list()).toEqual([]);
      await expectError(
        t.store.put('../../etc/passwd', pieces(bytes), { maxBytes: MAX }),
        'invalid_argument',
        'sha256',
      );
      expect(await t.store.head('../x')).toBeNull();
    });

    it('keeps what it stored across a reopen', async () => {
      const meta = await t.store.put(sha, pieces(bytes), { maxBytes: MAX });
      const again = await t.reopen();
      try {
        expect(await again.head(sha)).toEqual(meta);
        expect((await buffer((await again.read(sha)) as Readable)).equals(bytes)).toBe(true);
      } finally {
        await again.close();
      }
    });
  });
}
