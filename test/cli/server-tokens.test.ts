// `turnout server --tokens <file>`: the API takes exactly the file's tokens (YAML or JSON), with
// their names and roles, and generates none; a file that is not a valid list of {name, role,
// token} is refused before anything starts (exit 2, no data dir), the error naming the entry and
// the field, never echoing a token.

import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { call, startServer } from '../support/turnout-server.js';
import { freePort, runTurnout } from '../support/turnout-up.js';

let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-server-tokens-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ADMIN = 'admin-token-0123456789abcdefghij';
const VIEWER = 'viewer-token-0123456789abcdefghi';
const AGENT = 'agent-token-0123456789abcdefghijk';

let files = 0;
function tokensFile(text: string, ext = 'yaml'): string {
  const path = join(dir, `tokens-${++files}.${ext}`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

describe('turnout server --tokens', () => {
  it.each([
    [
      'yaml',
      `- name: ada\n  role: admin\n  token: ${ADMIN}\n- name: viewer-bot\n  role: viewer\n  token: ${VIEWER}\n- name: rack-1\n  role: agent\n  token: ${AGENT}\n`,
    ],
    [
      'json',
      JSON.stringify([
        { name: 'ada', role: 'admin', token: ADMIN },
        { name: 'viewer-bot', role: 'viewer', token: VIEWER },
        { name: 'rack-1', role: 'agent', token: AGENT },
      ]),
    ],
  ])('takes the tokens of a %s file, and generates none', async (ext, text) => {
    const data = join(dir, `data-${ext}`);
    const file = tokensFile(text, ext);
    const server = await startServer([
      '--data',
      data,
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--tokens',
      file,
    ]);
    try {
      expect(server.summary.tokens).toEqual([
        { name: 'ada', role: 'admin' },
        { name: 'viewer-bot', role: 'viewer' },
        { name: 'rack-1', role: 'agent' },
      ]);
      expect(server.summary.warnings).toBeUndefined();
      expect(await call(`${server.url}/v1/whoami`, ADMIN)).toEqual({
        status: 200,
        body: { name: 'ada', role: 'admin' },
      });
      expect(await call(`${server.url}/v1/whoami`, VIEWER)).toEqual({
        status: 200,
        body: { name: 'viewer-bot', role: 'viewer' },
      });
      // A viewer may not cordon; an admin may (the role is the file's).
      expect((await call(`${server.url}/v1/hosts/h/cordon`, VIEWER, 'POST')).status).toBe(403);
      // The file's agent token registers a host, bound to its name.
      const put = await call(`${server.url}/v1/hosts/rack-1`, AGENT, 'PUT', {
        address: '10.0.0.7',
      });
      expect(put).toMatchObject({ status: 200, body: { registeredBy: 'rack-1' } });
      expect(existsSync(join(data, 'admin-token'))).toBe(false);
      expect(existsSync(join(data, 'join-token'))).toBe(false);
    } finally {
      expect(await server.stop()).toEqual({ code: 0, signal: null });
    }
  });

  it('warns about a tokens file other users can read', async () => {
    const file = tokensFile(`- {name: ada, role: admin, token: ${ADMIN}}\n`);
    chmodSync(file, 0o644);
    const server = await startServer([
      '--data',
      join(dir, 'data-open'),
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--tokens',
      file,
    ]);
    try {
      expect(server.summary.warnings).toEqual([
        `--tokens ${file} is open to other users (mode 644); chmod 600 it`,
      ]);
    } finally {
      await server.stop();
    }
  });

  const ok = (name: string, role = 'admin') => ({ name, role, token: `${name}-${ADMIN}` });
  it.each([
    ['not a list', { tokens: [ok('ada')] }, 'expected a list of {name, role, token} entries'],
    ['an empty list', [], 'the list is empty'],
    ['an entry that is not an object', [ok('ada'), 'ci'], 'entry 2: expected {name, role, token}'],
    ['a missing name', [{ role: 'admin', token: ADMIN }], 'entry 1: name: missing'],
    [
      'a bad name',
      [ok('ada'), { ...ok('ci'), name: 'c i' }],
      'entry 2: name: expected 1–64 of A-Z a-z 0-9 . _ @ -',
    ],
    [
      'an unknown role',
      [ok('ada'), ok('ci', 'owner')],
      'entry 2 ("ci"): role: "owner" is not one of viewer, releaser, admin, agent',
    ],
    [
      'a missing role',
      [{ name: 'ci', token: ADMIN }],
      'entry 1 ("ci"): role: missing; one of viewer, releaser, admin, agent',
    ],
    [
      'a short token',
      [ok('ada'), { ...ok('ci'), token: 'short' }],
      'entry 2 ("ci"): token: expected at least 24 characters',
    ],
    [
      'a token that is no string',
      [{ ...ok('ci'), token: 42 }],
      'entry 1 ("ci"): token: expected a string',
    ],
    [
      'an unknown field',
      [ok('ada'), { ...ok('ci'), expires: '2027-01-01' }],
      'entry 2: expires: unknown field (expected name, role, token)',
    ],
    [
      'a duplicate name',
      [ok('ada'), { ...ok('ada'), token: VIEWER }],
      'entry 2: name: "ada" is also the name of entry 1',
    ],
    [
      'a duplicate token',
      [ok('ada'), { ...ok('ci'), token: 'ada-admin-token-0123456789abcdefghij' }],
      'entry 2 ("ci"): token: the same token as entry 1',
    ],
  ])('refuses %s, naming the entry and the field', async (_what, doc, message) => {
    const file = tokensFile(JSON.stringify(doc), 'json');
    const data = join(dir, `refused-${files}`);
    const run = await runTurnout(['server', '--data', data, '--tokens', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--tokens ${file}: ${message}`);
    expect(run.stderr).not.toContain(ADMIN);
    expect(existsSync(data)).toBe(false);
  });

  it('refuses a file it cannot read or parse', async () => {
    const missing = join(dir, 'missing.yaml');
    const gone = await runTurnout(['server', '--data', join(dir, 'r1'), '--tokens', missing]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`--tokens ${missing}: cannot read it (ENOENT)`);
    const bad = tokensFile('- name: [unclosed\n');
    const broken = await runTurnout(['server', '--data', join(dir, 'r2'), '--tokens', bad]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`--tokens ${bad}: not YAML or JSON`);
  });
});
