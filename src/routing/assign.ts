// Edge lane assignment: a product's ordered lane rules, compiled once per snapshot, decide which lane
// each incoming request joins (first match wins; no match is stable). Pure: no I/O, clock or randomness.

import { TurnoutError } from '../errors.js';
import type { Cidr, IpAddress } from './cidr.js';
import { cidrContains, parseCidr, parseIp } from './cidr.js';
import { stableBucket } from './hash.js';
import type { LaneRule, TrustSource, ValueMatch } from './lane-rules.js';
import type { LinearRegex } from './linear-regex.js';
import { compileLinearRegex, showRegex } from './linear-regex.js';
import { verifySignedValue } from './signed-value.js';
import { DEFAULT_TRUST } from './trust-sources.js';

export interface EdgeRequest {
  /** Header values by lower-case name (Node's IncomingMessage.headers shape; cookie joined with '; '). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw query string without '?' ('' when none). */
  readonly query: string;
  /** The client's IP address as the proxy saw it. */
  readonly clientAddress: string;
  /**
   * Whether the client is a trusted hop (inside the proxy's `--trusted-hops`): only then do
   * `trust: trusted-hop` rules (the default) read its headers, cookies and query. Absent: no.
   */
  readonly trustedHop?: boolean;
  /** Secrets and wall clock (Unix ms) for `trust: signed` rules; absent: no value verifies. */
  readonly signed?: { readonly secrets: readonly (string | Buffer)[]; readonly nowMs: number };
}

export type LaneAssignment = {
  readonly lane: string | null;
  readonly ruleIndex: number | null;
  readonly reason: string;
};

export interface RuleExplanation {
  /** Position in the product's rules (0-based, as in `rules[2]`). */
  readonly index: number;
  readonly lane: string;
  /** The rule in words, e.g. `header x-user-tier equals "internal"`. */
  readonly rule: string;
  /** True only for the first rule that matches: the one that assigned the lane. */
  readonly matched: boolean;
  /** Whether the rule's own condition holds, regardless of order (true for a shadowed rule too). */
  readonly wouldMatch: boolean;
  /** Why it matched, or why not (including "rule N matched first" for a shadowed rule). */
  readonly reason: string;
}

/** The assignment (exactly what assignLane returns for the same request) and every rule's verdict. */
export interface LaneExplanation extends LaneAssignment {
  readonly rules: readonly RuleExplanation[];
}

/** Sticky percentages map keys into this many buckets: one per basis point. */
export const PERCENT_BUCKETS = 10_000;
/**
 * Regex rules test values up to this length; longer values do not match. Rule regexes run on
 * untrusted input per request with a linear-time engine (see linear-regex.ts), so this cap bounds
 * each match's cost to a small multiple of the pattern's size.
 */
export const MAX_REGEX_INPUT = 1024;

type ValueTest =
  | { readonly op: 'equals'; readonly value: string }
  | { readonly op: 'regex'; readonly re: LinearRegex };

type CompiledMatch =
  | {
      readonly kind: 'header' | 'cookie' | 'query';
      readonly name: string;
      readonly test: ValueTest;
      readonly trust: TrustSource;
    }
  | { readonly kind: 'cidr'; readonly cidr: Cidr }
  | {
      readonly kind: 'percent';
      readonly source: 'header' | 'cookie';
      readonly name: string;
      /** Percent × 100: the key is in the lane when its bucket is below this. */
      readonly basisPoints: number;
      readonly trust: TrustSource;
    };

export interface CompiledLaneRule {
  readonly index: number;
  readonly lane: string;
  readonly match: CompiledMatch;
  /** The rule in words. */
  readonly description: string;
  /** The (shared, frozen) result when this rule matches; null for percent rules, whose reason names the bucket. */
  readonly hit: LaneAssignment | null;
}

export interface CompiledLaneRules {
  readonly rules: readonly CompiledLaneRule[];
  /**
   * Headers that `trusted-hop` rules read (segments and sticky keys): the edge strips them from
   * requests of clients that are not trusted hops, so the upstream cannot be fooled either.
   */
  readonly hopHeaders: ReadonlySet<string>;
}

const STABLE: LaneAssignment = Object.freeze({
  lane: null,
  ruleIndex: null,
  reason: 'no rule matched',
});

// ---------------------------------------------------------------------------------------------
// Compilation: everything that does not depend on the request is done here, once per snapshot.

/**
 * Compiles validated rules (see laneRulesSchema): regexes and CIDRs are built once, and every
 * non-percent rule's match result is preallocated. Throws `invalid_config` for a regex or CIDR
 * that does not compile, which only happens when the rules skipped validation.
 */
export function compileLaneRules(rules: readonly LaneRule[]): CompiledLaneRules {
  const compiled = rules.map(compileRule);
  const hopHeaders = new Set<string>();
  for (const { match: m } of compiled) {
    const isHeader = m.kind === 'header' || (m.kind === 'percent' && m.source === 'header');
    if (isHeader && m.trust === 'trusted-hop') hopHeaders.add(m.name);
  }
  return { rules: compiled, hopHeaders };
}

function compileRule(rule: LaneRule, index: number): CompiledLaneRule {
  const match = compileMatch(rule, index);
  const description = describeMatch(match);
  const hit =
    match.kind === 'percent'
      ? null
      : Object.freeze({
          lane: rule.lane,
          ruleIndex: index,
          reason: `rule ${index}: ${description}`,
        });
  return { index, lane: rule.lane, match, description, hit };
}

function compileMatch(rule: LaneRule, index: number): CompiledMatch {
  if ('header' in rule) {
    const { name, test } = compileValueMatch(rule.header, index, 'header');
    return { kind: 'header', name: name.toLowerCase(), test, trust: trustOf(rule.header) };
  }
  if ('cookie' in rule) {
    const trust = trustOf(rule.cookie);
    return { kind: 'cookie', ...compileValueMatch(rule.cookie, index, 'cookie'), trust };
  }
  if ('query' in rule) {
    const trust = trustOf(rule.query);
    return { kind: 'query', ...compileValueMatch(rule.query, index, 'query'), trust };
  }
  if ('cidr' in rule) {
    const parsed = parseCidr(rule.cidr);
    if (!parsed.ok) {
      throw new TurnoutError(
        'invalid_config',
        `cidr ${quote(rule.cidr)}: ${parsed.reason}`,
        `rules[${index}].cidr`,
      );
    }
    return { kind: 'cidr', cidr: parsed.cidr };
  }
  const source = rule.key.header !== undefined ? 'header' : 'cookie';
  const name = rule.key.header?.toLowerCase() ?? rule.key.cookie ?? '';
  // Rounded because 0.29 * 100 is 28.999999999999996 in binary floating point.
  const basisPoints = Math.round(rule.percent * 100);
  return { kind: 'percent', source, name, basisPoints, trust: trustOf(rule.key) };
}

function trustOf(m: { readonly trust?: TrustSource | undefined }): TrustSource {
  return m.trust ?? DEFAULT_TRUST;
}

function compileValueMatch(
  m: ValueMatch,
  index: number,
  kind: string,
): { name: string; test: ValueTest } {
  if (m.regex === undefined) return { name: m.name, test: { op: 'equals', value: m.equals ?? '' } };
  try {
    return { name: m.name, test: { op: 'regex', re: compileLinearRegex(m.regex) } };
  } catch (error) {
    throw new TurnoutError(
      'invalid_config',
      (error as Error).message,
      `rules[${index}].${kind}.regex`,
    );
  }
}

function describeMatch(m: CompiledMatch): string {
  switch (m.kind) {
    case 'header':
    case 'cookie':
      return `${m.kind} ${m.name} ${describeTest(m.test)}${describeTrust(m.trust)}`;
    case 'query':
      return `query parameter ${m.name} ${describeTest(m.test)}${describeTrust(m.trust)}`;
    case 'cidr':
      return `client address in ${m.cidr.text}`;
    case 'percent':
      return `percent ${m.basisPoints / 100} on ${m.source} ${m.name}${describeTrust(m.trust)}`;
  }
}

/** The default (trusted hops only) goes unsaid; the others are named. */
function describeTrust(trust: TrustSource): string {
  return trust === 'any-client'
    ? ' (from any client)'
    : trust === 'signed'
      ? ' (signed values only)'
      : '';
}

function describeTest(t: ValueTest): string {
  return t.op === 'equals' ? `equals ${JSON.stringify(t.value)}` : `matches ${showRegex(t.re)}`;
}

// ---------------------------------------------------------------------------------------------
// The request, read lazily: cookies, query and address are parsed on first use, at most once.

/** Cookie, query and address are parsed only if a rule of that kind is evaluated, and only once. */
class RequestView {
  private cookies: Map<string, string> | undefined;
  private params: URLSearchParams | undefined;
  private ip: IpAddress | null | undefined;

  constructor(readonly req: EdgeRequest) {}

  /** A header's value; the first one when the adapter kept duplicates as an array. */
  header(name: string): string | undefined {
    // typeof guards also keep out Object.prototype members (`constructor`) on plain objects.
    const v = this.req.headers[name];
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    return undefined;
  }

  cookie(name: string): string | undefined {
    if (this.cookies === undefined) {
      const raw = this.req.headers.cookie;
      const header = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join('; ') : '';
      this.cookies = parseCookieHeader(header);
    }
    return this.cookies.get(name);
  }

  /** The first value of a query parameter, with URLSearchParams decoding (`%xx`, `+` as space). */
  query(name: string): string | undefined {
    if (this.params === undefined) {
      const q = this.req.query;
      this.params = new URLSearchParams(typeof q === 'string' ? q : '');
    }
    return this.params.get(name) ?? undefined;
  }

  raw(kind: 'header' | 'cookie' | 'query', name: string): string | undefined {
    return kind === 'header'
      ? this.header(name)
      : kind === 'cookie'
        ? this.cookie(name)
        : this.query(name);
  }

  /** The value a rule may use, per its trust: undefined when absent, untrusted or not signed. */
  trusted(
    kind: 'header' | 'cookie' | 'query',
    name: string,
    trust: TrustSource,
  ): string | undefined {
    const raw = this.raw(kind, name);
    if (raw === undefined || trust === 'any-client') return raw;
    if (trust === 'trusted-hop') return this.req.trustedHop === true ? raw : undefined;
    const signed = this.req.signed;
    if (signed === undefined) return undefined;
    const r = verifySignedValue(raw, name, signed.secrets, signed.nowMs);
    return r.ok ? r.value : undefined;
  }

  /** Why trusted() gave nothing (or an empty key), for the explainer: `is absent`, `is not read: …`. */
  unread(kind: 'header' | 'cookie' | 'query', name: string, trust: TrustSource): string {
    const raw = this.raw(kind, name);
    if (raw === undefined) return 'is absent';
    if (trust === 'trusted-hop' && this.req.trustedHop !== true)
      return 'is not read: the client is not a trusted hop';
    if (trust === 'signed') {
      const s = this.req.signed ?? { secrets: [], nowMs: 0 };
      const r = verifySignedValue(raw, name, s.secrets, s.nowMs);
      if (!r.ok) return `is not read: it is not a valid signed value (${r.message})`;
    }
    return 'is empty';
  }

  address(): IpAddress | null {
    if (this.ip === undefined) {
      const a = this.req.clientAddress;
      this.ip = typeof a === 'string' ? parseIp(a) : null;
    }
    return this.ip;
  }
}

/**
 * RFC 6265 §4.2 `name=value; name2=value2`, with a surrounding pair of double quotes removed from
 * values. Lenient like browsers: pieces without `=` are skipped, names and values are trimmed,
 * and the first of duplicate names wins (browsers send the most specific path first). Values are
 * not percent-decoded: RFC 6265 defines no encoding. Linear even for hostile headers.
 */
export function parseCookieHeader(header: string): Map<string, string> {
  const jar = new Map<string, string>();
  let eq = -1;
  for (let start = 0; start < header.length; ) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    // The next '=' is searched for only once it is behind us, so `a;a;a;…` stays linear.
    if (eq < start) eq = header.indexOf('=', start);
    if (eq < 0) break;
    if (eq < end) {
      const name = header.slice(start, eq).trim();
      if (name !== '' && !jar.has(name)) jar.set(name, unquote(header.slice(eq + 1, end).trim()));
    }
    start = end + 1;
  }
  return jar;
}

function unquote(v: string): string {
  return v.length >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22
    ? v.slice(1, -1)
    : v;
}

// ---------------------------------------------------------------------------------------------
// Evaluation. assignLane is the hot path and only computes booleans; explainLaneAssignment reuses
// the same primitives (matchedValue, testValue, percentKey, cidrContains) to say why.

/**
 * The lane for this request: the first rule that matches, or stable (lane null). Never throws
 * on request data.
 */
export function assignLane(compiled: CompiledLaneRules, req: EdgeRequest): LaneAssignment {
  const rules = compiled.rules;
  if (rules.length === 0) return STABLE;
  const view = new RequestView(req);
  for (const rule of rules) {
    const m = rule.match;
    if (m.kind === 'percent') {
      if (m.basisPoints === 0) continue;
      const key = percentKey(m, view);
      if (key === undefined) continue;
      const bucket = stableBucket(key, rule.lane, PERCENT_BUCKETS);
      if (bucket < m.basisPoints) return percentHit(rule, bucket, m.basisPoints);
    } else if (m.kind === 'cidr') {
      const ip = view.address();
      if (ip !== null && cidrContains(m.cidr, ip)) return rule.hit!;
    } else {
      const value = matchedValue(m, view);
      if (value !== undefined && testValue(m.test, value)) return rule.hit!;
    }
  }
  return STABLE;
}

/**
 * For a route explainer: every rule in order, whether it matched and why (not). Only the first
 * matching rule has `matched: true`; later rules are still evaluated so `wouldMatch` can show
 * shadowed rules.
 */
export function explainLaneAssignment(
  compiled: CompiledLaneRules,
  req: EdgeRequest,
): LaneExplanation {
  const view = new RequestView(req);
  let assignment = STABLE;
  const rules = compiled.rules.map((rule): RuleExplanation => {
    const verdict = evaluate(rule, view);
    const first = verdict.matched && assignment.ruleIndex === null;
    const base = { index: rule.index, lane: rule.lane, rule: rule.description };
    if (first) {
      assignment = verdict.assignment;
      return { ...base, matched: true, wouldMatch: true, reason: verdict.reason };
    }
    const reason =
      assignment.ruleIndex === null
        ? verdict.reason
        : `rule ${assignment.ruleIndex} matched first; this rule ${verdict.matched ? 'would also match' : 'would not match'}: ${verdict.reason}`;
    return { ...base, matched: false, wouldMatch: verdict.matched, reason };
  });
  return { ...assignment, rules };
}

type Verdict =
  | { readonly matched: true; readonly reason: string; readonly assignment: LaneAssignment }
  | { readonly matched: false; readonly reason: string };

/** One rule's outcome with its reason; the same decisions as assignLane, spelled out. */
function evaluate(rule: CompiledLaneRule, view: RequestView): Verdict {
  const m = rule.match;
  const no = (reason: string): Verdict => ({ matched: false, reason });
  if (m.kind === 'percent') {
    const what = `${m.source} ${m.name}`;
    if (m.basisPoints === 0) return no('percent 0 matches nobody');
    const key = percentKey(m, view);
    if (key === undefined)
      return no(`${what} ${absentOrEmpty(m, view)}, so there is no key to hash`);
    const bucket = stableBucket(key, rule.lane, PERCENT_BUCKETS);
    if (bucket < m.basisPoints) {
      const assignment = percentHit(rule, bucket, m.basisPoints);
      return { matched: true, reason: percentReason(rule, bucket, m.basisPoints), assignment };
    }
    return no(`${rule.description}: bucket ${bucket} is not below ${m.basisPoints}`);
  }
  if (m.kind === 'cidr') {
    const raw = view.req.clientAddress;
    const ip = view.address();
    if (ip === null) return no(`client address ${quote(String(raw))} is not an IP address`);
    if (cidrContains(m.cidr, ip)) {
      return {
        matched: true,
        reason: `client address ${raw} is in ${m.cidr.text}`,
        assignment: rule.hit!,
      };
    }
    return no(`client address ${raw} is not in ${m.cidr.text}`);
  }
  const what = m.kind === 'query' ? `query parameter ${m.name}` : `${m.kind} ${m.name}`;
  const value = matchedValue(m, view);
  if (value === undefined) return no(`${what} ${view.unread(m.kind, m.name, m.trust)}`);
  if (testValue(m.test, value))
    return { matched: true, reason: rule.description, assignment: rule.hit! };
  if (m.test.op === 'equals')
    return no(`${what} is ${quote(value)}, not ${JSON.stringify(m.test.value)}`);
  if (value.length > MAX_REGEX_INPUT) {
    return no(
      `${what} is longer than ${MAX_REGEX_INPUT} characters, so ${showRegex(m.test.re)} is not tried`,
    );
  }
  return no(`${what} ${quote(value)} does not match ${showRegex(m.test.re)}`);
}

function percentHit(rule: CompiledLaneRule, bucket: number, basisPoints: number): LaneAssignment {
  const reason = `rule ${rule.index}: ${percentReason(rule, bucket, basisPoints)}`;
  return { lane: rule.lane, ruleIndex: rule.index, reason };
}

function percentReason(rule: CompiledLaneRule, bucket: number, basisPoints: number): string {
  return `${rule.description} (bucket ${bucket} < ${basisPoints})`;
}

type ValueKindMatch = Extract<CompiledMatch, { kind: 'header' | 'cookie' | 'query' }>;
type PercentMatch = Extract<CompiledMatch, { kind: 'percent' }>;

function matchedValue(m: ValueKindMatch, view: RequestView): string | undefined {
  return view.trusted(m.kind, m.name, m.trust);
}

function testValue(t: ValueTest, value: string): boolean {
  if (t.op === 'equals') return value === t.value;
  return value.length <= MAX_REGEX_INPUT && t.re.test(value);
}

/** The sticky key; an empty value counts as missing, or every anonymous request would share one bucket. */
function percentKey(m: PercentMatch, view: RequestView): string | undefined {
  const v = view.trusted(m.source, m.name, m.trust);
  return v === '' ? undefined : v;
}

function absentOrEmpty(m: PercentMatch, view: RequestView): string {
  return view.unread(m.source, m.name, m.trust);
}

/** Quotes a request value for a message: escaped, and at most 64 characters. */
function quote(value: string): string {
  return value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}…` : JSON.stringify(value);
}
