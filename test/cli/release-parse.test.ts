// `turnout release` flag parsing: the pure parsers of src/cli/release-command.ts, table-driven, and
// bad flags through main() in-process (refused before any request, so no server is needed).

import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import {
  nextSteps,
  parseCount,
  parseDuration,
  parseInterval,
  parseItem,
  parseSegment,
  prereleaseHint,
  withTrust,
} from '../../src/cli/release-command.js';
import { TurnoutError } from '../../src/errors.js';

function refusal(f: () => unknown): TurnoutError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(TurnoutError);
    return error as TurnoutError;
  }
  throw new Error('expected a refusal');
}

describe('parseItem (--set module=version)', () => {
  const good: [string, { module: string; version: string }][] = [
    ['orders=2.0.0', { module: 'orders', version: '2.0.0' }],
    ['web=1.0.0-rc.1', { module: 'web', version: '1.0.0-rc.1' }],
    // Only the first = splits; the API judges the version label.
    ['web=a=b', { module: 'web', version: 'a=b' }],
  ];
  for (const [text, item] of good) {
    it(`reads ${text}`, () => expect(parseItem(text)).toEqual(item));
  }
  for (const text of ['orders', '=2.0.0', 'orders=', '', '=']) {
    it(`refuses ${JSON.stringify(text)}, naming --set`, () => {
      const e = refusal(() => parseItem(text));
      expect(e).toMatchObject({ code: 'invalid_argument', field: 'set' });
      expect(e.message).toBe(`--set ${text}: expected module=version, e.g. --set orders=2.0.0`);
    });
  }
});

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    [' 2s ', 2000],
    ['0s', 0],
  ];
  for (const [text, ms] of good) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () =>
      expect(parseDuration(text, '--pause')).toBe(ms));
  }
  for (const text of ['30', 's', '-5s', '5 min', '1d', '', '1e3ms', '.5s']) {
    it(`refuses ${JSON.stringify(text)}, naming the flag`, () => {
      const e = refusal(() => parseDuration(text, '--ready-timeout'));
      expect(e).toMatchObject({ code: 'invalid_argument', field: 'ready-timeout' });
      expect(e.message).toContain(`--ready-timeout ${text}:`);
      expect(e.message).toContain('500ms, 30s, 5m or 1h');
    });
  }
});

describe('parseInterval (--interval of --watch and --follow)', () => {
  for (const [text, ms] of [
    ['100ms', 100],
    ['500ms', 500],
    ['1h', 3_600_000],
  ] as const) {
    it(`reads ${text} as ${ms} ms`, () => expect(parseInterval(text, '--interval')).toBe(ms));
  }
  // 0s polled the API without a pause (a walkthrough's `logs -f --interval 0s`: 16 % CPU).
  for (const text of ['0s', '99ms', '61m', '2h']) {
    it(`refuses ${text}, naming the flag and the range`, () => {
      const e = refusal(() => parseInterval(text, '--interval'));
      expect(e).toMatchObject({ code: 'invalid_argument', field: 'interval' });
      expect(e.message).toBe(
        `--interval ${text}: from 100ms to 1h (each round asks the API again)`,
      );
    });
  }
  it('refuses what is not a duration as parseDuration does', () => {
    expect(refusal(() => parseInterval('-1s', '--interval')).message).toContain('a duration');
  });
});

describe('nextSteps (the hint of a command without --wait)', () => {
  const promote = ['next: turnout release promote 5   (or abort 5)'];
  it('on its way to the goal (a canary asked of an open ticket): how to watch it first', () =>
    expect(nextSteps({ id: 5, state: 'open' }, 'canary', promote)).toEqual([
      'watch it get there: turnout release status 5 --watch',
      ...promote,
    ]));
  it('already at the goal, or no goal (create): the hint alone', () => {
    expect(nextSteps({ id: 5, state: 'canary' }, 'canary', promote)).toEqual(promote);
    expect(nextSteps({ id: 5, state: 'open' }, null, ['next: deploy'])).toEqual(['next: deploy']);
  });
});

describe('parseSegment (--segment)', () => {
  const good: [string, Record<string, unknown>][] = [
    ['header:x-user-tier=internal', { header: { name: 'x-user-tier', equals: 'internal' } }],
    ['cookie:beta=1', { cookie: { name: 'beta', equals: '1' } }],
    ['query:beta=yes', { query: { name: 'beta', equals: 'yes' } }],
    // The value may hold '=' and ':'; only the first '=' ends the name.
    ['header:x-a=b=c:d', { header: { name: 'x-a', equals: 'b=c:d' } }],
    ['cidr:10.0.0.0/8', { cidr: '10.0.0.0/8' }],
    ['cidr:::1/128', { cidr: '::1/128' }],
  ];
  for (const [text, match] of good) {
    it(`reads ${text}`, () => expect(parseSegment(text)).toEqual(match));
  }
  for (const text of [
    'internal',
    'header:x-tier',
    'header:=internal',
    'ip:10.0.0.0/8',
    'cidr:',
    'percent:10',
    '',
  ]) {
    it(`refuses ${JSON.stringify(text)}, naming --segment`, () => {
      const e = refusal(() => parseSegment(text));
      expect(e).toMatchObject({ code: 'invalid_argument', field: 'segment' });
      expect(e.message).toContain(`--segment ${text}: expected header:NAME=VALUE`);
    });
  }
});

describe('parseCount (--replicas, --surge)', () => {
  it('reads whole numbers of at least 1', () => {
    expect(parseCount('1', '--replicas')).toBe(1);
    expect(parseCount('12', '--surge')).toBe(12);
  });
  for (const text of ['0', '-1', '1.5', 'two', '', ' ']) {
    it(`refuses ${JSON.stringify(text)}, naming the flag`, () => {
      const e = refusal(() => parseCount(text, '--surge'));
      expect(e).toMatchObject({ code: 'invalid_argument', field: 'surge' });
      expect(e.message).toContain(`--surge ${text}:`);
    });
  }
});

describe('bad release flags end the CLI with exit 2 before any request', () => {
  // A closed port: reaching the network would fail differently (exit 1, "cannot reach").
  const server = ['--server', 'http://127.0.0.1:1'];
  const cases: [string[], string][] = [
    [['release', 'create', 'shop', '--set', 'orders'], '--set orders: expected module=version'],
    [['release', 'create', 'shop', '--set', 'web=1.0.0', '--surge', '0'], '--surge 0:'],
    [['release', 'create', 'shop', '--set', 'web=1.0.0', '--replicas', 'x'], '--replicas x:'],
    [
      ['release', 'create', 'shop', '--set', 'web=1.0.0', '--ready-timeout', '10'],
      '--ready-timeout 10:',
    ],
    [['release', 'canary', '2', '--steps', '1,x'], '--steps 1,x: numbers separated by commas'],
    [['release', 'canary', '2', '--steps', '1', '--segment', 'vip'], '--segment vip:'],
    [['release', 'canary', '2', '--steps', '1', '--key', 'ip'], '--key ip:'],
    [['release', 'canary', '2', '--steps', '1', '--pause', 'soon'], '--pause soon:'],
    [
      ['release', 'canary', '2', '--steps', '1', '--pause', '5s', '--manual'],
      '--manual and --pause exclude each other',
    ],
    [['release', 'promote', 'two'], 'ticket two: a ticket id is a positive integer'],
    [['release', 'status', '0'], 'ticket 0: a ticket id is a positive integer'],
  ];
  for (const [args, message] of cases) {
    it(args.slice(1).join(' '), async () => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['node', 'turnout', ...args, ...server], {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
      });
      expect(code, err.join('\n')).toBe(2);
      expect(err.join('\n')).toContain(message);
      expect(out).toEqual([]);
    });
  }
});

describe('withTrust (--trust)', () => {
  it('puts the trust on header, cookie and query segments and on the key, not on cidr', () => {
    const body = {
      segments: [parseSegment('header:x-user-tier=internal'), parseSegment('cidr:10.0.0.0/8')],
    } as Parameters<typeof withTrust>[0];
    withTrust(body, 'any-client');
    expect(body).toEqual({
      segments: [
        { header: { name: 'x-user-tier', equals: 'internal', trust: 'any-client' } },
        { cidr: '10.0.0.0/8' },
      ],
      key: { header: 'x-user-id', trust: 'any-client' },
    });
  });

  it('refuses an unknown source, naming --trust and the choices', () => {
    const e = refusal(() => withTrust({ segments: [] }, 'anyone'));
    expect(e).toMatchObject({ code: 'invalid_argument', field: 'trust' });
    expect(e.message).toBe('--trust anyone: expected one of trusted-hop, signed, any-client');
  });
});

describe('prereleaseHint: a curl ready to paste', () => {
  const t = {
    id: 7,
    product: 'shop',
    state: 'prerelease',
    goal: 'prerelease',
    items: [],
    revertOf: null,
    plan: { prereleaseHeader: 'x-prerelease' },
    progress: {},
    prereleaseSecret: 's3cret',
  };

  it('names the product host and the edge when both are known', () => {
    const lines = prereleaseHint(t, { edge: 'http://127.0.0.1:18080', host: 'shop.localhost' });
    expect(lines[1]).toBe(
      "  curl -H 'Host: shop.localhost' -H 'x-prerelease: s3cret' http://127.0.0.1:18080/",
    );
    expect(lines.some((l) => l.includes('TURNOUT_EDGE'))).toBe(false);
  });

  it('says what is missing instead of guessing an address', () => {
    const lines = prereleaseHint(t, { edge: null, host: null });
    expect(lines[1]).toBe(
      "  curl -H 'Host: <a shop host>' -H 'x-prerelease: s3cret' <the edge address>/",
    );
    expect(lines).toContain(
      '  (the control plane does not know its edge: set TURNOUT_EDGE=http://HOST:PORT)',
    );
    expect(lines).toContain('  (product shop has no hosts: add one to reach it by edge)');
  });
});
