// The one escaping function the API's errors and the CLI's human output share, and the table
// printer that uses it (a newline in a value must not start a fake row).

import { describe, expect, it } from 'vitest';
import { formatTable } from '../../src/cli/get-command.js';
import { boundMessage, escapeControl, quote } from '../../src/safe-text.js';

describe('escapeControl', () => {
  it('escapes C0, DEL, C1, line separators and bidi overrides; leaves other text alone', () => {
    expect(escapeControl('a\u001b[2Jb\u0007c\u007fd\u009be')).toBe('a\\x1b[2Jb\\x07c\\x7fd\\x9be');
    expect(escapeControl('x\ny\tz\r')).toBe('x\\ny\\tz\\r');
    expect(escapeControl('\u2028\u202e\u2066')).toBe('\\u2028\\u202e\\u2066');
    expect(escapeControl('héllo → wörld ✓ 日本')).toBe('héllo → wörld ✓ 日本');
  });

  it('keeps newlines when asked (text already made of escaped lines)', () => {
    expect(escapeControl('a\nb\u001bc', { keepNewlines: true })).toBe('a\nb\\x1bc');
  });
});

describe('quote and boundMessage', () => {
  it('quotes a short value whole and a long one by its first 64 characters and its length', () => {
    expect(quote('acme')).toBe('"acme"');
    expect(quote('a\u001b')).toBe('"a\\x1b"');
    expect(quote('x'.repeat(1000))).toBe(`"${'x'.repeat(64)}…" (1000 characters)`);
  });

  it('keeps a message of any length within the bound, its start and its end', () => {
    const long = `start ${'y'.repeat(10_000)} end`;
    const bounded = boundMessage(long);
    expect(bounded.length).toBe(512);
    expect(bounded.startsWith('start yyy')).toBe(true);
    expect(bounded.endsWith('yyy end')).toBe(true);
    expect(boundMessage('short\u001b')).toBe('short\\x1b');
  });
});

describe('formatTable', () => {
  it('prints a value holding a newline or ESC on its own row, escaped', () => {
    const table = formatTable(['name', 'note'], [{ name: 'a', note: 'one\ntwo\u001b[2J' }]);
    expect(table.split('\n')).toEqual(['NAME  NOTE', 'a     one\\ntwo\\x1b[2J']);
  });
});
