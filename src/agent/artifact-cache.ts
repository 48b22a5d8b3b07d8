// The agent's artifact cache (issue 14): `<data>/artifact-cache/<sha256>/` is an unpacked artifact,
// complete by construction — it is only ever made by renaming a fully unpacked temporary directory
// — with `<sha256>.json` beside it (unpacked bytes; its mtime is the last use). Bounded in bytes:
// least recently used first, never one a running instance uses. Temporary files and directories
// of an interrupted fill are removed when the cache opens. (Not `<data>/artifacts`: under `up` the
// agent shares its data dir with the server, whose artifact store lives there.)

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SHA256_RE } from '../store/assignment-model.js';
import type { UnpackCaps } from './artifact-unpack.js';
import { DEFAULT_UNPACK_CAPS, unpackArtifact } from './artifact-unpack.js';

export interface ArtifactCacheOptions {
  /** The agent's data dir; the cache is its `artifact-cache/`. */
  readonly dataDir: string;
  /** The most unpacked bytes kept (artifacts in use are kept whatever the total). */
  readonly maxBytes: number;
  readonly caps?: UnpackCaps;
}

export const DEFAULT_CACHE_BYTES = 10 * 1024 ** 3;

const TEMP = /^\.(dl|tmp)-/;

export class ArtifactCache {
  readonly dir: string;
  private readonly fills = new Map<string, Promise<string>>();

  constructor(private readonly o: ArtifactCacheOptions) {
    this.dir = join(o.dataDir, 'artifact-cache');
  }

  /** Makes the directory and removes what an interrupted fill left. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.dir)) {
      if (TEMP.test(name)) await rm(join(this.dir, name), { recursive: true, force: true });
    }
  }

  pathOf(sha256: string): string {
    return join(this.dir, sha256);
  }

  /** The unpacked directory if cached (and marks it used), else null. */
  async lookup(sha256: string): Promise<string | null> {
    const dir = this.pathOf(sha256);
    const there = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!there) return null;
    const now = new Date();
    await utimes(`${dir}.json`, now, now).catch(() => {});
    return dir;
  }

  /**
   * The unpacked directory of `sha256`: cached, or downloaded by `download` (to the file it is
   * given, verified) and unpacked. One fill per hash at a time; a failed fill leaves nothing.
   */
  async ensure(
    sha256: string,
    download: (file: string) => Promise<void>,
    onUnpack: () => void,
  ): Promise<string> {
    if (!SHA256_RE.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    const cached = await this.lookup(sha256);
    if (cached !== null) return cached;
    let fill = this.fills.get(sha256);
    if (fill === undefined) {
      fill = this.fill(sha256, download, onUnpack).finally(() => this.fills.delete(sha256));
      this.fills.set(sha256, fill);
    }
    return fill;
  }

  private async fill(
    sha256: string,
    download: (file: string) => Promise<void>,
    onUnpack: () => void,
  ): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tag = randomBytes(6).toString('hex');
    const file = join(this.dir, `.dl-${tag}.tgz`);
    const tmp = join(this.dir, `.tmp-${tag}`);
    try {
      await download(file);
      onUnpack();
      const { bytes } = await unpackArtifact(file, tmp, this.o.caps ?? DEFAULT_UNPACK_CAPS);
      await writeFile(`${this.pathOf(sha256)}.json`, JSON.stringify({ bytes }), { mode: 0o600 });
      await rename(tmp, this.pathOf(sha256));
      return this.pathOf(sha256);
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    } finally {
      await rm(file, { force: true });
    }
  }

  /** What is cached: hash, unpacked bytes, last use (ms). */
  async entries(): Promise<{ sha256: string; bytes: number; usedMs: number }[]> {
    const out = [];
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!SHA256_RE.test(name)) continue;
      const meta = `${this.pathOf(name)}.json`;
      const [bytes, usedMs] = await Promise.all([
        readFile(meta, 'utf8').then(
          (t) => Number((JSON.parse(t) as { bytes?: unknown }).bytes ?? 0),
          () => 0,
        ),
        stat(meta).then(
          (s) => s.mtimeMs,
          () => 0,
        ),
      ]);
      out.push({ sha256: name, bytes, usedMs });
    }
    return out;
  }

  /** Removes least recently used artifacts until the cache fits, sparing those in `inUse`. */
  async evict(inUse: ReadonlySet<string>): Promise<string[]> {
    const all = (await this.entries()).sort((a, b) => a.usedMs - b.usedMs);
    let total = all.reduce((n, e) => n + e.bytes, 0);
    const removed: string[] = [];
    for (const e of all) {
      if (total <= this.o.maxBytes) break;
      if (inUse.has(e.sha256) || this.fills.has(e.sha256)) continue;
      await rm(this.pathOf(e.sha256), { recursive: true, force: true });
      await rm(`${this.pathOf(e.sha256)}.json`, { force: true });
      total -= e.bytes;
      removed.push(e.sha256);
    }
    return removed;
  }
}
