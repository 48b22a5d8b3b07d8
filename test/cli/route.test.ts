import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ruleLine } from '../../src/cli/route-commands.js';
import { turnout } from './run.js';

const CONFIG = 'examples/routing.yaml';

describe('turnout route explain (real process, examples/routing.yaml)', () => {
  it('routes a request without lane signals to stable and says no rule matched', async () => {
    const r = await turnout(
      'route',
      'explain',
      '--json',
      '--config',
      CONFIG,
      '--product',
      'shop',
      '/svc/orders',
    );
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.lane).toMatchObject({
      lane: null,
      ruleIndex: null,
      reason: 'no rule matched',
      known: true,
    });
    expect(body.result).toEqual({
      state: 'ok',
      tree: '/v/orders/2.3.0',
      addresses: ['127.0.0.1:7201', '127.0.0.1:7202'],
    });
  });

  it('assigns the lane by header rule and routes to the lane version', async () => {
    const r = await turnout(
      'route',
      'explain',
      '--json',
      '--config',
      CONFIG,
      '--product',
      'shop',
      '-H',
      'X-User-Tier: internal',
      '--trusted-hops',
      '127.0.0.1/32',
      '/svc/orders',
    );
    const body = JSON.parse(r.stdout);
    expect(body.lane).toMatchObject({ lane: 't-42', ruleIndex: 1 });
    expect(body.result.tree).toBe('/v/orders/2.4.0');
  });

  it('ignores a segment header from a client that is not a trusted hop, and says why', async () => {
    const r = await turnout(
      'route',
      'explain',
      '--json',
      '--config',
      CONFIG,
      '--product',
      'shop',
      '-H',
      'X-User-Tier: internal',
      '/svc/orders',
    );
    const body = JSON.parse(r.stdout);
    expect(body.lane).toMatchObject({ lane: null, ruleIndex: null });
    expect(body.lane.rules[1].reason).toBe(
      'header x-user-tier is not read: the client is not a trusted hop',
    );
  });

  it('falls back to stable for a lane version with no ready endpoints', async () => {
    const r = await turnout(
      'route',
      'explain',
      '--config',
      CONFIG,
      '--product',
      'shop',
      '--lane',
      't-42',
      '/svc/account',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('/v/account/1.5.0  via /svc/account=>/v/account/1.5.0  neg');
    expect(r.stdout).toContain('result   /v/account/1.4.0');
  });

  it('keeps another product on its own versions', async () => {
    const r = await turnout(
      'route',
      'explain',
      '--json',
      '--config',
      CONFIG,
      '--product',
      'admin',
      '--lane',
      't-42',
      '/svc/account',
    );
    const body = JSON.parse(r.stdout);
    expect(body.lane.known).toBe(false);
    expect(body.result.tree).toBe('/v/account/1.4.0');
  });

  it('exits 1 for a name that routes nowhere', async () => {
    const r = await turnout(
      'route',
      'explain',
      '--config',
      CONFIG,
      '--product',
      'shop',
      '/svc/unknown',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('(no destination)');
  });

  it.each([
    [['--product', 'nope', '/svc/a'], 1, 'unknown product "nope"'],
    [['--product', 'shop', '-H', 'no colon', '/svc/a'], 2, '-H "no colon": expected "Name: value"'],
    [['--product', 'shop', 'svc/a'], 2, "'/' expected but 's' found at '[s]vc/a'"],
  ])(
    'rejects %j with a clear error on stderr and nothing on stdout',
    async (args, code, message) => {
      const r = await turnout('route', 'explain', '--config', CONFIG, ...args);
      expect(r.code).toBe(code);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
    },
  );

  it('names the file and the field of an invalid snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnout-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'version: 1\nproducts:\n  - name: shop\n    entry: web\n    dtab: "/svc => nope"\nmodules: [{ name: web }]\n',
    );
    const r = await turnout('route', 'explain', '--config', file, '--product', 'shop', '/svc/a');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      `${file}: products[0].dtab: invalid dtab: simple expected but 'n' found`,
    );
  });
});

describe('ruleLine: one edge rule in route explain', () => {
  const rule = 'header x-prerelease equals "s3cret" (from any client)';
  it.each([
    [
      'a matched rule, whose reason is its own text, is said once',
      { matched: true, index: 0, lane: 't-3', rule, reason: rule },
      `       * rules[0] → t-3: ${rule}`,
    ],
    [
      'an unmatched rule says why not',
      {
        matched: false,
        index: 1,
        lane: 'qa',
        rule: 'header x-q1 equals "1"',
        reason: 'header x-q1 is absent',
      },
      '         rules[1] → qa: header x-q1 equals "1" — header x-q1 is absent',
    ],
  ])('%s', (_, r, line) => expect(ruleLine(r)).toBe(line));
});
