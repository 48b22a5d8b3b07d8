// Unpacking artifacts into the agent's cache (src/agent/artifact-cache.ts, artifact-unpack.ts):
// a real tarball packed by node-tar lands whole under <data>/artifact-cache/<sha256>/; each hostile
// one (`..`, absolute path, symlink and hard link escapes, device and fifo entries, a bomb over the
// size cap, too many files) is refused with its reason, and nothing is left on disk — neither in
// the cache nor outside it.

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactCache } from '../../src/agent/artifact-cache.js';
import { refusal } from '../../src/agent/artifact-unpack.js';
import type { RawEntry } from './tarballs.js';
import { packDir, rawTarball, sha256Of } from './tarballs.js';

let dir: string;
let data: string;
let cache: ArtifactCache;
const CAPS = { maxBytes: 1024 * 1024, maxFiles: 20 };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-unpack-'));
  // The cache sits two levels down, so `../../x` from inside an artifact would land in `dir`.
  data = join(dir, 'data');
  cache = new ArtifactCache({ dataDir: data, maxBytes: 10 * 1024 * 1024, caps: CAPS });
  await cache.open();
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Puts `tgz` in the cache as if downloaded; answers the unpacked dir or the refusal. */
async function fill(tgz: Buffer): Promise<{ dir: string } | { error: string }> {
  const sha = sha256Of(tgz);
  try {
    return {
      dir: await cache.ensure(
        sha,
        (file) => writeFile(file, tgz),
        () => {},
      ),
    };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Nothing of a refused fill anywhere: the cache is empty, nothing was written outside it. */
function nothingLeft(): void {
  expect(readdirSync(cache.dir)).toEqual([]);
  expect(readdirSync(dir).sort()).toEqual(['data']);
  expect(readdirSync(data)).toEqual(['artifact-cache']);
}

describe('unpacking an artifact', () => {
  it('unpacks a real tarball (files, a subdirectory, a symlink inside) into <sha256>/', async () => {
    const src = join(dir, 'src');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'server.mjs'), 'console.log("hi")\n');
    writeFileSync(join(src, 'bin', 'run'), '#!/bin/sh\necho run\n', { mode: 0o755 });
    await symlink('bin/run', join(src, 'run-link'));
    const tgz = await packDir(src);
    const got = await fill(tgz);
    expect(got).toEqual({ dir: join(cache.dir, sha256Of(tgz)) });
    const out = (got as { dir: string }).dir;
    expect(readFileSync(join(out, 'server.mjs'), 'utf8')).toBe('console.log("hi")\n');
    expect(readFileSync(join(out, 'run-link'), 'utf8')).toBe('#!/bin/sh\necho run\n');
    // Only the artifact and its record: no temporary file or directory stays.
    expect(readdirSync(cache.dir).sort()).toEqual([sha256Of(tgz), `${sha256Of(tgz)}.json`]);
    // A second ensure is a cache hit: the download is not called.
    const again = await cache.ensure(
      sha256Of(tgz),
      () => Promise.reject(new Error('downloaded twice')),
      () => {},
    );
    expect(again).toBe(out);
  });

  const hostile: [string, RawEntry[], RegExp][] = [
    [
      'a path with ..',
      [
        { name: 'ok.txt', type: '0', data: Buffer.from('fine') },
        { name: '../../escaped.txt', type: '0', data: Buffer.from('out') },
      ],
      /entry "\.\.\/\.\.\/escaped\.txt": a path with \.\./,
    ],
    [
      'an absolute path',
      [{ name: `${'/'}tmp/turnout-absolute-escape.txt`, type: '0', data: Buffer.from('x') }],
      /an absolute path/,
    ],
    [
      'a symlink escape',
      [
        { name: 'sub', type: '5' },
        { name: 'sub/evil', type: '2', linkname: '../../../' },
        { name: 'sub/evil/escaped.txt', type: '0', data: Buffer.from('out') },
      ],
      /entry "sub\/evil": a symlink pointing outside the artifact \(\.\.\/\.\.\/\.\.\/\)/,
    ],
    [
      'a symlink to an absolute path',
      [{ name: 'etc', type: '2', linkname: '/etc' }],
      /a symlink to an absolute path \(\/etc\)/,
    ],
    [
      'a hard link escape',
      [{ name: 'passwd', type: '1', linkname: '../../../../etc/passwd' }],
      /entry "passwd": a hard link pointing outside the artifact/,
    ],
    [
      'a character device',
      [{ name: 'null', type: '3' }],
      /entry "null": a CharacterDevice entry \(only files, directories and links\)/,
    ],
    ['a fifo', [{ name: 'pipe', type: '6' }], /entry "pipe": a FIFO entry/],
    [
      'a bomb over the size cap',
      // 4 MiB of zeros gzip to a few KiB; the cap is 1 MiB.
      [{ name: 'zeros', type: '0', data: Buffer.alloc(4 * 1024 * 1024) }],
      /more than 1048576 bytes unpacked \(the size cap\)/,
    ],
    [
      'too many files',
      Array.from({ length: 25 }, (_, i) => ({
        name: `f${i}`,
        type: '0' as const,
        data: Buffer.from(String(i)),
      })),
      /more than 20 entries \(the file cap\)/,
    ],
  ];

  for (const [what, entries, reason] of hostile) {
    it(`refuses ${what} with its reason, leaving nothing on disk`, async () => {
      const got = await fill(rawTarball(entries));
      expect(got).toHaveProperty('error');
      expect((got as { error: string }).error).toMatch(reason);
      nothingLeft();
      expect(existsSync('/tmp/turnout-absolute-escape.txt')).toBe(false);
    });
  }

  it('refuses what is not a tarball', async () => {
    const got = await fill(Buffer.from('not gzip at all'));
    expect((got as { error: string }).error).toMatch(/not a (readable|clean)/);
    nothingLeft();
  });

  it('the path rules, one by one', () => {
    expect(refusal('File', 'a/b/c.txt', undefined)).toBeNull();
    expect(refusal('SymbolicLink', 'a/b', '../c')).toBeNull(); // a/c: inside
    expect(refusal('SymbolicLink', 'a/b', '../../c')).toMatch(/outside/);
    expect(refusal('Link', 'a/b', 'a/c')).toBeNull();
    expect(refusal('Directory', 'a/../../b', undefined)).toMatch(/\.\./);
    expect(refusal('BlockDevice', 'sda', undefined)).toMatch(/BlockDevice/);
  });
});

describe('the cache bound', () => {
  it('evicts least recently used first, never an artifact in use', async () => {
    const small = new ArtifactCache({ dataDir: join(dir, 'small'), maxBytes: 15 });
    await small.open();
    const shas: string[] = [];
    for (const n of [1, 2, 3]) {
      const tgz = rawTarball([{ name: 'f', type: '0', data: Buffer.alloc(10, n) }]);
      shas.push(sha256Of(tgz));
      await small.ensure(
        sha256Of(tgz),
        (file) => writeFile(file, tgz),
        () => {},
      );
    }
    const [a, b, c] = shas as [string, string, string];
    // 30 bytes over a 15-byte bound: a is the oldest but in use, so b and then... only b goes.
    const removed = await small.evict(new Set([a, c]));
    expect(removed).toEqual([b]);
    expect((await small.entries()).map((e) => e.sha256).sort()).toEqual([a, c].sort());
  });
});
