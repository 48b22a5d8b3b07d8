// Specs for signed per-request routing overrides (`x-turnout-override`): token format, signature,
// key rotation, expiry, malformed tokens, the override policy, and that verification never throws.

import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import { parseDtab, showDtab } from '../../src/routing/index.js';
import {
  checkOverridePolicy,
  MAX_OVERRIDE_BYTES,
  MAX_OVERRIDE_DENTRIES,
  MAX_OVERRIDE_LIFETIME_MS,
  MAX_OVERRIDE_TOKEN_CHARS,
  OVERRIDE_ABSENT,
  type OverrideResult,
  signOverride,
  verifyOverride,
} from '../../src/routing/override.js';

const SECRET = 'current-secret-0123456789abcdef';
const OLD_SECRET = Buffer.from('previous-secret-fedcba9876543210');
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const EXPIRES = NOW + 10 * 60 * 1000;
const EXPIRES_S = EXPIRES / 1000;

const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64url');
const hmac = (secret: string | Buffer, signed: string): string =>
  createHmac('sha256', secret).update(signed).digest('base64url');

/** Builds a token by hand from the documented format, bypassing signOverride's policy check. */
function forge(
  dtab: string | Buffer,
  opts: { expires?: string | number; secret?: string | Buffer; tag?: string } = {},
): string {
  const signed = `${opts.tag ?? 'v1'}.${opts.expires ?? EXPIRES_S}.${b64(dtab)}`;
  return `${signed}.${hmac(opts.secret ?? SECRET, signed)}`;
}

function rejection(result: OverrideResult): string {
  return result.ok ? 'ok' : result.reason;
}

function thrown(fn: () => unknown): TurnoutError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TurnoutError) return error;
    throw error;
  }
  throw new Error('expected a TurnoutError');
}

const entries = (n: number): string =>
  Array.from({ length: n }, (_, i) => `/svc/m${i}=>/v/m${i}/1.0.${i}`).join(';');

/** A valid dtab of exactly `bytes` bytes (a comment pads it). */
function dtabOfBytes(bytes: number): string {
  const base = '/svc/orders=>/v/orders/2.3.0\n#';
  return base + 'x'.repeat(bytes - base.length);
}

describe('signOverride → verifyOverride round trip', () => {
  const valid: [string, string][] = [
    ['one rule', '/svc/orders=>/v/orders/2.3.0'],
    ['weighted union', '/svc/orders=>0.9*/v/orders/2.3.0 & 0.1*/v/orders/2.4.0'],
    ['alternation with ~ fallback', '/svc/orders=>/v/orders/2.4.0 | ~'],
    ['only ~', '/svc/orders=>~'],
    ['wildcard after /svc/<name>', '/svc/orders/*/admin=>/v/orders-admin/1.0.0'],
    ['longer /v/ destination', '/svc/orders=>/v/orders/2.4.0/extra'],
    ['nested tree', '/svc/a=>(/v/a/2 | /v/a/1) & 0.5*(/v/b/1 | ~)'],
    ['several rules, whitespace, comments', '# tester\n/svc/a => /v/a/2 ;\n/svc/b=>/v/b/3;'],
    ['escaped label bytes', '/svc/caf\\xc3\\xa9=>/v/caf\\xc3\\xa9/1'],
    [`${MAX_OVERRIDE_DENTRIES} dentries`, entries(MAX_OVERRIDE_DENTRIES)],
    [`exactly ${MAX_OVERRIDE_BYTES} bytes`, dtabOfBytes(MAX_OVERRIDE_BYTES)],
  ];

  it.each(valid)('%s', (_name, text) => {
    const token = signOverride(text, SECRET, EXPIRES);
    expect(verifyOverride(token, [SECRET], NOW)).toEqual({
      ok: true,
      dtab: parseDtab(text),
      expiresAtMs: EXPIRES,
    });
  });

  it('signs a text dtab exactly as written, in the documented format', () => {
    const text = '/svc/a => /v/a/2 # note';
    const token = signOverride(text, SECRET, EXPIRES);
    const signed = `v1.${EXPIRES_S}.${b64(text)}`;
    expect(token).toBe(`${signed}.${hmac(SECRET, signed)}`);
    expect(token).toBe(forge(text));
  });

  it('signs a parsed dtab in its show form', () => {
    const dtab = parseDtab('/svc/a => /v/a/2 | ~ ; /svc/b => 0.25 * /v/b/1 & 0.75 * /v/b/2');
    const token = signOverride(dtab, SECRET, EXPIRES);
    expect(token).toBe(forge(showDtab(dtab)));
    const result = verifyOverride(token, [SECRET], NOW);
    expect(result.ok && showDtab(result.dtab)).toBe(showDtab(dtab));
  });

  it('rounds the expiry down to a whole second', () => {
    const token = signOverride('/svc/a=>/v/a/1', SECRET, EXPIRES + 999);
    expect(token.split('.')[1]).toBe(String(EXPIRES_S));
    expect(verifyOverride(token, [SECRET], NOW)).toMatchObject({ ok: true, expiresAtMs: EXPIRES });
  });
});

describe('signature', () => {
  const token = signOverride('/svc/orders=>/v/orders/2.4.0', SECRET, EXPIRES);
  const [tag, expiry, dtab, mac] = token.split('.') as [string, string, string, string];
  const flip = (s: string, i: number): string =>
    s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

  const cases: [string, string, readonly (string | Buffer)[], string][] = [
    ['the genuine token', token, [SECRET], 'ok'],
    [
      'tampered dtab',
      [tag, expiry, b64('/svc/orders=>/v/orders/6.6.6'), mac].join('.'),
      [SECRET],
      'bad_signature',
    ],
    [
      'tampered expiry (one second later)',
      [tag, EXPIRES_S + 1, dtab, mac].join('.'),
      [SECRET],
      'bad_signature',
    ],
    [
      'tampered signature (first char)',
      [tag, expiry, dtab, flip(mac, 0)].join('.'),
      [SECRET],
      'bad_signature',
    ],
    [
      'tampered signature (middle char)',
      [tag, expiry, dtab, flip(mac, 20)].join('.'),
      [SECRET],
      'bad_signature',
    ],
    ['wrong secret', token, ['some-other-secret'], 'bad_signature'],
    [
      'rotation: new secret first, old one still verifies',
      forge('/svc/a=>/v/a/1', { secret: OLD_SECRET }),
      [SECRET, OLD_SECRET],
      'ok',
    ],
    [
      'rotation: old secret retired',
      forge('/svc/a=>/v/a/1', { secret: OLD_SECRET }),
      [SECRET],
      'bad_signature',
    ],
    ['rotation: new token, old secret listed first', token, [OLD_SECRET, SECRET], 'ok'],
    ['string and Buffer forms of one secret agree', token, [Buffer.from(SECRET)], 'ok'],
    ['no secrets configured', token, [], 'bad_signature'],
    [
      'only empty secrets configured',
      forge('/svc/a=>/v/a/1', { secret: '' }),
      ['', Buffer.alloc(0)],
      'bad_signature',
    ],
    ['no secrets: even malformed tokens are bad_signature', 'junk', [], 'bad_signature'],
  ];

  it.each(cases)('%s', (_name, candidate, secrets, expected) => {
    expect(rejection(verifyOverride(candidate, secrets, NOW))).toBe(expected);
  });

  it('checks the signature before expiry: a forged expired token is bad_signature', () => {
    const forged = forge('/svc/a=>/v/a/1', { secret: 'attacker', expires: 1 });
    expect(rejection(verifyOverride(forged, [SECRET], NOW))).toBe('bad_signature');
  });

  it('checks the signature before parsing: a forged unparsable dtab is bad_signature', () => {
    const forged = forge('/svc/a=>((((', { secret: 'attacker' });
    expect(rejection(verifyOverride(forged, [SECRET], NOW))).toBe('bad_signature');
  });
});

describe('expiry', () => {
  const token = signOverride('/svc/a=>/v/a/1', SECRET, EXPIRES);
  const cases: [string, number, string][] = [
    ['well before expiry', NOW, 'ok'],
    ['exactly at expiry (still valid)', EXPIRES, 'ok'],
    ['1 ms before expiry', EXPIRES - 1, 'ok'],
    ['1 ms after expiry', EXPIRES + 1, 'expired'],
    ['a day after expiry', EXPIRES + MAX_OVERRIDE_LIFETIME_MS, 'expired'],
    ['exactly the max lifetime ahead', EXPIRES - MAX_OVERRIDE_LIFETIME_MS, 'ok'],
    ['1 ms more than the max lifetime ahead', EXPIRES - MAX_OVERRIDE_LIFETIME_MS - 1, 'policy'],
    ['a year ahead', EXPIRES - 365 * 24 * 3600 * 1000, 'policy'],
    ['a NaN clock', Number.NaN, 'expired'],
  ];

  it.each(cases)('%s', (_name, now, expected) => {
    expect(rejection(verifyOverride(token, [SECRET], now))).toBe(expected);
  });

  it('reports the expiry time in the message', () => {
    const result = verifyOverride(token, [SECRET], EXPIRES + 1);
    expect(result.ok ? '' : result.message).toContain(new Date(EXPIRES).toISOString());
  });
});

describe('absent and malformed tokens', () => {
  it.each([undefined, ''])('%j is absent: the shared frozen result', (token) => {
    const result = verifyOverride(token, [SECRET], NOW);
    expect(result).toBe(OVERRIDE_ABSENT);
    expect(result).toEqual({ ok: false, reason: 'absent', message: expect.any(String) });
    expect(Object.isFrozen(result)).toBe(true);
  });

  const good = forge('/svc/a=>/v/a/1');
  const [, expiry, dtab, mac] = good.split('.') as [string, string, string, string];
  const cases: [string, string][] = [
    ['one part', 'garbage'],
    ['three parts', `v1.${expiry}.${dtab}`],
    ['five parts', `${good}.x`],
    ['empty parts', '...'],
    ['wrong version tag', forge('/svc/a=>/v/a/1', { tag: 'v2' })],
    ['upper-case version tag', forge('/svc/a=>/v/a/1', { tag: 'V1' })],
    ['non-numeric expiry', forge('/svc/a=>/v/a/1', { expires: 'soon' })],
    ['negative expiry', forge('/svc/a=>/v/a/1', { expires: '-1' })],
    ['zero expiry', forge('/svc/a=>/v/a/1', { expires: '0' })],
    ['leading zero in expiry', forge('/svc/a=>/v/a/1', { expires: `0${expiry}` })],
    ['exponent expiry', forge('/svc/a=>/v/a/1', { expires: '2e9' })],
    ['fractional expiry', forge('/svc/a=>/v/a/1', { expires: `${expiry}.5` })],
    ['13-digit expiry', forge('/svc/a=>/v/a/1', { expires: '1'.repeat(13) })],
    ['empty expiry', `v1..${dtab}.${mac}`],
    ['dtab with base64 (not url) characters', `v1.${expiry}.${dtab}+/.${mac}`],
    ['dtab with padding', `v1.${expiry}.${b64('/svc/a=>/v/a/11')}=.${mac}`],
    ['dtab of impossible length', `v1.${expiry}.AAAAA.${mac}`],
    ['dtab with non-zero trailing bits', `v1.${expiry}.${b64('ab').slice(0, 2)}x.${mac}`],
    ['signature too short', `v1.${expiry}.${dtab}.${mac.slice(1)}`],
    ['signature too long', `v1.${expiry}.${dtab}.${mac}A`],
    ['signature with padding', `v1.${expiry}.${dtab}.${mac}=`],
    ['signature not base64url', `v1.${expiry}.${dtab}.${'*'.repeat(43)}`],
    ['surrounding whitespace', ` ${good}`],
    ['signed dtab that does not parse', forge('/svc/a=>((')],
    ['signed dtab that is not UTF-8', forge(Buffer.from([0x2f, 0xff, 0xfe]))],
  ];

  it.each(cases)('%s', (_name, token) => {
    expect(rejection(verifyOverride(token, [SECRET], NOW))).toBe('malformed');
  });

  it.each([
    ['a token over the length limit', 'v1.'.padEnd(MAX_OVERRIDE_TOKEN_CHARS + 1, 'A')],
    ['a dtab part over the size limit', forge(dtabOfBytes(MAX_OVERRIDE_BYTES + 1))],
  ])('%s is too_large', (_name, token) => {
    expect(rejection(verifyOverride(token, [SECRET], NOW))).toBe('too_large');
  });
});

describe('policy', () => {
  // [name, dtab text, reason verifyOverride gives when such a dtab is validly signed, message part]
  const refused: [string, string, 'policy' | 'too_large', string][] = [
    ['/$/inet destination (SSRF)', '/svc/redis=>/$/inet/10.0.0.5/6379', 'policy', '/$/'],
    [
      '/$/inet as an alternation fallback',
      '/svc/a=>/v/a/2 | /$/inet/evil.example/443',
      'policy',
      '/$/',
    ],
    ['/$/ namer by name', '/svc/a=>/$/com.example.Namer/x', 'policy', '/$/'],
    ['/svc alone (too broad)', '/svc=>/v/x/1', 'policy', 'too broad'],
    ['/svc/* (too broad)', '/svc/*=>/v/x/1', 'policy', 'too broad'],
    ['/ (every path)', '/=>/v/x/1', 'policy', '/svc/<name>'],
    ['/* (every path)', '/*=>/v/x/1', 'policy', '/svc/<name>'],
    ['prefix outside /svc', '/other/a=>/v/a/1', 'policy', '/svc/<name>'],
    ['wildcard in place of svc', '/*/a=>/v/a/1', 'policy', '/svc/<name>'],
    ['! (fail)', '/svc/a=>!', 'policy', "'!'"],
    ['$ (empty)', '/svc/a=>$', 'policy', "'$'"],
    ['! inside an alternation', '/svc/a=>/v/a/2 | !', 'policy', "'!'"],
    ['$ inside a union', '/svc/a=>0.5*/v/a/2 & 0.5*$', 'policy', "'$'"],
    ['re-delegation to /svc', '/svc/a=>/svc/b', 'policy', '/v/<module>/<version>'],
    ['destination without a version', '/svc/a=>/v/a', 'policy', '/v/<module>/<version>'],
    ['bare /v', '/svc/a=>/v', 'policy', '/v/<module>/<version>'],
    ['destination outside /v', '/svc/a=>/w/a/1', 'policy', '/v/<module>/<version>'],
    ['a bad dentry after good ones', '/svc/a=>/v/a/1;/svc/b=>!', 'policy', 'dentry 2'],
    ['no dentries', '', 'policy', 'no dentries'],
    ['only a comment', '# nothing', 'policy', 'no dentries'],
    [
      `${MAX_OVERRIDE_DENTRIES + 1} dentries`,
      entries(MAX_OVERRIDE_DENTRIES + 1),
      'too_large',
      'dentries',
    ],
    [`${MAX_OVERRIDE_BYTES + 1} bytes`, dtabOfBytes(MAX_OVERRIDE_BYTES + 1), 'too_large', 'bytes'],
  ];

  describe('signOverride refuses', () => {
    it.each(refused)('%s', (_name, text, _reason, part) => {
      const error = thrown(() => signOverride(text, SECRET, EXPIRES));
      expect(error.code).toBe('invalid_override');
      expect(error.field).toBe('dtab');
      expect(error.message).toContain(part);
    });
  });

  describe('verifyOverride ignores a validly signed token that breaks the policy', () => {
    it.each(refused)('%s', (_name, text, reason, part) => {
      const result = verifyOverride(forge(text), [SECRET], NOW);
      expect(result).toEqual({ ok: false, reason, message: expect.stringContaining(part) });
    });
  });

  describe('checkOverridePolicy', () => {
    it.each(refused)('refuses %s', (_name, text, _reason, part) => {
      expect(checkOverridePolicy(parseDtab(text), text)).toContain(part);
    });

    it.each(['/svc/a=>/v/a/1', '/svc/a/*=>/v/a/1 | ~', entries(MAX_OVERRIDE_DENTRIES)])(
      'accepts %s',
      (text) => {
        expect(checkOverridePolicy(parseDtab(text))).toBeNull();
      },
    );

    it('measures the show form when no text is given', () => {
      expect(checkOverridePolicy(parseDtab(dtabOfBytes(MAX_OVERRIDE_BYTES + 1)))).toBeNull();
    });
  });
});

describe('signOverride arguments', () => {
  const cases: [string, () => unknown, string, string][] = [
    ['unparsable dtab', () => signOverride('/svc/a=>', SECRET, EXPIRES), 'dtab', 'does not parse'],
    ['empty string secret', () => signOverride('/svc/a=>/v/a/1', '', EXPIRES), 'secret', 'empty'],
    [
      'empty Buffer secret',
      () => signOverride('/svc/a=>/v/a/1', Buffer.alloc(0), EXPIRES),
      'secret',
      'empty',
    ],
    [
      'NaN expiry',
      () => signOverride('/svc/a=>/v/a/1', SECRET, Number.NaN),
      'expiresAt',
      'not a valid',
    ],
    ['zero expiry', () => signOverride('/svc/a=>/v/a/1', SECRET, 0), 'expiresAt', 'not a valid'],
    [
      'expiry under a second',
      () => signOverride('/svc/a=>/v/a/1', SECRET, 999),
      'expiresAt',
      'not a valid',
    ],
    [
      'infinite expiry',
      () => signOverride('/svc/a=>/v/a/1', SECRET, Number.POSITIVE_INFINITY),
      'expiresAt',
      'not a valid',
    ],
    [
      'past expiry, given now',
      () => signOverride('/svc/a=>/v/a/1', SECRET, NOW - 1000, NOW),
      'expiresAt',
      'past',
    ],
    [
      'expiry beyond the max lifetime, given now',
      () => signOverride('/svc/a=>/v/a/1', SECRET, NOW + MAX_OVERRIDE_LIFETIME_MS + 1000, NOW),
      'expiresAt',
      '24 h',
    ],
  ];

  it.each(cases)('refuses %s', (_name, fn, field, part) => {
    const error = thrown(fn);
    expect(error.code).toBe('invalid_override');
    expect(error.field).toBe(field);
    expect(error.message).toContain(part);
  });

  it('accepts an expiry exactly the max lifetime ahead, given now', () => {
    const token = signOverride('/svc/a=>/v/a/1', SECRET, NOW + MAX_OVERRIDE_LIFETIME_MS, NOW);
    expect(rejection(verifyOverride(token, [SECRET], NOW))).toBe('ok');
  });
});

describe('properties', () => {
  const good = signOverride('/svc/orders=>/v/orders/2.4.0 | ~', SECRET, EXPIRES);
  const tokenish = fc
    .array(
      fc.oneof(
        fc.constantFrom('v1', String(EXPIRES_S), '', '=', '0', ...good.split('.')),
        fc.string({ unit: fc.constantFrom(...'AZaz09-_+/=.'.split('')), maxLength: 60 }),
      ),
      { maxLength: 6 },
    )
    .map((parts) => parts.join('.'));

  it('verifyOverride never throws and never accepts an arbitrary string', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), tokenish),
        fc.integer({ min: 0, max: 2 ** 42 }),
        (token, now) => {
          const result = verifyOverride(token, [SECRET, OLD_SECRET], now);
          expect(result.ok).toBe(false);
          expect(typeof (result.ok ? '' : result.message)).toBe('string');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('any one-character change to a valid token is rejected without throwing', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: good.length - 1 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
        (i, c) => {
          fc.pre(good[i] !== c);
          const result = verifyOverride(good.slice(0, i) + c + good.slice(i + 1), [SECRET], NOW);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
