// A `turnout server` or `turnout up` that fails to start changes nothing on disk: a data dir it
// made is gone again, and in one that was there it removes what it added and nothing else (the
// tokens and files found there stay, byte for byte). The real bin, a port held by a real socket
// here, a Postgres port nothing listens on.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import type { HeldPort } from '../support/held-port.js';
import { holdPort } from '../support/held-port.js';
import { madeTempDir } from '../support/temp-dir.js';
import { freePort, runTurnout } from '../support/turnout-up.js';

let held: HeldPort;
let taken: string;
let parent: string;
let n = 0;

beforeAll(async () => {
  await ensureBuilt();
  held = await holdPort();
  taken = held.address;
  parent = madeTempDir('turnout-failed-start-');
}, 180_000);

afterAll(() => held.close());

const fresh = () => join(parent, `run-${++n}`);
const OFF = ['--edge', 'off', '--outbound', 'off', '--admin', 'off'];

/** Every file under `dir` with its content: what must not change. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile())
      out[join(e.parentPath, e.name)] = readFileSync(join(e.parentPath, e.name), 'utf8');
  return out;
}

/** A data dir as `turnout server token admin` leaves it before any start: the admin token only. */
async function withAdminToken(): Promise<string> {
  const data = fresh();
  const made = await runTurnout(['server', 'token', 'admin', '--data', data]);
  expect(made.code, made.stderr).toBe(0);
  expect(readdirSync(data)).toEqual(['admin-token']);
  return data;
}

describe('turnout server that fails to start', () => {
  it('--listen in use: the data dir it made (and its missing parent) is gone', async () => {
    const top = fresh();
    const data = join(top, 'server');
    const r = await runTurnout(['server', '--data', data, '--listen', taken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--listen ${taken} is already in use`);
    expect(existsSync(top)).toBe(false);
  });

  it('--listen in use on a data dir that was there: its token stays, nothing is added', async () => {
    const data = await withAdminToken();
    const before = contents(data);
    const r = await runTurnout(['server', '--data', data, '--listen', taken, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.field).toBe('--listen');
    expect(contents(data)).toEqual(before);
    expect(readdirSync(data)).toEqual(['admin-token']);
  });

  it('a Postgres --store nothing answers on: no data dir, no tokens', async () => {
    const data = fresh();
    const store = `postgres://turnout@127.0.0.1:${await freePort()}/turnout`;
    const r = await runTurnout([
      'server',
      '--data',
      data,
      '--listen',
      '127.0.0.1:0',
      '--store',
      store,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--store: cannot connect to Postgres');
    expect(existsSync(data)).toBe(false);
  });
});

describe('turnout up that fails to start', () => {
  it('--api in use: the data dir it made is gone', async () => {
    const data = fresh();
    const r = await runTurnout(['up', '--data', data, '--api', taken, ...OFF]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--api ${taken} is already in use`);
    expect(existsSync(data)).toBe(false);
  });

  it('--edge in use (its proxy cannot listen): the data dir it made is gone', async () => {
    const data = fresh();
    const r = await runTurnout([
      'up',
      '--data',
      data,
      '--api',
      '127.0.0.1:0',
      ...OFF,
      '--edge',
      taken,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--edge ${taken} is already in use`);
    expect(existsSync(data)).toBe(false);
  });

  it('--api in use on a data dir that was there: its token stays, nothing is added', async () => {
    const data = await withAdminToken();
    const before = contents(data);
    const r = await runTurnout(['up', '--data', data, '--api', taken, ...OFF]);
    expect(r.code).toBe(2);
    expect(contents(data)).toEqual(before);
    expect(readdirSync(data)).toEqual(['admin-token']);
  });
});
