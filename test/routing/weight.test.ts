// Specification tests for union weights (reference §4.2, §4.3): the number grammar, and the lossy
// Java `"%.2f"` formatting (HALF_UP on the shortest decimal form, always a '.' decimal point).

import { describe, expect, it } from 'vitest';
import { parseNameTree } from '../../src/routing/parser.js';
import type { Path } from '../../src/routing/path.js';
import type { NameTree } from '../../src/routing/tree.js';
import { showNameTree } from '../../src/routing/tree.js';
import { formatWeight } from '../../src/routing/weight.js';

function firstWeight(tree: NameTree<Path>): number {
  if (tree.kind !== 'union') throw new Error(`expected a union, got ${tree.kind}`);
  return tree.branches[0]!.weight;
}

describe('formatWeight', () => {
  it.each<[number, string]>([
    [0, '0.00'],
    [1, '1.00'],
    [2, '2.00'],
    [0.3, '0.30'],
    [0.5, '0.50'],
    [0.333, '0.33'],
    [1 / 3, '0.33'],
    [2 / 3, '0.67'],
    [10, '10.00'],
    [1234.5678, '1234.57'],
    [123456.789, '123456.79'],
  ])('formats %d as %j', (weight, text) => {
    expect(formatWeight(weight)).toBe(text);
  });

  it.each<[number, string]>([
    // Java rounds the shortest decimal form HALF_UP; JS toFixed rounds the binary value.
    [1.005, '1.01'],
    [0.005, '0.01'],
    [0.015, '0.02'],
    [0.125, '0.13'],
    [2.675, '2.68'],
    [1.115, '1.12'],
    [0.335, '0.34'],
    [0.994999, '0.99'],
    [0.995, '1.00'],
    [9.995, '10.00'],
    [99.999, '100.00'],
    [0.0049, '0.00'],
  ])('rounds %d HALF_UP like Java to %j', (weight, text) => {
    expect(formatWeight(weight)).toBe(text);
  });

  it('differs from Number.prototype.toFixed exactly where Java and JS rounding differ', () => {
    expect((1.005).toFixed(2)).toBe('1.00');
    expect(formatWeight(1.005)).toBe('1.01');
  });

  it.each<[number, string]>([
    [1e21, '1000000000000000000000.00'],
    [1.2345e25, '12345000000000000000000000.00'],
    [1e-7, '0.00'],
    [1.5e-3, '0.00'],
    [5e-3, '0.01'],
    [5e-324, '0.00'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    [-0.001, '-0.00'],
    [-2.5, '-2.50'],
  ])('formats the edge value %d as %j', (weight, text) => {
    expect(formatWeight(weight)).toBe(text);
  });

  it('always uses a "." decimal point, whatever the locale', () => {
    expect(formatWeight(0.3)).toBe('0.30');
    expect(formatWeight(1234567.891)).toBe('1234567.89'); // no grouping separators either
  });
});

describe('weights in name trees', () => {
  it.each<[string, number]>([
    ['1', 1],
    ['.5', 0.5],
    ['1.', 1],
    ['0.25', 0.25],
    ['00.50', 0.5],
    ['1.005', 1.005],
  ])('parses the weight %j as the double %d', (text, weight) => {
    expect(firstWeight(parseNameTree(`${text}*/a & /b`))).toBe(weight);
  });

  it.each<[string, string]>([
    ['0.1.2', "number char expected but '.' found at '0.1[.]2*/a & /b'"],
    ['.', "weight expected but '.' found at '.[*]/a & /b'"],
    ['-1', "simple expected but '-' found at '[-]1*/a & /b'"],
    ['+1', "simple expected but '+' found at '[+]1*/a & /b'"],
    ['1e2', "'*' expected but 'e' found at '1[e]2*/a & /b'"],
    ['1,5', "'*' expected but ',' found at '1[,]5*/a & /b'"],
  ])('rejects the weight %j', (text, message) => {
    expect(() => parseNameTree(`${text}*/a & /b`)).toThrow(message);
  });

  it('loses precision on show: a weight is rounded to 2 decimals on every show → parse hop', () => {
    const shown = showNameTree(parseNameTree('0.333 * /a & /b'));
    expect(shown).toBe('0.33*/a & /b');
    expect(firstWeight(parseNameTree(shown))).toBe(0.33);
  });

  it('loses a weight that rounds to 1.00 after two hops (shown once as "1.00*", then omitted)', () => {
    const once = showNameTree(parseNameTree('1.001 * /a & /b'));
    expect(once).toBe('1.00*/a & /b');
    const twice = showNameTree(parseNameTree(once));
    expect(twice).toBe('/a & /b');
  });

  it('discards the weight of a single-term union on parse', () => {
    expect(showNameTree(parseNameTree('0.5 * /a'))).toBe('/a');
    expect(parseNameTree('0.5 * /a').kind).toBe('leaf');
  });

  it('keeps weights exact at two decimals through show → parse', () => {
    for (let k = 0; k <= 1000; k++) {
      const weight = k / 100;
      const tree = parseNameTree(showNameTree(parseNameTree(`${weight} * /a & /b`)));
      expect(firstWeight(tree)).toBe(weight);
    }
  });
});
