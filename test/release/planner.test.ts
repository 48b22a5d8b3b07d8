import { describe, expect, it } from 'vitest';
import { deployLevels } from '../../src/release/planner.js';
import { GRAPH } from './fixtures.js';

describe('deployLevels', () => {
  it.each([
    { modules: ['account'], levels: [['account']] },
    { modules: ['web', 'orders', 'account'], levels: [['account'], ['orders'], ['web']] },
    { modules: ['orders', 'catalog', 'account'], levels: [['account', 'catalog'], ['orders']] },
    // web reaches account only through orders, which the ticket does not change: still after it.
    { modules: ['web', 'account'], levels: [['account'], ['web']] },
    { modules: ['console', 'web'], levels: [['console', 'web']] },
    { modules: ['console', 'web', 'account'], levels: [['account'], ['console', 'web']] },
  ])('$modules → $levels', ({ modules, levels }) => {
    expect(deployLevels(modules, GRAPH)).toEqual(levels);
  });

  it('throws on a cycle rather than deploying in an arbitrary order', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['a']],
    ]);
    expect(() => deployLevels(['a', 'b'], cyclic)).toThrow(/cycle/);
  });

  it('a module unknown to the graph is a leaf', () => {
    expect(deployLevels(['ghost', 'web'], GRAPH)).toEqual([['ghost', 'web']]);
  });
});
