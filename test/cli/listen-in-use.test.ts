// A port already taken names the flag to change (issue 16), for each listener of `proxy`, for the
// API listener of `up`, `demo` and `server`, and for the listeners of `up`'s own proxy (which then fails
// `up` instead of being restarted): the real bin, with the port held by a real socket here.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import type { HeldPort } from '../support/held-port.js';
import { holdPort } from '../support/held-port.js';
import { madeTempDir } from '../support/temp-dir.js';
import { turnout } from './run.js';

let held: HeldPort;
let taken: string;
let data: string;

beforeAll(async () => {
  await ensureBuilt();
  held = await holdPort();
  taken = held.address;
  data = madeTempDir('turnout-inuse-');
}, 180_000);

afterAll(() => held.close());

const OFF = { '--outbound': 'off', '--edge': 'off', '--admin': 'off' };

describe('a listener whose port is taken', () => {
  it.each(['--outbound', '--edge', '--admin'])('turnout proxy %s names that flag', async (flag) => {
    const flags = Object.entries({ ...OFF, [flag]: taken }).flat();
    const r = await turnout('proxy', '--config', 'examples/routing.yaml', '--data', data, ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `turnout: ${flag} ${taken} is already in use (another program, or another turnout, listens there): choose another with ${flag} <host:port>, or ${flag} off`,
    );
    expect(r.stderr).not.toContain('internal error');
  });

  it('turnout up --api names --api (and says nothing of off, which --api cannot be)', async () => {
    const flags = Object.entries(OFF).flat();
    const r = await turnout('up', '--insecure-local', '--data', data, '--api', taken, ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `turnout: --api ${taken} is already in use (another program, or another turnout, listens there): choose another with --api <host:port>\n`,
    );
  });

  it('turnout server --listen names --listen (and says nothing of off, which it cannot be)', async () => {
    const r = await turnout('server', '--data', join(data, 'server'), '--listen', taken);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `turnout: --listen ${taken} is already in use (another program, or another turnout, listens there): choose another with --listen <host:port>\n`,
    );
  });

  it.each(['--edge', '--outbound'])(
    'turnout up %s: its proxy cannot listen, and up fails naming the flag (no restart loop)',
    async (flag) => {
      const flags = { ...OFF, [flag]: taken };
      const r = await turnout(
        'up',
        '--insecure-local',
        '--data',
        join(data, `up${flag}`),
        '--api',
        '127.0.0.1:0',
        ...Object.entries(flags).flat(),
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `turnout: ${flag} ${taken} is already in use (another program, or another turnout, listens there): choose another with ${flag} <host:port>, or ${flag} off\n`,
      );
    },
  );

  it('turnout demo --api --json: the same as a JSON error naming the field', async () => {
    const flags = Object.entries(OFF).flat();
    const r = await turnout(
      'demo',
      '--json',
      '--data',
      join(data, 'demo'),
      '--api',
      taken,
      ...flags,
    );
    expect(r.code).toBe(2);
    const last = r.stderr.trimEnd().split('\n').at(-1) ?? '';
    expect(JSON.parse(last)).toEqual({
      error: {
        code: 'invalid_argument',
        message: expect.stringContaining(`--api ${taken} is already in use`),
        field: '--api',
      },
    });
  });
});
