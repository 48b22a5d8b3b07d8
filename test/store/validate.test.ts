// Pure store validation (src/store/validate.ts, graph.ts, cursor.ts): no database involved.

import { describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import { decodeCursor, encodeCursor, pageLimit, toPage } from '../../src/store/cursor.js';
import { moduleInputSchema, productInputSchema } from '../../src/store/model.js';
import {
  checkNoCycle,
  fieldOf,
  findCycle,
  parseInput,
  reachableModules,
  sameJson,
} from '../../src/store/validate.js';

const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

function thrown(fn: () => unknown): TurnoutError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TurnoutError) return error;
    throw error;
  }
  throw new Error('expected a TurnoutError');
}

describe('findCycle', () => {
  it.each<[string, Record<string, string[]>, string[] | null]>([
    ['no edges', { a: [], b: [] }, null],
    ['a diamond', { a: ['b', 'c'], b: ['d'], c: ['d'], d: [] }, null],
    ['a self loop', { a: ['a'] }, ['a', 'a']],
    ['two nodes', { orders: ['account'], account: ['orders'] }, ['account', 'orders', 'account']],
    ['behind a tail', { a: ['b'], b: ['c'], c: ['d'], d: ['b'] }, ['b', 'c', 'd', 'b']],
    ['unknown callees ignored', { a: ['x'], b: ['a'] }, null],
  ])('%s', (_, edges, cycle) => {
    expect(findCycle(graph(edges))).toEqual(cycle);
  });

  it('handles a deep chain without recursion limits', () => {
    const edges: Record<string, string[]> = {};
    for (let i = 0; i < 50_000; i++) edges[`m${i}`] = [`m${i + 1}`];
    edges.m50000 = ['m0'];
    const cycle = findCycle(graph(edges));
    expect(cycle?.length).toBe(50_002);
  });
});

describe('checkNoCycle', () => {
  it('names the cycle from the changed module', () => {
    const g = graph({ orders: ['account'], account: ['orders'] });
    const e = thrown(() => checkNoCycle(g, 'orders'));
    expect(e).toMatchObject({ code: 'invalid_config', field: 'calls' });
    expect(e.message).toBe('calls: dependency cycle orders → account → orders');
    expect(thrown(() => checkNoCycle(g)).message).toMatch(/account → orders → account$/);
  });
});

describe('reachableModules', () => {
  it('is the entry and everything it calls, transitively', () => {
    const g = graph({ web: ['orders'], orders: ['account'], account: [], reports: [] });
    expect([...reachableModules('web', g)].sort()).toEqual(['account', 'orders', 'web']);
  });
});

describe('parseInput', () => {
  it('names the field and the reason', () => {
    const e = thrown(() =>
      parseInput(moduleInputSchema, { name: 'm', org: 'o', run: { process: {} } }, 'module'),
    );
    expect(e).toMatchObject({ code: 'invalid_config', field: 'run.process.command' });
    expect(e.message).toBe('module run.process.command: is required');
  });

  it('names an unknown key as the field', () => {
    const e = thrown(() =>
      parseInput(productInputSchema, { name: 'p', org: 'o', entry: 'e', host: [] }, 'product'),
    );
    expect(e).toMatchObject({ field: 'host', message: 'product host: is not a known field' });
  });

  it('formats paths', () => {
    expect(fieldOf(['items', 1, 'version'])).toBe('items[1].version');
    expect(fieldOf([])).toBe('');
  });
});

describe('sameJson', () => {
  it('ignores key order but not array order', () => {
    expect(sameJson({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameJson({ a: undefined }, {})).toBe(true);
    expect(sameJson(null, {})).toBe(false);
  });
});

describe('cursors', () => {
  it('round-trip a key and check its shape', () => {
    expect(decodeCursor(encodeCursor(['orders', '2.3.0']), 2)).toEqual(['orders', '2.3.0']);
    expect(() => decodeCursor(encodeCursor(['x']), 2)).toThrow(/cursor/);
    expect(() => decodeCursor('%%%', 1)).toThrow(/cursor/);
  });

  it('limits default to 100 and stay within 1..1000', () => {
    expect(pageLimit(undefined)).toBe(100);
    expect(pageLimit(1000)).toBe(1000);
    expect(() => pageLimit(0)).toThrow(/limit/);
  });

  it('a page has a next cursor only when a row beyond it exists', () => {
    const rows = [1, 2, 3];
    const key = (n: number) => [n];
    expect(toPage(rows, 3, key, String)).toEqual({ items: ['1', '2', '3'], nextCursor: null });
    const page = toPage(rows, 2, key, String);
    expect(page.items).toEqual(['1', '2']);
    expect(decodeCursor(page.nextCursor ?? '', 1)).toEqual([2]);
  });
});
