import { describe, expect, it } from 'vitest';
import { StartLimit } from '../../src/runtime/start-limit.js';

describe('start limit', () => {
  it('runs at most N tasks at once, in arrival order, and passes on failures', async () => {
    const limit = new StartLimit(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (n: number) => async () => {
      running++;
      most = Math.max(most, running);
      order.push(n);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      if (n === 3) throw new Error('task 3 failed');
      return n;
    };
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => limit.run(task(n))));
    expect(most).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.message))).toEqual([
      1,
      2,
      'task 3 failed',
      4,
      5,
      6,
    ]);
    expect(await limit.run(async () => 'free again')).toBe('free again');
  });
});
