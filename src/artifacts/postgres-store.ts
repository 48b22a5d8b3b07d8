// The Postgres back-end of the artifact store, so control-plane replicas share artifacts: an
// artifact is its index row (artifacts) plus its bytes in fixed-size chunks (artifact_chunks,
// migration 0008), written in one transaction as the upload streams in (one chunk in memory at a
// time) and read back chunk by chunk. A cut-off upload, or a server killed mid-upload, rolls the
// transaction back: nothing of it stays. Uses its own small pool, so a long upload holds none of
// the store's connections.

import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Database } from '../store/db.js';
import { createPostgresKysely } from '../store/postgres.js';
import type { ArtifactMeta, ArtifactStore, ByteRange } from './artifact-store.js';
import { checkSha256, SHA256_PATTERN, UploadCheck } from './verify.js';

/** Bytes per chunk row: big enough that a 512 MiB artifact is 2,048 rows, small in memory. */
export const CHUNK_BYTES = 256 * 1024;

const UNIQUE_VIOLATION = '23505';

type Row = { sha256: string; size: string | number; created_at: string };
const metaOf = (r: Row): ArtifactMeta => ({
  sha256: r.sha256,
  size: Number(r.size),
  createdAt: r.created_at,
});

export class PostgresArtifactStore implements ArtifactStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Its own pool on the store's database (the tables come with the store's migrations). `field`:
   * what named the URL, for the error a failed connection throws.
   */
  static async open(
    url: string,
    { maxConnections = 4, field }: { maxConnections?: number; field?: string } = {},
  ): Promise<PostgresArtifactStore> {
    return new PostgresArtifactStore(
      await createPostgresKysely(url, {
        maxConnections,
        ...(field === undefined ? {} : { field }),
      }),
    );
  }

  async put(expected: string, body: Readable, o: { maxBytes: number }): Promise<ArtifactMeta> {
    checkSha256(expected);
    const check = new UploadCheck(expected, o.maxBytes);
    try {
      return await this.db.transaction().execute(async (trx) => {
        let seq = 0;
        const pending = new ChunkBuffer(CHUNK_BYTES);
        const write = async (data: Buffer) => {
          await trx
            .insertInto('artifact_chunks')
            .values({ sha256: expected, seq: seq++, data })
            .execute();
        };
        // Not destroyed when a check throws: the API still answers the client over its connection.
        for await (const chunk of body.iterator({ destroyOnReturn: false })) {
          check.add(chunk as Buffer);
          for (const full of pending.add(chunk as Buffer)) await write(full);
        }
        const rest = pending.rest();
        if (rest !== null) await write(rest);
        const size = check.finish();
        const row = { sha256: expected, size, chunks: seq, created_at: this.now().toISOString() };
        await trx.insertInto('artifacts').values(row).execute();
        return metaOf(row);
      });
    } catch (error) {
      // Another upload of the same artifact committed first: its bytes are the same ones.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        const existing = await this.head(expected);
        if (existing !== null) return existing;
      }
      throw error;
    }
  }

  async head(sha256: string): Promise<ArtifactMeta | null> {
    if (!SHA256_PATTERN.test(sha256)) return null;
    const row = await this.db
      .selectFrom('artifacts')
      .select(['sha256', 'size', 'created_at'])
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return row === undefined ? null : metaOf(row);
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable | null> {
    const meta = await this.head(sha256);
    if (meta === null) return null;
    const start = range?.start ?? 0;
    const end = range?.end ?? meta.size - 1;
    if (end < start) return Readable.from([]);
    return Readable.from(this.#chunks(sha256, start, end));
  }

  /** The chunks covering [start, end], one query (and one chunk in memory) at a time. */
  async *#chunks(sha256: string, start: number, end: number): AsyncGenerator<Buffer> {
    const last = Math.floor(end / CHUNK_BYTES);
    for (let seq = Math.floor(start / CHUNK_BYTES); seq <= last; seq++) {
      const row = await this.db
        .selectFrom('artifact_chunks')
        .select('data')
        .where('sha256', '=', sha256)
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (row === undefined) throw new Error(`artifact ${sha256} was deleted while being read`);
      const data = Buffer.from(row.data);
      const base = seq * CHUNK_BYTES;
      yield data.subarray(Math.max(0, start - base), Math.min(data.length, end - base + 1));
    }
  }

  async delete(sha256: string): Promise<boolean> {
    if (!SHA256_PATTERN.test(sha256)) return false;
    return this.db.transaction().execute(async (trx) => {
      const gone = await trx
        .deleteFrom('artifacts')
        .where('sha256', '=', sha256)
        .executeTakeFirst();
      await trx.deleteFrom('artifact_chunks').where('sha256', '=', sha256).execute();
      return Number(gone.numDeletedRows) > 0;
    });
  }

  async list(): Promise<ArtifactMeta[]> {
    const rows = await this.db
      .selectFrom('artifacts')
      .select(['sha256', 'size', 'created_at'])
      .orderBy('sha256')
      .execute();
    return rows.map(metaOf);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/** Cuts a stream of any-sized pieces into fixed-size chunks, holding less than one chunk. */
export class ChunkBuffer {
  #parts: Buffer[] = [];
  #length = 0;

  constructor(readonly chunkBytes: number) {}

  /** The full chunks this piece completes (usually none or one). */
  add(piece: Buffer): Buffer[] {
    this.#parts.push(piece);
    this.#length += piece.length;
    const full: Buffer[] = [];
    if (this.#length < this.chunkBytes) return full;
    let all = Buffer.concat(this.#parts, this.#length);
    while (all.length >= this.chunkBytes) {
      full.push(all.subarray(0, this.chunkBytes));
      all = all.subarray(this.chunkBytes);
    }
    this.#parts = all.length === 0 ? [] : [all];
    this.#length = all.length;
    return full;
  }

  /** What is left at the end (a short last chunk), or null. */
  rest(): Buffer | null {
    if (this.#length === 0) return null;
    return Buffer.concat(this.#parts, this.#length);
  }
}
