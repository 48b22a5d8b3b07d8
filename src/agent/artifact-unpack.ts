// Unpacking a verified artifact safely (issue 14). Two passes with node-tar: first every entry is
// read (nothing written) and the archive is refused whole at the first entry that is not a plain
// file, directory or link staying inside the target — `..`, an absolute path, a symlink or hard
// link pointing out, a device or fifo — or once the entries add up to more bytes or files than the
// caps (a tarball bomb). Only then is it extracted into a fresh directory (node-tar's own guards on
// too: strict, no absolute paths, no writing through symlinks). A refusal names the entry and the
// reason, and the caller removes the directory: nothing is left on disk.

import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ReadEntry } from 'tar';
import { extract, Parser } from 'tar';

export interface UnpackCaps {
  /** The most bytes the entries may add up to, unpacked. */
  readonly maxBytes: number;
  readonly maxFiles: number;
}

export const DEFAULT_UNPACK_CAPS: UnpackCaps = { maxBytes: 2 * 1024 ** 3, maxFiles: 100_000 };

export class UnpackError extends Error {}

const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** Why one entry is refused, or null. Pure: the path rules alone. */
export function refusal(type: string, path: string, linkpath: string | undefined): string | null {
  if (!ALLOWED.has(type)) return `a ${type} entry (only files, directories and links)`;
  const bad = badPath(path);
  if (bad !== null) return bad;
  if (type === 'SymbolicLink') {
    const target = linkpath ?? '';
    if (target === '' || posix.isAbsolute(target) || /^[A-Za-z]:/.test(target))
      return `a symlink to an absolute path (${target})`;
    if (escapes(posix.join(posix.dirname(path), target)))
      return `a symlink pointing outside the artifact (${target})`;
  }
  if (type === 'Link') {
    const target = linkpath ?? '';
    if (target === '' || posix.isAbsolute(target) || escapes(posix.normalize(target)))
      return `a hard link pointing outside the artifact (${target})`;
  }
  return null;
}

function badPath(path: string): string | null {
  if (path.includes('\0')) return 'a path with a NUL byte';
  if (posix.isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.startsWith('\\'))
    return 'an absolute path';
  if (path.split(/[\\/]/).includes('..')) return 'a path with ..';
  return null;
}

function escapes(normalized: string): boolean {
  return normalized === '..' || normalized.startsWith('../') || posix.isAbsolute(normalized);
}

/** Reads every entry of the gzip tarball, refusing at the first bad one or past a cap. */
export function inspect(file: string, caps: UnpackCaps): Promise<{ files: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const source = createReadStream(file);
    const parser = new Parser({ strict: true });
    let files = 0;
    let bytes = 0;
    let failed = false;
    const fail = (why: string) => {
      if (failed) return;
      failed = true;
      source.destroy();
      reject(new UnpackError(why));
    };
    parser.on('entry', (e: ReadEntry) => {
      const why = refusal(e.type, e.path, e.linkpath);
      files += 1;
      bytes += e.size;
      if (why !== null) fail(`entry ${JSON.stringify(e.path)}: ${why}`);
      else if (files > caps.maxFiles) fail(`more than ${caps.maxFiles} entries (the file cap)`);
      else if (bytes > caps.maxBytes)
        fail(`entries add up to more than ${caps.maxBytes} bytes unpacked (the size cap)`);
      e.resume();
    });
    parser.on('error', (error: Error) => fail(`not a readable gzip tarball: ${error.message}`));
    parser.on('warn', (_code: string, message: string) => fail(`not a clean tarball: ${message}`));
    parser.on('end', () => {
      if (failed) return;
      if (files === 0) fail('an empty tarball');
      else resolve({ files, bytes });
    });
    source.on('error', (error) => fail(error.message));
    source.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

/** Checks, then extracts `file` into `dir` (made here; the caller removes it on a throw). */
export async function unpackArtifact(
  file: string,
  dir: string,
  caps: UnpackCaps = DEFAULT_UNPACK_CAPS,
): Promise<{ files: number; bytes: number }> {
  const counted = await inspect(file, caps);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  let refused: string | null = null;
  await extract({
    file,
    cwd: dir,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    // The first pass checked every entry; this is the same rule again, should the archive differ.
    filter: (path, entry) => {
      const e = entry as ReadEntry;
      const why = refusal(e.type, path, e.linkpath);
      if (why !== null) refused ??= `entry ${JSON.stringify(path)}: ${why}`;
      return why === null;
    },
    onwarn: (_code: string, message: string) => {
      refused ??= `not a clean tarball: ${message}`;
    },
  });
  if (refused !== null) throw new UnpackError(refused);
  return counted;
}
