// What `turnout push` uploads: a gzip tarball made from a directory, or a .tgz given as it is.
// Packing is deterministic (entries in byte order of their paths, every mtime the epoch, no owner
// names or ids), so pushing the same tree twice gives the same sha256 and uploads nothing new.
// Entries are relative to the directory: no absolute path, nothing outside it.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { TurnoutError } from '../errors.js';

const FIELD = 'path';

export interface Packed {
  /** The tarball to upload. */
  file: string;
  /** True when packed here from a directory (a temp file the caller removes). */
  packed: boolean;
  sha256: string;
  size: number;
}

/** Every entry under `dir` (directories, files, symlinks), relative, in byte order of the path. */
export async function treeEntries(dir: string): Promise<string[]> {
  const entries: string[] = [];
  const walk = async (at: string): Promise<void> => {
    const names = (await readdir(at)).sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    for (const name of names) {
      const path = join(at, name);
      const s = await lstat(path);
      const rel = relative(dir, path).split(sep).join('/');
      if (s.isDirectory()) {
        entries.push(`${rel}/`);
        await walk(path);
      } else if (s.isFile() || s.isSymbolicLink()) {
        entries.push(rel);
      } else {
        throw new TurnoutError(
          'invalid_argument',
          `${FIELD}: ${rel} is neither a file, a directory nor a symlink; a build holds only those`,
          FIELD,
        );
      }
    }
  };
  await walk(dir);
  return entries;
}

/** Packs `dir` into the gzip tarball `out`. */
export async function packDirectory(dir: string, out: string): Promise<void> {
  const entries = await treeEntries(dir);
  if (entries.length === 0)
    throw new TurnoutError('invalid_argument', `${FIELD}: ${dir} is empty: nothing to push`, FIELD);
  const { create } = await import('tar');
  await create(
    {
      gzip: true,
      file: out,
      cwd: dir,
      portable: true,
      mtime: new Date(0),
      noDirRecurse: true,
      follow: false,
      strict: true,
    },
    entries.map((e) => e.replace(/\/$/, '')),
  );
}

/** sha256 and size of a file, read as a stream. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** A .tgz given as is must at least be gzip (its magic number), not a plain tar or a zip. */
async function checkGzip(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    if (bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b) return;
  } finally {
    await handle.close();
  }
  throw new TurnoutError(
    'invalid_argument',
    `${FIELD}: ${file} is not a gzip file; give a directory or a .tgz (tar czf)`,
    FIELD,
  );
}

/** The tarball for `path` (a directory, packed into `tempDir`, or a .tgz), hashed. */
export async function artifactFor(path: string, tempDir: string): Promise<Packed> {
  let s: Awaited<ReturnType<typeof stat>>;
  try {
    s = await stat(path);
  } catch {
    throw new TurnoutError('invalid_argument', `${FIELD}: ${path} does not exist`, FIELD);
  }
  if (s.isDirectory()) {
    const file = join(tempDir, 'artifact.tgz');
    await packDirectory(path, file);
    return { file, packed: true, ...(await hashFile(file)) };
  }
  if (!s.isFile())
    throw new TurnoutError(
      'invalid_argument',
      `${FIELD}: ${path} is neither a directory nor a .tgz file`,
      FIELD,
    );
  await checkGzip(path);
  return { file: path, packed: false, ...(await hashFile(path)) };
}
