import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, nextRestart, restartDelayMs } from '../../src/runtime/backoff.js';

describe('restart backoff', () => {
  it('starts at 0.5 s and doubles up to 30 s', () => {
    const delays = Array.from({ length: 10 }, (_, n) => restartDelayMs(n, DEFAULT_BACKOFF));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
    expect(restartDelayMs(5000, DEFAULT_BACKOFF)).toBe(30_000); // 2^5000 is Infinity, still clamped
  });

  it.each([
    // failures before, uptime, → delay, failures after
    [0, 100, 500, 1],
    [1, 100, 1000, 2],
    [3, 59_999, 4000, 4],
    [6, 59_999, 30_000, 7],
    [6, 60_000, 500, 1], // up a minute: forgiven
    [2, 3_600_000, 500, 1],
  ])(
    'after %i failures and %i ms up: waits %i ms, %i failures',
    (failures, uptime, delay, after) => {
      expect(nextRestart(failures, uptime, DEFAULT_BACKOFF)).toEqual({
        delayMs: delay,
        failures: after,
      });
    },
  );

  it('follows a custom policy', () => {
    const policy = { initialMs: 200, maxMs: 1000, resetAfterMs: 5000 };
    let failures = 0;
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const next = nextRestart(failures, 10, policy);
      delays.push(next.delayMs);
      failures = next.failures;
    }
    expect(delays).toEqual([200, 400, 800, 1000, 1000]);
  });
});
