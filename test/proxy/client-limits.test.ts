// The proxy's client-limit flags: `--client-header-timeout`, `--client-body-timeout`,
// `--client-idle-timeout` and `--max-connections` take whole numbers ≥ 1; anything else is
// refused naming the flag.

import { describe, expect, it } from 'vitest';
import { clientLimitsFrom } from '../../src/cli/proxy-command.js';
import { TurnoutError } from '../../src/errors.js';

const GOOD = {
  clientHeaderTimeout: '10000',
  clientBodyTimeout: '30000',
  maxConnections: '4096',
  clientIdleTimeout: '60000',
};

describe('client limit flags', () => {
  it('reads whole numbers', () => {
    expect(clientLimitsFrom(GOOD)).toEqual({
      headerTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
      maxConnections: 4_096,
      idleTimeoutMs: 60_000,
    });
  });

  it.each([
    ['clientHeaderTimeout', '0', '--client-header-timeout'],
    ['clientBodyTimeout', '-5', '--client-body-timeout'],
    ['maxConnections', '1.5', '--max-connections'],
    ['maxConnections', 'many', '--max-connections'],
    ['clientHeaderTimeout', '', '--client-header-timeout'],
    ['clientIdleTimeout', '0', '--client-idle-timeout'],
    ['clientIdleTimeout', '5s', '--client-idle-timeout'],
  ])('refuses %s = %j, naming %s', (key, value, flag) => {
    let caught: unknown;
    try {
      clientLimitsFrom({ ...GOOD, [key]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TurnoutError);
    expect(caught).toMatchObject({ code: 'invalid_argument', field: flag });
    expect((caught as Error).message).toContain(`${flag} ${value}: expected a whole number ≥ 1`);
  });
});
