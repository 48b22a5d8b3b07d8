import { describe, expect, it } from 'vitest';
import { buildEnv } from '../../src/runtime/env.js';

const identity = { id: 'orders-2.0.0-a1b2', module: 'orders', version: '2.0.0', port: 20_123 };

describe('instance environment', () => {
  it('passes a safe few parent variables, then the spec, then the identity', () => {
    const parent = {
      PATH: '/usr/bin',
      HOME: '/home/t',
      LANG: 'C.UTF-8',
      NODE_OPTIONS: '--inspect',
      TURNOUT_TOKEN: 'secret',
      AWS_SECRET_ACCESS_KEY: 'x',
      TZ: undefined,
    };
    expect(
      buildEnv(parent, { DB_URL: 'sqlite::memory:' }, { ...identity, proxyUrl: null }),
    ).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/t',
      LANG: 'C.UTF-8',
      DB_URL: 'sqlite::memory:',
      PORT: '20123',
      TURNOUT_INSTANCE_ID: 'orders-2.0.0-a1b2',
      TURNOUT_MODULE: 'orders',
      TURNOUT_VERSION: '2.0.0',
    });
  });

  it("lets the spec override a parent variable but not the runtime's own", () => {
    const env = buildEnv(
      { PATH: '/usr/bin' },
      {
        PATH: '/opt/bin',
        PORT: '80',
        TURNOUT_MODULE: 'x',
        NODE_OPTIONS: '--max-old-space-size=64',
      },
      { ...identity, proxyUrl: 'http://127.0.0.1:4140' },
    );
    expect(env).toMatchObject({
      PATH: '/opt/bin',
      PORT: '20123',
      TURNOUT_MODULE: 'orders',
      NODE_OPTIONS: '--max-old-space-size=64', // declared by the module: passed
      http_proxy: 'http://127.0.0.1:4140',
      HTTP_PROXY: 'http://127.0.0.1:4140',
    });
  });
});
