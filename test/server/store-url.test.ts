// Which store `up --store` / TURNOUT_STORE names: table-tested, including the refusals.

import { describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import { describeStoreLocation, parseStoreLocation } from '../../src/server/store-url.js';

describe('parseStoreLocation', () => {
  it.each([
    [undefined, { kind: 'sqlite', path: '/data/turnout.db' }],
    ['', { kind: 'sqlite', path: '/data/turnout.db' }],
    ['  ', { kind: 'sqlite', path: '/data/turnout.db' }],
    ['sqlite:other.db', { kind: 'sqlite', path: '/work/other.db' }],
    ['sqlite:/abs/t.db', { kind: 'sqlite', path: '/abs/t.db' }],
    ['sqlite:///abs/t.db', { kind: 'sqlite', path: '/abs/t.db' }],
    ['postgres://u@db:5432/turnout', { kind: 'postgres', url: 'postgres://u@db:5432/turnout' }],
    ['postgresql://u:p@db/t', { kind: 'postgres', url: 'postgresql://u:p@db/t' }],
  ])('%j', (spec, expected) => {
    expect(parseStoreLocation(spec, '/data', '--store', '/work')).toEqual(expected);
  });

  it.each([
    ['mysql://u:secret@db/t', /unknown store "mysql:"/],
    ['turnout.db', /unknown store \(no scheme\)/],
    ['sqlite:', /sqlite: needs a file path/],
    ['postgres://', /not a URL|names no host/],
    ['postgres://db', /names no database/],
    ['postgres://db/', /names no database/],
  ])('refuses %j naming the field and the reason', (spec, reason) => {
    let error: unknown;
    try {
      parseStoreLocation(spec, '/data', 'TURNOUT_STORE', '/work');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TurnoutError);
    const e = error as TurnoutError;
    expect(e.code).toBe('invalid_argument');
    expect(e.field).toBe('TURNOUT_STORE');
    expect(e.message).toMatch(/^TURNOUT_STORE: /);
    expect(e.message).toMatch(reason);
    // A refused URL is never echoed: it may carry a password.
    expect(e.message).not.toContain('secret');
  });

  it('never shows a password', () => {
    const at = parseStoreLocation('postgres://u:hunter2@db:5432/t', '/data');
    expect(describeStoreLocation(at)).toBe('postgres://u:***@db:5432/t');
    expect(describeStoreLocation(parseStoreLocation(undefined, '/d'))).toBe('/d/turnout.db');
  });
});
