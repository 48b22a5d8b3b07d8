// IPv4/IPv6 addresses and CIDR blocks for edge lane rules: parsed once into four 32-bit words so a
// per-request containment test is four masked compares. Pure, no dependencies.

/**
 * An address as four unsigned 32-bit words, most significant first. IPv4 addresses are held as
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so `10.1.2.3` and `::ffff:10.1.2.3` are the same address
 * and one containment test serves both families.
 */
export type Words = readonly [number, number, number, number];

export interface IpAddress {
  /** 4 for IPv4 and IPv4-mapped IPv6 (`::ffff:10.1.2.3`), 6 otherwise. */
  readonly family: 4 | 6;
  readonly words: Words;
}

export interface Cidr {
  /** The block as written in the rule. */
  readonly text: string;
  /** The family the block was written in. */
  readonly family: 4 | 6;
  /** Prefix length as written (0–32 for IPv4, 0–128 for IPv6). */
  readonly prefix: number;
  readonly network: Words;
  readonly mask: Words;
}

export type CidrParseResult = { ok: true; cidr: Cidr } | { ok: false; reason: string };

/** Where IPv4 lives inside the IPv6 space (`::ffff:0:0/96`). */
const MAPPED_PREFIX_BITS = 96;
const MAPPED_WORD = 0xffff;

/** Parses an IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is ignored); null if invalid. */
export function parseIp(text: string): IpAddress | null {
  const v4 = parseIPv4(text, 0, text.length);
  if (v4 >= 0) return { family: 4, words: [0, 0, MAPPED_WORD, v4] };
  let end = text.indexOf('%');
  if (end < 0) end = text.length;
  else if (!validZone(text, end + 1)) return null;
  const words = parseIPv6(text, end);
  if (words === null) return null;
  return { family: isMapped(words) ? 4 : 6, words };
}

/**
 * Parses `address/prefix`, or a bare address meaning that one address (/32 or /128). Host bits
 * must be zero: `10.1.2.3/8` is almost always a typo, so it is rejected with the block it
 * probably meant rather than silently widened.
 */
export function parseCidr(text: string): CidrParseResult {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIPv4(addressText, 0, addressText.length);
  const v6 = v4 >= 0 ? null : parseIPv6(addressText, addressText.length);
  if (v4 < 0 && v6 === null) {
    return { ok: false, reason: `address ${JSON.stringify(addressText)} is not IPv4 or IPv6` };
  }
  const family = v4 >= 0 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  const prefix = slash < 0 ? max : parsePrefix(text.slice(slash + 1), max);
  if (prefix < 0) {
    return { ok: false, reason: `prefix length must be a whole number from 0 to ${max}` };
  }
  const address: Words = v6 ?? [0, 0, MAPPED_WORD, v4];
  const bits = family === 4 ? MAPPED_PREFIX_BITS + prefix : prefix;
  const mask = maskWords(bits);
  const network = andWords(address, mask);
  if (!sameWords(network, address)) {
    const suggestion = `${family === 4 ? formatIPv4(network[3]) : formatIPv6(network)}/${prefix}`;
    return { ok: false, reason: `host bits are set; did you mean ${suggestion}?` };
  }
  return { ok: true, cidr: { text, family, prefix, network, mask } };
}

/** True when `address` lies in `cidr`; an unparsable address string is in no block. */
export function cidrContains(cidr: Cidr, address: IpAddress | string): boolean {
  const ip = typeof address === 'string' ? parseIp(address) : address;
  if (ip === null) return false;
  const a = ip.words;
  const m = cidr.mask;
  const n = cidr.network;
  return (
    (a[0] & m[0]) >>> 0 === n[0] &&
    (a[1] & m[1]) >>> 0 === n[1] &&
    (a[2] & m[2]) >>> 0 === n[2] &&
    (a[3] & m[3]) >>> 0 === n[3]
  );
}

// ---------------------------------------------------------------------------------------------
// Parsing. Hand-written scanners rather than regexes: they run per request on the client address.

/**
 * Dotted-quad IPv4 in `s[start, end)` as an unsigned 32-bit number, or -1. Leading zeros are
 * rejected (`010.0.0.1`), as node:net does, because some stacks read them as octal.
 */
function parseIPv4(s: string, start: number, end: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    if (c < 0x30 || c > 0x39) return -1;
    if (digits > 0 && part === 0) return -1;
    part = part * 10 + (c - 0x30);
    digits++;
    if (part > 255) return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/**
 * IPv6 text in `s[0, end)` (RFC 4291 §2.2: hex groups, one `::`, an optional trailing dotted
 * quad) as words, or null.
 */
function parseIPv6(s: string, end: number): Words | null {
  const text = end === s.length ? s : s.slice(0, end);
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  const head = gap < 0 ? text.split(':') : gap === 0 ? [] : text.slice(0, gap).split(':');
  const tail = gap < 0 || gap + 2 === text.length ? [] : text.slice(gap + 2).split(':');
  // Only the very last element of the address may be a dotted quad.
  const last = tail.length > 0 ? tail : gap < 0 ? head : null;
  const lastText = last?.[last.length - 1];
  const v4 = lastText?.includes('.') ? parseIPv4(lastText, 0, lastText.length) : -2;
  if (v4 === -1) return null;
  const hasV4 = v4 >= 0;
  if (hasV4) last!.pop();
  const groups = head.length + tail.length + (hasV4 ? 2 : 0);
  if (gap < 0 ? groups !== 8 : groups > 7) return null;

  const g = new Array<number>(8).fill(0);
  for (let i = 0; i < head.length; i++) {
    const v = parseHexGroup(head[i]!);
    if (v < 0) return null;
    g[i] = v;
  }
  const tailStart = 8 - tail.length - (hasV4 ? 2 : 0);
  for (let i = 0; i < tail.length; i++) {
    const v = parseHexGroup(tail[i]!);
    if (v < 0) return null;
    g[tailStart + i] = v;
  }
  if (hasV4) {
    g[6] = v4 >>> 16;
    g[7] = v4 & 0xffff;
  }
  return [
    (g[0]! * 0x10000 + g[1]!) >>> 0,
    (g[2]! * 0x10000 + g[3]!) >>> 0,
    (g[4]! * 0x10000 + g[5]!) >>> 0,
    (g[6]! * 0x10000 + g[7]!) >>> 0,
  ];
}

/** One to four hex digits as a number, or -1. */
function parseHexGroup(group: string): number {
  if (group.length === 0 || group.length > 4) return -1;
  let v = 0;
  for (let i = 0; i < group.length; i++) {
    const c = group.charCodeAt(i) | 0x20; // ASCII lower-case; digits are unaffected
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** A zone id (`fe80::1%eth0`) is non-empty and uses the characters node:net accepts. */
function validZone(s: string, start: number): boolean {
  if (start >= s.length) return false;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d ||
      c === 0x2e ||
      c === 0x3a;
    if (!ok) return false;
  }
  return true;
}

/** A whole decimal prefix length without leading zeros, or -1 when absent or out of range. */
function parsePrefix(s: string, max: number): number {
  if (s.length === 0 || s.length > 3 || (s.length > 1 && s.charCodeAt(0) === 0x30)) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v <= max ? v : -1;
}

// ---------------------------------------------------------------------------------------------
// Word arithmetic and formatting.

function maskWords(bits: number): Words {
  const word = (i: number): number => {
    const n = Math.min(32, Math.max(0, bits - 32 * i));
    return n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  };
  return [word(0), word(1), word(2), word(3)];
}

function andWords(a: Words, b: Words): Words {
  return [(a[0] & b[0]) >>> 0, (a[1] & b[1]) >>> 0, (a[2] & b[2]) >>> 0, (a[3] & b[3]) >>> 0];
}

function sameWords(a: Words, b: Words): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function isMapped(w: Words): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === MAPPED_WORD;
}

function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** RFC 5952 text: lower-case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIPv6(w: Words): string {
  const g = w.flatMap((word) => [word >>> 16, word & 0xffff]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}
