import { describe, expect, it } from 'vitest';
import { turnout } from './run.js';

describe('turnout dtab (real process)', () => {
  it('shows a dtab in normal form, one dentry per line', async () => {
    const r = await turnout(
      'dtab',
      'show',
      '/svc => /v ; /svc/orders=>1*/v/orders/1 & 3 * /v/orders/2',
    );
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe('/svc=>/v;\n/svc/orders=>/v/orders/1 & 3.00*/v/orders/2');
  });

  it('prints the namerd JSON form with --json', async () => {
    const r = await turnout('dtab', 'show', '--json', '/a=>/b|/c');
    expect(JSON.parse(r.stdout)).toEqual([{ prefix: '/a', dst: '/b | /c' }]);
  });

  it.each([
    [['dtab', 'show', '/a=>invalid'], "simple expected but 'i' found at '/a=>[i]nvalid'"],
    [
      ['dtab', 'lookup', '--dtab', '/a=>/b', 'invalid-param'],
      "'/' expected but 'i' found at '[i]nvalid-param'",
    ],
    [['dtab', 'bind', '--dtab', '/a=>/b;;', '/a'], "'/' expected but ';' found at '/a=>/b;[;]'"],
  ])(
    'rejects invalid input %j with exit 2, the parse error on stderr and nothing on stdout',
    async (args, message) => {
      const r = await turnout(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
    },
  );

  it('reports errors as JSON on stderr with --json', async () => {
    const r = await turnout('dtab', 'show', '--json', '/a=>');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({
      error: { code: 'dtab_syntax', message: "simple expected but end of input found at '/a=>[]'" },
    });
  });

  it('looks up one step, later dentries first', async () => {
    const r = await turnout(
      'dtab',
      'lookup',
      '--dtab',
      '/foo/bar=>/xxx;/foo=>/yyy',
      '/foo/bar/baz',
    );
    expect(r.stdout.trim()).toBe('/yyy/bar/baz | /xxx/baz');
  });

  it('binds through /$/inet to addresses', async () => {
    const r = await turnout(
      'dtab',
      'bind',
      '--json',
      '--dtab',
      '/svc=>/$/inet/127.0.0.1/8080',
      '/svc/a',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      path: '/svc/a',
      state: 'ok',
      tree: '/$/inet/127.0.0.1/8080',
      addresses: ['127.0.0.1:8080'],
    });
  });

  it('exits 1 when nothing binds, and says why', async () => {
    const r = await turnout(
      'dtab',
      'bind',
      '--dtab',
      '/s=>/s/srv',
      '--max-depth',
      '2',
      '/s/foo/bar',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Max recursion level: 2 reached in Namer lookup');
  });

  it.each(['abc', '0', '-1', '1001', '1e3', '2.5'])(
    '--max-depth %s: exit 2 naming the flag, nothing bound',
    async (depth) => {
      const r = await turnout(
        'dtab',
        'bind',
        '--dtab',
        '/s=>/$/inet/h/1',
        '--max-depth',
        depth,
        '/s',
      );
      expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toContain(`--max-depth ${depth}: a whole number from 1 to 1000`);
    },
  );

  it('explains delegation as an indented tree and marks the chosen alternative', async () => {
    const r = await turnout(
      'dtab',
      'explain',
      '--dtab',
      '/svc=>/$/inet/127.0.0.1/1;/svc/a=>~',
      '/svc/a',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('/svc/a  alternatives');
    expect(r.stdout).toMatch(/\* 2\. \/\$\/inet\/127\.0\.0\.1\/1\/a/);
    expect(r.stdout).toContain('result: /$/inet/127.0.0.1/1');
  });

  it('explains as JSON with --json', async () => {
    const r = await turnout('dtab', 'explain', '--json', '--dtab', '/svc=>/$/nil', '/svc/a');
    const body = JSON.parse(r.stdout);
    expect(body.explanation).toMatchObject({
      type: 'delegate',
      path: '/svc/a',
      child: { via: '/svc=>/$/nil' },
    });
    expect(body.result).toEqual({ state: 'ok', tree: '$', addresses: [] });
  });

  it('answers a usage error with exit 2', async () => {
    const r = await turnout('dtab', 'lookup', '/a');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--dtab <dtab>' not specified");
  });
});
