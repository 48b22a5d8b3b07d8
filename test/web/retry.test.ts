import { describe, expect, it } from 'vitest';
import { isUnreachable, retryDelayMs } from '../../web/src/retry.js';

describe('retryDelayMs', () => {
  it.each([
    [0, 0],
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [5, 15_000],
    [6, 15_000],
    [1_000, 15_000],
  ])('after %i unreachable loads in a row: %i ms', (failures, want) => {
    expect(retryDelayMs(failures)).toBe(want);
  });
});

/** What web/src/api.ts throws (its ApiError: an Error with the API's status and code). */
const apiError = (status: number, code: string, message: string) =>
  Object.assign(new Error(message), { status, code });

describe('isUnreachable', () => {
  it.each([
    [
      'no answer at all',
      apiError(0, 'unreachable', 'control plane unreachable: Failed to fetch'),
      true,
    ],
    ["the API's own error", apiError(503, 'unavailable', 'store unavailable'), false],
    ['a refusal', apiError(401, 'unauthorized', 'token required'), false],
    ['not an API error', new TypeError('x is undefined'), false],
    ['nothing', null, false],
  ])('%s: %s', (_name, error, want) => {
    expect(isUnreachable(error)).toBe(want);
  });
});
