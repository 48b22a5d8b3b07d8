// Specs for IP address and CIDR parsing and containment (src/routing/cidr.ts), used by `cidr`
// lane rules at the edge: IPv4, IPv6, IPv4-mapped IPv6, zones, /0 and full-length prefixes.

import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Cidr, Words } from '../../src/routing/cidr.js';
import { cidrContains, formatIPv6, parseCidr, parseIp } from '../../src/routing/cidr.js';

function cidr(text: string): Cidr {
  const result = parseCidr(text);
  if (!result.ok) throw new Error(`expected ${text} to parse: ${result.reason}`);
  return result.cidr;
}

function toBigInt(w: Words): bigint {
  return w.reduce((acc, word) => (acc << 32n) | BigInt(word), 0n);
}

describe('parseIp', () => {
  it.each<[string, 4 | 6, Words]>([
    ['0.0.0.0', 4, [0, 0, 0xffff, 0]],
    ['10.1.2.3', 4, [0, 0, 0xffff, 0x0a010203]],
    ['255.255.255.255', 4, [0, 0, 0xffff, 0xffffffff]],
    ['::', 6, [0, 0, 0, 0]],
    ['::1', 6, [0, 0, 0, 1]],
    ['2001:db8::1', 6, [0x20010db8, 0, 0, 1]],
    ['2001:DB8:0:0:0:0:0:1', 6, [0x20010db8, 0, 0, 1]],
    ['1:2:3:4:5:6:7::', 6, [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ['::2:3:4:5:6:7:8', 6, [0x00000002, 0x00030004, 0x00050006, 0x00070008]],
    ['::ffff:10.1.2.3', 4, [0, 0, 0xffff, 0x0a010203]],
    ['::FFFF:0a01:0203', 4, [0, 0, 0xffff, 0x0a010203]],
    ['::10.1.2.3', 6, [0, 0, 0, 0x0a010203]],
    ['1:2:3:4:5:6:1.2.3.4', 6, [0x00010002, 0x00030004, 0x00050006, 0x01020304]],
    ['fe80::1%eth0', 6, [0xfe800000, 0, 0, 1]],
  ])('parses %s (family %i)', (text, family, words) => {
    expect(parseIp(text)).toEqual({ family, words });
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '256.0.0.1',
    '1.2.3.-4',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.4%eth0',
    '10.1.2.3:8080',
    '[::1]',
    ':::',
    '1::2::3',
    ':1::',
    '1:2:3:4:5:6:7:8::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '00001::',
    'g::',
    '1.2.3.4::',
    '::1.2.3.4:1',
    '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%',
    'fe80::1%eth 0',
    'localhost',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it('accepts exactly what node:net isIP accepts', () => {
    const ipish = fc.string({
      unit: fc.constantFrom('0', '1', 'f', 'F', 'g', ':', ':', '.', '%', 'e', '2', '5'),
      maxLength: 45,
    });
    const anything = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4Extended(),
      ipish,
      fc.ipV6().map((a) => `${a}%eth0`),
    );
    fc.assert(
      fc.property(anything, (text) => {
        expect(parseIp(text) !== null).toBe(isIP(text) !== 0);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads back the canonical text it formats', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ip = parseIp(text)!;
        expect(parseIp(formatIPv6(ip.words))?.words).toEqual(ip.words);
      }),
    );
  });
});

describe('parseCidr', () => {
  it.each<[string, 4 | 6, number]>([
    ['10.0.0.0/8', 4, 8],
    ['0.0.0.0/0', 4, 0],
    ['192.168.1.1/32', 4, 32],
    ['192.168.1.1', 4, 32],
    ['::/0', 6, 0],
    ['::1/128', 6, 128],
    ['::1', 6, 128],
    ['2001:db8::/32', 6, 32],
    ['::ffff:10.0.0.0/104', 6, 104],
  ])('accepts %s', (text, family, prefix) => {
    expect(cidr(text)).toMatchObject({ text, family, prefix });
  });

  it.each<[string, string]>([
    ['', 'is not IPv4 or IPv6'],
    ['abc/8', 'address "abc" is not IPv4 or IPv6'],
    ['10.0.0/8', 'is not IPv4 or IPv6'],
    [' 10.0.0.0/8', 'is not IPv4 or IPv6'],
    ['fe80::1%eth0/64', 'is not IPv4 or IPv6'],
    ['10.0.0.0/8/8', 'prefix length must be a whole number from 0 to 32'],
    ['10.0.0.0/', 'prefix length must be a whole number from 0 to 32'],
    ['10.0.0.0/33', 'prefix length must be a whole number from 0 to 32'],
    ['10.0.0.0/08', 'prefix length must be a whole number from 0 to 32'],
    ['10.0.0.0/-1', 'prefix length must be a whole number from 0 to 32'],
    ['10.0.0.0/8.0', 'prefix length must be a whole number from 0 to 32'],
    ['::/129', 'prefix length must be a whole number from 0 to 128'],
    ['10.1.2.3/8', 'host bits are set; did you mean 10.0.0.0/8?'],
    ['0.0.0.1/0', 'host bits are set; did you mean 0.0.0.0/0?'],
    ['2001:db8::1/32', 'host bits are set; did you mean 2001:db8::/32?'],
    ['::1/0', 'host bits are set; did you mean ::/0?'],
  ])('rejects %j: %s', (text, reason) => {
    const result = parseCidr(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});

describe('cidrContains', () => {
  it.each<[string, string, boolean]>([
    // IPv4
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.0.0.0/8', '10.0.0.0', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.128.0.0/9', '10.200.0.1', true],
    ['10.128.0.0/9', '10.127.255.255', false],
    ['192.168.1.1/32', '192.168.1.1', true],
    ['192.168.1.1/32', '192.168.1.2', false],
    ['192.168.1.1', '192.168.1.1', true],
    ['0.0.0.0/0', '0.0.0.0', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['0.0.0.0/0', '::ffff:1.2.3.4', true],
    ['0.0.0.0/0', '::1', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    // IPv6
    ['::/0', '::1', true],
    ['::/0', '2001:db8::1', true],
    ['::/0', '10.1.2.3', true],
    ['::1/128', '::1', true],
    ['::1/128', '0:0:0:0:0:0:0:1', true],
    ['::1/128', '::2', false],
    ['::1/128', '127.0.0.1', false],
    ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::', false],
    ['2001:db8::/33', '2001:db8:7fff::1', true],
    ['2001:db8::/33', '2001:db8:8000::1', false],
    ['2001:db8::/64', '2001:db8::1:2:3:4', true],
    ['2001:db8::/64', '2001:db8:0:1::', false],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    // IPv4-mapped IPv6: a dual-stack socket reports IPv4 clients this way
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::FFFF:10.1.2.3', true],
    ['10.0.0.0/8', '::ffff:0a01:0203', true],
    ['10.0.0.0/8', '::ffff:11.1.2.3', false],
    ['10.0.0.0/8', '::10.1.2.3', false],
    ['::ffff:10.0.0.0/104', '10.1.2.3', true],
    ['::ffff:10.0.0.0/104', '11.1.2.3', false],
    ['::ffff:0:0/96', '1.2.3.4', true],
    // Not an address
    ['0.0.0.0/0', '', false],
    ['0.0.0.0/0', 'not-an-ip', false],
    ['0.0.0.0/0', '10.1.2.3:8080', false],
    ['::/0', '[::1]', false],
  ])('%s contains %j: %s', (block, address, expected) => {
    expect(cidrContains(cidr(block), address)).toBe(expected);
    const ip = parseIp(address);
    if (ip !== null) expect(cidrContains(cidr(block), ip)).toBe(expected);
  });

  it('agrees with a 128-bit reference for every prefix length', () => {
    const word = fc.integer({ min: 0, max: 0xffffffff });
    const words = fc.tuple(word, word, word, word);
    fc.assert(
      fc.property(words, words, fc.integer({ min: 0, max: 128 }), (net, addr, bits) => {
        const shift = BigInt(128 - bits);
        const network = (toBigInt(net) >> shift) << shift;
        const block = cidr(`${formatIPv6(fromBigInt(network))}/${bits}`);
        const expected = toBigInt(addr) >> shift === network >> shift;
        expect(cidrContains(block, { family: 6, words: addr })).toBe(expected);
        expect(cidrContains(block, { family: 6, words: fromBigInt(network) })).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

function fromBigInt(n: bigint): Words {
  const w = (i: number): number => Number((n >> BigInt(96 - 32 * i)) & 0xffffffffn);
  return [w(0), w(1), w(2), w(3)];
}
