// `turnout push` through the real bin against a real `turnout server`: a directory packed as a
// deterministic gzip tarball (relative paths in byte order, the same sha256 for the same tree
// whatever its mtimes), uploaded once, named by the version it creates; the same push again is
// "unchanged" and uploads nothing; another build for that version is a conflict that uploads
// nothing; a .tgz goes as it is; bad input is refused naming the field before anything is sent.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { list as tarList } from 'tar';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import type { RunningServer } from '../support/turnout-server.js';
import { call, startServer } from '../support/turnout-server.js';
import { freePort, runTurnout } from '../support/turnout-up.js';

const ADMIN = 'admin-token-0123456789abcdefghij';
const RELEASER = 'releaser-token-0123456789abcdefg';
let dir: string;
let server: RunningServer;
let token: string;
let url: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-push-'));
  const data = join(dir, 'data');
  // An admin (who pushes) and a releaser (who may not create versions).
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(
    tokens,
    `- {name: ada, role: admin, token: ${ADMIN}}\n- {name: rel, role: releaser, token: ${RELEASER}}\n`,
  );
  server = await startServer([
    '--tokens',
    tokens,
    '--data',
    data,
    '--listen',
    `127.0.0.1:${await freePort()}`,
    '--max-artifact-bytes',
    '1MiB',
  ]);
  url = server.url;
  token = ADMIN;
  for (const [path, body] of [
    ['/v1/orgs', { name: 'acme' }],
    [
      '/v1/modules',
      { name: 'web', org: 'acme', run: { process: { command: 'node', args: ['server.js'] } } },
    ],
  ] as const) {
    const r = await call(`${url}${path}`, token, 'POST', body);
    if (r.status !== 201) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const push = (...args: string[]) =>
  runTurnout(['push', ...args, '--server', url, '--token', token]);

/** A small service build: nested files, an empty directory and a relative symlink. */
function build(name: string, text: string): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'lib', 'deep'), { recursive: true });
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'server.js'), `console.log(${JSON.stringify(text)});\n`);
  writeFileSync(join(root, 'lib', 'deep', 'util.js'), 'export const x = 1;\n');
  writeFileSync(join(root, 'B.txt'), 'capital B sorts before a\n');
  symlinkSync('server.js', join(root, 'main.js'));
  return root;
}

async function download(sha: string): Promise<Buffer> {
  const res = await request(`${url}/v1/artifacts/${sha}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.statusCode).toBe(200);
  return Buffer.from(await res.body.arrayBuffer());
}

async function artifactCount(): Promise<number> {
  const r = await call(`${url}/v1/artifacts`, token);
  return (r.body as { artifacts: unknown[] }).artifacts.length;
}

async function entriesOf(tgz: Buffer): Promise<string[]> {
  const file = join(dir, `list-${createHash('sha256').update(tgz).digest('hex')}.tgz`);
  writeFileSync(file, tgz);
  const names: string[] = [];
  await tarList({ file, onReadEntry: (e) => void names.push(e.path) });
  return names;
}

describe('turnout push', () => {
  it('packs a directory, uploads it, and creates the version naming it', async () => {
    const src = build('v2', 'two');
    const r = await push('web', '2.0.0', src, '--json', '--command', 'node', '--arg', 'main.js');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      module: 'web',
      version: '2.0.0',
      uploaded: true,
      result: 'created',
      products: [], // no product uses web yet
    });
    const bytes = await download(out.artifact.sha256);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(out.artifact.sha256);
    expect(bytes.length).toBe(out.artifact.size);
    expect(bytes.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(true);
    // relative paths only, in byte order of the path, directories before what they hold
    expect(await entriesOf(bytes)).toEqual([
      'B.txt',
      'empty/',
      'lib/',
      'lib/deep/',
      'lib/deep/util.js',
      'main.js',
      'server.js',
    ]);
    const v = await call(`${url}/v1/modules/web/versions/2.0.0`, token);
    expect(v.body).toMatchObject({
      artifact: out.artifact,
      run: { process: { command: 'node', args: ['main.js'] } },
    });
  });

  it('the same tree again (new mtimes) is the same artifact: nothing uploaded, the version unchanged', async () => {
    const src = join(dir, 'v2');
    const later = new Date(Date.now() + 3_600_000);
    utimesSync(join(src, 'server.js'), later, later);
    const before = await artifactCount();
    const r = await push('web', '2.0.0', src, '--json', '--command', 'node', '--arg', 'main.js');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ uploaded: false, result: 'unchanged' });
    expect(await artifactCount()).toBe(before);
    // and as text for people, naming the product to release (not a placeholder)
    const product = await call(`${url}/v1/products`, token, 'POST', {
      name: 'shop',
      org: 'acme',
      entry: 'web',
    });
    expect(product.status).toBe(201);
    const text = await push('web', '2.0.1', src);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('release it with: turnout release create shop --set web=2.0.1');
    expect(text.stdout).not.toContain('<product>');
    expect(text.stdout).toContain('pushed web@2.0.1');
    expect(text.stdout).toContain('already in the artifact store');
    expect(text.stdout).toContain('version   created');
  });

  it('another build for an existing version is a conflict naming artifact, and uploads nothing', async () => {
    const before = await artifactCount();
    const r = await push('web', '2.0.0', build('other', 'other'), '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'conflict', field: 'artifact' });
    expect(await artifactCount()).toBe(before);
  });

  it('a releaser is refused before anything is uploaded: creating the version needs admin', async () => {
    const src = build('by-releaser', 'releaser build');
    const before = await artifactCount();
    const r = await runTurnout(['push', 'web', '9.0.0', src, '--server', url, '--token', RELEASER]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('token: "rel" has role releaser');
    expect(r.stderr).toContain('needs an admin token');
    expect(await artifactCount()).toEqual(before);
  });

  it('pushes a .tgz as it is', async () => {
    const v2 = await call(`${url}/v1/modules/web/versions/2.0.0`, token);
    const tgz = await download((v2.body as { artifact: { sha256: string } }).artifact.sha256);
    const file = join(dir, 'given.tgz');
    writeFileSync(file, tgz); // the same bytes: the same artifact
    const r = await push('web', '3.0.0', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      artifact: { sha256: createHash('sha256').update(tgz).digest('hex'), size: tgz.length },
      uploaded: false,
      result: 'created',
    });
  });

  it.each([
    ['a module that does not exist', ['nope', '1.0.0', '.'], 1, 'not_found', 'module'],
    ['a bad module name', ['Web!', '1.0.0', '.'], 2, 'invalid_argument', 'module'],
    ['a bad version', ['web', '-1', '.'], 2, 'invalid_argument', 'version'],
    ['a missing path', ['web', '9.0.0', '/nonexistent/build'], 2, 'invalid_argument', 'path'],
  ])('refuses %s naming the field', async (_what, args, exit, code, field) => {
    const before = await artifactCount();
    const r = await push(...(args as string[]), '--json');
    expect(r.code).toBe(exit);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code, field });
    expect(await artifactCount()).toBe(before);
  });

  it('refuses a file that is not gzip, naming path', async () => {
    const file = join(dir, 'plain.tar');
    writeFileSync(file, 'not a tarball');
    const r = await push('web', '9.0.0', file, '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'invalid_argument', field: 'path' });
  });

  it("a build over the server's --max-artifact-bytes is refused with the limit", async () => {
    const big = join(dir, 'big');
    mkdirSync(big);
    // random bytes do not compress: the tarball stays over 1 MiB
    writeFileSync(join(big, 'blob.bin'), randomBytes(1200 * 1024));
    const r = await push('web', '9.1.0', big, '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('payload_too_large');
    expect(JSON.parse(r.stderr).error.message).toContain('1048576 bytes (1 MiB');
    const v = await call(`${url}/v1/modules/web/versions/9.1.0`, token);
    expect(v.status).toBe(404);
  });
});
