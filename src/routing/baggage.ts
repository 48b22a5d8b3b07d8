// W3C Baggage (https://www.w3.org/TR/baggage/) parsing and serialisation, used by the proxy
// to carry the Turnout request context (product, lane). Pure: no I/O, clock or shared state.

export interface BaggageMember {
  key: string;
  /** Percent-decoded UTF-8. */
  value: string;
  /** Raw property text (`k` or `k=v`), OWS trimmed, not decoded. */
  properties: string[];
}

export type BaggageErrorCode = 'baggage_too_large' | 'baggage_malformed';

export interface BaggageError {
  code: BaggageErrorCode;
  field: 'baggage';
  message: string;
}

export type BaggageResult =
  | { ok: true; members: BaggageMember[] }
  | { ok: false; error: BaggageError };

/** The Turnout members of a baggage header; undefined when absent. */
export type TurnoutBaggageResult =
  | { ok: true; product: string | undefined; lane: string | undefined }
  | { ok: false; error: BaggageError };

/** Spec limits: a platform must propagate at most this many list-members... */
export const MAX_BAGGAGE_MEMBERS = 64;
/** ...and this many bytes of baggage-string. */
export const MAX_BAGGAGE_BYTES = 8192;

export const TURNOUT_PRODUCT_KEY = 'turnout-product';
export const TURNOUT_LANE_KEY = 'turnout-lane';

// ---------------------------------------------------------------------------------------------
// Character classes, as lookup tables indexed by char code (< 128) so scanning never backtracks.

/** RFC 7230 tchar: `!#$%&'*+-.^_`|~`, DIGIT, ALPHA. */
const TCHAR = charTable(
  "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
);

/** baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E (no CTL, SP, DQUOTE, `,;\`). */
const OCTET = rangeTable([
  [0x21, 0x21],
  [0x23, 0x2b],
  [0x2d, 0x3a],
  [0x3c, 0x5b],
  [0x5d, 0x7e],
]);

function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

function rangeTable(ranges: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const table = new Uint8Array(128);
  for (const [lo, hi] of ranges) table.fill(1, lo, hi + 1);
  return table;
}

function inTable(table: Uint8Array, c: number): boolean {
  return c < 128 && table[c] === 1;
}

const SP = 0x20;
const HTAB = 0x09;
const COMMA = 0x2c;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const PERCENT = 0x25;

/** charCodeAt that returns -1 past the end: reading out of bounds deoptimises V8's fast path. */
function codeAt(h: string, i: number): number {
  return i < h.length ? h.charCodeAt(i) : -1;
}

function skipOws(h: string, i: number): number {
  while (i < h.length) {
    const c = h.charCodeAt(i);
    if (c !== SP && c !== HTAB) break;
    i++;
  }
  return i;
}

function skipClass(h: string, i: number, table: Uint8Array): number {
  while (i < h.length && inTable(table, h.charCodeAt(i))) i++;
  return i;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Names a character for an error message without echoing raw (possibly control) input. */
function describeChar(h: string, i: number): string {
  if (i >= h.length) return 'end of header';
  const cp = h.codePointAt(i) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} at offset ${i}`;
}

// ---------------------------------------------------------------------------------------------
// Scanner: walks list-members one at a time and exposes the current member as index spans, so
// callers that only need keys or raw text (withTurnoutContext) build no member objects.

class BaggageScanner {
  /** Members seen so far (empty list-members excluded). */
  count = 0;
  error: BaggageError | null = null;
  /** Current member spans into the header; `end` excludes trailing OWS. */
  start = 0;
  keyEnd = 0;
  valueStart = 0;
  valueEnd = 0;
  /** Index of the first `;` of the current member, or -1 without properties. */
  propsStart = -1;
  end = 0;
  private decoded: string | null = null;
  private pos = 0;

  constructor(private readonly h: string) {
    // Node hands headers over as latin1 strings (one char per byte), and any char above 0x7E is
    // malformed anyway, so `length` equals the byte size of every header that could be valid.
    if (h.length > MAX_BAGGAGE_BYTES) {
      this.fail(
        'baggage_too_large',
        `baggage header is ${h.length} bytes, more than the limit of ${MAX_BAGGAGE_BYTES}`,
      );
    }
  }

  key(): string {
    return this.h.slice(this.start, this.keyEnd);
  }

  /** Percent-decoded value; already validated by next(). */
  value(): string {
    return this.decoded ?? this.h.slice(this.valueStart, this.valueEnd);
  }

  /** The member exactly as received (internal OWS kept), for verbatim forwarding. */
  raw(): string {
    return this.h.slice(this.start, this.end);
  }

  /** Advances to the next list-member; false at the end of the header or on error. */
  next(): boolean {
    if (this.error !== null) return false;
    const h = this.h;
    let i = skipOws(h, this.pos);
    // Empty list-members (`a=1,,b=2`, a leading or trailing comma, Node's `, ` join of an empty
    // repeated header) are not in the baggage grammar, but the header is an RFC 7230 list and
    // RFC 7230 §7 says a recipient MUST parse and ignore a reasonable number of empty elements.
    // We skip them without counting them as members; the byte limit bounds how many there can be.
    while (i < h.length && h.charCodeAt(i) === COMMA) i = skipOws(h, i + 1);
    if (i >= h.length) return false;
    if (this.count === MAX_BAGGAGE_MEMBERS) {
      return this.fail(
        'baggage_too_large',
        `baggage header has more than the limit of ${MAX_BAGGAGE_MEMBERS} list-members`,
      );
    }
    this.count++;
    return this.scanMember(i);
  }

  // list-member = key OWS "=" OWS value *( OWS ";" OWS property )
  private scanMember(start: number): boolean {
    const h = this.h;
    this.start = start;
    this.keyEnd = skipClass(h, start, TCHAR);
    if (this.keyEnd === start) return this.malformed('expected a key', start);
    const eq = skipOws(h, this.keyEnd);
    if (codeAt(h, eq) !== EQUALS) return this.malformed("expected '=' after the key", eq);
    this.valueStart = skipOws(h, eq + 1);
    this.valueEnd = skipClass(h, this.valueStart, OCTET);
    if (!this.decodeValue()) return false;
    this.end = this.valueEnd;
    let i = skipOws(h, this.end);
    this.propsStart = codeAt(h, i) === SEMI ? i : -1;
    while (codeAt(h, i) === SEMI) {
      i = this.scanProperty(skipOws(h, i + 1));
      if (i < 0) return false;
      this.end = i;
      i = skipOws(h, i);
    }
    if (i < h.length && h.charCodeAt(i) !== COMMA) {
      return this.malformed("expected ',' or ';'", i);
    }
    this.pos = i < h.length ? i + 1 : i;
    return true;
  }

  // property = key OWS "=" OWS value / key OWS. Returns the end of the property text, or -1.
  // Property values are kept raw, so only their octets are checked, not their percent-escapes.
  private scanProperty(start: number): number {
    const h = this.h;
    const keyEnd = skipClass(h, start, TCHAR);
    if (keyEnd === start) {
      this.malformed('expected a property key', start);
      return -1;
    }
    const eq = skipOws(h, keyEnd);
    if (codeAt(h, eq) !== EQUALS) return keyEnd;
    return skipClass(h, skipOws(h, eq + 1), OCTET);
  }

  // Per the spec, percent-encoded octets that are not valid UTF-8 are replaced with U+FFFD rather
  // than rejecting the header: an application's own member with a stray byte must not cost the
  // request its lane. Turnout's own members still fail name validation if they decode that way.
  // An escape that is not `%XX` is malformed.
  private decodeValue(): boolean {
    this.decoded = null;
    const h = this.h;
    const s = this.valueStart;
    const e = this.valueEnd;
    let hasEscape = false;
    for (let i = s; i < e; i++) {
      if (h.charCodeAt(i) !== PERCENT) continue;
      if (i + 2 >= e || !isHex(h.charCodeAt(i + 1)) || !isHex(h.charCodeAt(i + 2))) {
        return this.malformed("invalid percent-escape (expected '%' and two hex digits)", i);
      }
      hasEscape = true;
      i += 2;
    }
    if (!hasEscape) return true;
    this.decoded = decodePercentUtf8(h.slice(s, e));
    return true;
  }

  private malformed(what: string, at: number): false {
    return this.fail(
      'baggage_malformed',
      `baggage list-member ${this.count}: ${what}, found ${describeChar(this.h, at)}`,
    );
  }

  private fail(code: BaggageErrorCode, message: string): false {
    this.error = { code, field: 'baggage', message };
    return false;
  }
}

/** Splits the already-validated `;`-separated property text of a member. */
function splitProperties(h: string, from: number, to: number): string[] {
  const out: string[] = [];
  let i = from;
  while (i < to) {
    // `i` sits on a `;`; a property never contains `;` (not a tchar nor a baggage-octet).
    let j = h.indexOf(';', i + 1);
    if (j < 0 || j > to) j = to;
    out.push(h.slice(i + 1, j).trim());
    i = j;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Parses a `baggage` header (possibly several joined by Node with `, `). A missing, empty or
 * blank header is an empty list. Any malformed list-member discards the whole header, as the
 * spec allows; the caller decides whether that is a 400 or is ignored. Duplicate keys are kept
 * in order; consumers that need a single value take the last one.
 */
export function parseBaggage(header: string | undefined): BaggageResult {
  if (header === undefined || header === '') return { ok: true, members: [] };
  const scanner = new BaggageScanner(header);
  const members: BaggageMember[] = [];
  while (scanner.next()) {
    members.push({
      key: scanner.key(),
      value: scanner.value(),
      properties:
        scanner.propsStart < 0 ? [] : splitProperties(header, scanner.propsStart, scanner.end),
    });
  }
  if (scanner.error !== null) return { ok: false, error: scanner.error };
  return { ok: true, members };
}

/**
 * Reads the Turnout members from a baggage header without building the member list (this runs
 * on every request). The whole header is still validated. Last occurrence wins, matching the
 * OpenTelemetry SDKs, which overwrite earlier entries when extracting baggage.
 */
export function readTurnoutBaggage(header: string | undefined): TurnoutBaggageResult {
  let product: string | undefined;
  let lane: string | undefined;
  if (header !== undefined && header !== '') {
    const scanner = new BaggageScanner(header);
    while (scanner.next()) {
      if (isKeyAt(header, scanner, TURNOUT_PRODUCT_KEY)) product = scanner.value();
      else if (isKeyAt(header, scanner, TURNOUT_LANE_KEY)) lane = scanner.value();
    }
    if (scanner.error !== null) return { ok: false, error: scanner.error };
  }
  return { ok: true, product, lane };
}

/** Compares the current key in place, avoiding a slice per member. */
function isKeyAt(h: string, scanner: BaggageScanner, key: string): boolean {
  return scanner.keyEnd - scanner.start === key.length && h.startsWith(key, scanner.start);
}

/**
 * Serialises members as `k=v;prop,k=v`. Values are percent-encoded (everything outside
 * baggage-octet, plus `%`, as UTF-8 escapes; a lone surrogate becomes U+FFFD since it has no
 * UTF-8 form). Keys and properties are emitted as given and must already be valid: an invalid
 * one throws a RangeError, because emitting it would make the whole header malformed downstream.
 */
export function serializeBaggage(members: readonly BaggageMember[]): string {
  let out = '';
  for (let m = 0; m < members.length; m++) {
    const member = members[m]!;
    if (m > 0) out += ',';
    out += serializeMember(member.key, member.value);
    for (const property of member.properties) {
      assertProperty(property);
      out += `;${property}`;
    }
  }
  return out;
}

function serializeMember(key: string, value: string): string {
  if (key.length === 0 || skipClass(key, 0, TCHAR) !== key.length) {
    throw new RangeError(`baggage key ${JSON.stringify(key)} is not an RFC 7230 token`);
  }
  return `${key}=${encodeBaggageValue(value)}`;
}

function assertProperty(property: string): void {
  const keyEnd = skipClass(property, 0, TCHAR);
  let ok = keyEnd > 0;
  if (ok && keyEnd < property.length) {
    const eq = skipOws(property, keyEnd);
    ok =
      codeAt(property, eq) === EQUALS &&
      skipClass(property, skipOws(property, eq + 1), OCTET) === property.length;
  }
  if (!ok) throw new RangeError(`baggage property ${JSON.stringify(property)} is not valid`);
}

const HEX = '0123456789ABCDEF';

/** Percent-encodes a value; returns the input itself when nothing needs escaping. */
export function encodeBaggageValue(value: string): string {
  let i = 0;
  while (i < value.length) {
    const c = value.charCodeAt(i);
    if (c === PERCENT || !inTable(OCTET, c)) break;
    i++;
  }
  if (i === value.length) return value;
  let out = value.slice(0, i);
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== PERCENT && inTable(OCTET, c)) {
      out += value[i];
      continue;
    }
    let cp = value.codePointAt(i) ?? c;
    if (cp > 0xffff)
      i++; // consumed a surrogate pair
    else if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate
    out += utf8Escapes(cp);
  }
  return out;
}

function escapeByte(b: number): string {
  return `%${HEX[b >> 4]}${HEX[b & 0xf]}`;
}

function utf8Escapes(cp: number): string {
  if (cp < 0x80) return escapeByte(cp);
  if (cp < 0x800) return escapeByte(0xc0 | (cp >> 6)) + escapeByte(0x80 | (cp & 0x3f));
  if (cp < 0x10000) {
    return (
      escapeByte(0xe0 | (cp >> 12)) +
      escapeByte(0x80 | ((cp >> 6) & 0x3f)) +
      escapeByte(0x80 | (cp & 0x3f))
    );
  }
  return (
    escapeByte(0xf0 | (cp >> 18)) +
    escapeByte(0x80 | ((cp >> 12) & 0x3f)) +
    escapeByte(0x80 | ((cp >> 6) & 0x3f)) +
    escapeByte(0x80 | (cp & 0x3f))
  );
}

/**
 * Returns the baggage header to forward: foreign members verbatim and in order, every existing
 * `turnout-product` / `turnout-lane` removed, then the given ones appended (product, then lane).
 * The Turnout members of the result are exactly `ctx`: a key left out of `ctx` (or empty) is
 * dropped, not kept, so no stale context leaks to the next hop. A malformed or oversized
 * incoming header contributes nothing. If appending would break the spec limits, foreign members
 * are dropped from the end (the spec lets a platform choose which), so the next proxy never
 * rejects the header and loses the lane. Returns '' when there is nothing to send.
 */
export function withTurnoutContext(
  header: string | undefined,
  ctx: { product?: string; lane?: string },
): string {
  // Most hops forward exactly the context they received: then the answer is the header itself,
  // without scanning it a second time (the context stage already validated it) or building it.
  if (header !== undefined && isExactContext(header, ctx.product, ctx.lane)) return header;
  const own: string[] = [];
  if (ctx.product) own.push(serializeMember(TURNOUT_PRODUCT_KEY, ctx.product));
  if (ctx.lane) own.push(serializeMember(TURNOUT_LANE_KEY, ctx.lane));
  const foreign = foreignMembers(header);
  fitLimits(foreign, own);
  if (foreign.length === 0) return own.join(',');
  if (own.length === 0) return foreign.join(',');
  return `${foreign.join(',')},${own.join(',')}`;
}

/** A value `encodeBaggageValue` leaves as it is. */
function isPlainValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === PERCENT || !inTable(OCTET, c)) return false;
  }
  return true;
}

/** `h` has `key=value` at `at` (value needing no encoding); the index after it, or -1. */
function memberAt(h: string, at: number, key: string, value: string): number {
  const eq = at + key.length;
  if (!h.startsWith(key, at) || h.charCodeAt(eq) !== EQUALS || !h.startsWith(value, eq + 1)) {
    return -1;
  }
  return isPlainValue(value) ? eq + 1 + value.length : -1;
}

/** Whether `header` is exactly the members `withTurnoutContext` builds for `product` and `lane`. */
function isExactContext(header: string, product?: string, lane?: string): boolean {
  if (!product) return false;
  const end = memberAt(header, 0, TURNOUT_PRODUCT_KEY, product);
  if (end === -1) return false;
  if (!lane) return end === header.length;
  if (header.charCodeAt(end) !== COMMA) return false;
  return memberAt(header, end + 1, TURNOUT_LANE_KEY, lane) === header.length;
}

/** Raw text of the non-Turnout members, or none if the header does not parse. */
function foreignMembers(header: string | undefined): string[] {
  const out: string[] = [];
  if (header === undefined || header === '') return out;
  const scanner = new BaggageScanner(header);
  while (scanner.next()) {
    if (isKeyAt(header, scanner, TURNOUT_PRODUCT_KEY)) continue;
    if (isKeyAt(header, scanner, TURNOUT_LANE_KEY)) continue;
    out.push(scanner.raw());
  }
  return scanner.error === null ? out : [];
}

/** Drops foreign members from the end until foreign ++ own fits both spec limits. */
function fitLimits(foreign: string[], own: readonly string[]): void {
  let chars = 0;
  for (const m of foreign) chars += m.length;
  for (const m of own) chars += m.length;
  // The joined header is every member plus one comma between each pair.
  const overLimit = () => {
    const count = foreign.length + own.length;
    return count > MAX_BAGGAGE_MEMBERS || chars + count - 1 > MAX_BAGGAGE_BYTES;
  };
  while (foreign.length > 0 && overLimit()) chars -= foreign.pop()!.length;
}

const LENIENT_UTF8 = new TextDecoder('utf-8', { fatal: false });

/** Percent-decodes (escapes already checked) and decodes UTF-8, invalid sequences as U+FFFD. */
function decodePercentUtf8(text: string): string {
  const bytes = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === PERCENT) {
      bytes[n++] = Number.parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      bytes[n++] = c;
    }
  }
  return LENIENT_UTF8.decode(bytes.subarray(0, n));
}
