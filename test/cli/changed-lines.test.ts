import { describe, expect, it } from 'vitest';
import { changedLines } from '../../src/cli/changed-lines.js';

describe('changedLines (the live view without a terminal)', () => {
  it.each([
    { name: 'nothing before: every line', prev: [], next: ['a', 'b'], want: ['a', 'b'] },
    { name: 'the same view: nothing', prev: ['a', 'b'], next: ['a', 'b'], want: [] },
    {
      name: 'one line changed',
      prev: ['a', 'b: 1', 'c'],
      next: ['a', 'b: 2', 'c'],
      want: ['b: 2'],
    },
    { name: 'a line added at the end', prev: ['a'], next: ['a', 'event 2'], want: ['event 2'] },
    { name: 'a line removed: nothing new', prev: ['a', 'b'], next: ['a'], want: [] },
    { name: 'a repeated line counts twice', prev: ['x'], next: ['x', 'x'], want: ['x'] },
    { name: 'order of next is kept', prev: [], next: ['b', 'a'], want: ['b', 'a'] },
    { name: 'back to an older value is new again', prev: ['s: B'], next: ['s: A'], want: ['s: A'] },
  ])('$name', ({ prev, next, want }) => {
    expect(changedLines(prev, next)).toEqual(want);
  });
});
