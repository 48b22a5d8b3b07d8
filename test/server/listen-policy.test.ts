// Where the API may listen without TLS: table-tested.

import { describe, expect, it } from 'vitest';
import { checkApiListen, checkTlsPair, isLoopbackHost } from '../../src/server/listen-policy.js';

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['128.0.0.1', false],
    ['127.example.com', false],
    ['::ffff:10.0.0.1', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('checkApiListen', () => {
  it.each([
    ['127.0.0.1', { tls: false, insecure: false }, null],
    ['0.0.0.0', { tls: true, insecure: false }, null],
    ['10.0.0.5', { tls: true, insecure: true }, null],
  ])('%s %j is allowed quietly', (host, how, warning) => {
    expect(checkApiListen(host, how)).toBe(warning);
  });

  it('allows plain HTTP beyond loopback with --insecure, with a warning', () => {
    expect(checkApiListen('0.0.0.0', { tls: false, insecure: true })).toMatch(/clear text/);
  });

  it.each(['0.0.0.0', '::', '10.0.0.5'])('refuses %s without TLS, naming the flag', (host) => {
    expect(() => checkApiListen(host, { tls: false, insecure: false })).toThrow(
      /^--api: .* beyond loopback, .*--tls-cert and --tls-key, or --insecure/,
    );
  });
});

describe('checkTlsPair', () => {
  it('is off without either file and on with both', () => {
    expect(checkTlsPair(undefined, undefined)).toBe(false);
    expect(checkTlsPair('c.pem', 'k.pem')).toBe(true);
  });
  it.each([
    ['c.pem', undefined, /^--tls-key: required with --tls-cert/],
    [undefined, 'k.pem', /^--tls-cert: required with --tls-key/],
  ])('names the missing half', (cert, key, message) => {
    expect(() => checkTlsPair(cert, key)).toThrow(message);
  });
});
