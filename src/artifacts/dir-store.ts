// The data-dir back-end of the artifact store: `<root>/<aa>/<sha256>`, aa its first two hex digits
// (so no directory grows huge). An upload goes to a temp file in the same directory, is fsynced,
// checked and only then renamed to its name, so a reader or a crash never sees part of one; temp
// files a crash left are removed at open. One server owns a data dir (it is locked), so no other
// writer's temp file is in flight when they are removed.

import { randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArtifactMeta, ArtifactStore, ByteRange } from './artifact-store.js';
import { checkSha256, SHA256_PATTERN, UploadCheck } from './verify.js';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const TEMP = /^\.[0-9a-f]{64}\.[0-9a-f-]+\.tmp$/;
const SHARD = /^[0-9a-f]{2}$/;

export class DirArtifactStore implements ArtifactStore {
  private constructor(readonly root: string) {}

  /** Creates the directory if needed and removes the temp files of uploads a crash cut off. */
  static async open(root: string): Promise<DirArtifactStore> {
    await mkdir(root, { recursive: true, mode: DIR_MODE });
    for (const shard of await shards(root)) {
      for (const name of await readdir(join(root, shard))) {
        if (TEMP.test(name)) await rm(join(root, shard, name), { force: true });
      }
    }
    return new DirArtifactStore(root);
  }

  #path(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  async put(expected: string, body: Readable, o: { maxBytes: number }): Promise<ArtifactMeta> {
    checkSha256(expected);
    const check = new UploadCheck(expected, o.maxBytes);
    const dir = join(this.root, expected.slice(0, 2));
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const temp = join(dir, `.${expected}.${randomUUID()}.tmp`);
    const file = await open(temp, 'wx', FILE_MODE);
    let closed = false;
    try {
      // Not destroyed when a check throws: the API still answers the client over its connection.
      for await (const chunk of body.iterator({ destroyOnReturn: false })) {
        check.add(chunk as Buffer);
        await writeAll(file, chunk as Buffer);
      }
      check.finish();
      await file.sync();
      await file.close();
      closed = true;
      const existing = await this.head(expected);
      if (existing !== null) {
        await rm(temp, { force: true });
        return existing;
      }
      await renameDurably(temp, this.#path(expected), dir);
      return (await this.head(expected)) as ArtifactMeta;
    } catch (error) {
      if (!closed) await file.close().catch(() => {});
      await rm(temp, { force: true });
      throw error;
    }
  }

  async head(sha256: string): Promise<ArtifactMeta | null> {
    if (!SHA256_PATTERN.test(sha256)) return null;
    try {
      const s = await stat(this.#path(sha256));
      return { sha256, size: s.size, createdAt: s.mtime.toISOString() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable | null> {
    if (!SHA256_PATTERN.test(sha256)) return null;
    let file: FileHandle;
    try {
      file = await open(this.#path(sha256), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    // Open first: a delete after this point does not cut the reader off (POSIX keeps the inode).
    return file.createReadStream(range === undefined ? {} : { start: range.start, end: range.end });
  }

  async delete(sha256: string): Promise<boolean> {
    if (!SHA256_PATTERN.test(sha256)) return false;
    try {
      await rm(this.#path(sha256));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async list(): Promise<ArtifactMeta[]> {
    const all: ArtifactMeta[] = [];
    for (const shard of await shards(this.root)) {
      for (const name of (await readdir(join(this.root, shard))).sort()) {
        if (!SHA256_PATTERN.test(name)) continue;
        const meta = await this.head(name);
        if (meta !== null) all.push(meta);
      }
    }
    return all;
  }

  async close(): Promise<void> {}
}

async function shards(root: string): Promise<string[]> {
  const names = await readdir(root, { withFileTypes: true });
  return names
    .filter((d) => d.isDirectory() && SHARD.test(d.name))
    .map((d) => d.name)
    .sort();
}

async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** rename(2), then fsync of the directory so the new name survives a power cut. */
async function renameDurably(from: string, to: string, dir: string): Promise<void> {
  await rename(from, to);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
