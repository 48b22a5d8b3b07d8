// Lane rules checked without zod, for the proxy (issue 15: memory): the same answers as
// laneRulesSchema in lane-rules.ts — the source of truth, whose comments say why each limit is
// there — with its first issue's path and message. A regex is compiled here as there, so re2js
// loads with the first rule that has one.

import { parseCidr } from './cidr.js';
import { nameProblem } from './context.js';
import type { LaneMatchKind, LaneRule, PercentKey, ValueMatch } from './lane-rules.js';
import { compileLinearRegex } from './linear-regex.js';
import type { Path } from './plain-check.js';
import { fail, isObject, strictKeys } from './plain-check.js';
import { TRUST_SOURCES } from './trust-sources.js';

const MAX_REGEX_LENGTH = 256;
const MAX_LANE_RULES = 1000;
const MAX_NAME_LENGTH = 256;
const MAX_EQUALS_LENGTH = 4096;
const KINDS: readonly LaneMatchKind[] = ['header', 'cookie', 'query', 'cidr', 'percent'];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TOKEN_CHARS = "(letters, digits and !#$%&'*+-.^_`|~)";

function text(value: unknown, what: string, path: Path): string {
  if (typeof value !== 'string')
    fail(path, value === undefined ? `${what} is required` : `${what} must be a string`);
  return value;
}

/** lane-rules.ts's `strict()`: its unknown-field and not-an-object messages. */
function strict(value: unknown, what: string, path: Path): Record<string, unknown> {
  if (!isObject(value))
    fail(path, value === undefined ? `${what} is required` : `${what} must be an object`);
  return value;
}

/** Run after the fields: zod reports unknown keys after the shape's own issues. */
function strictFields(
  value: Record<string, unknown>,
  what: string,
  allowed: readonly string[],
  path: Path,
): void {
  strictKeys(
    value,
    allowed,
    path,
    (extra) =>
      `${what} has unknown field ${extra.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed.join(', ')}`,
  );
}

function quote(value: string): string {
  return value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}…` : JSON.stringify(value);
}

function lane(value: unknown, path: Path): string {
  const name = text(value, 'lane', path);
  const problem = nameProblem(name);
  if (problem !== null) fail(path, `lane ${quote(name)} ${problem}`);
  return name;
}

function trust(value: unknown, path: Path): ValueMatch['trust'] {
  if (value === undefined) return undefined;
  if (!(TRUST_SOURCES as readonly unknown[]).includes(value))
    fail(path, `trust is one of ${TRUST_SOURCES.join(', ')} (default trusted-hop)`);
  return value as ValueMatch['trust'];
}

function token(value: unknown, what: string, path: Path): string {
  const name = text(value, what, path);
  if (name.length > MAX_NAME_LENGTH)
    fail(path, `a ${what} is at most ${MAX_NAME_LENGTH} characters`);
  if (!TOKEN.test(name)) fail(path, `a ${what} is an HTTP token ${TOKEN_CHARS}`);
  return name;
}

function headerName(value: unknown, path: Path): string {
  const name = token(value, 'header name', path).toLowerCase();
  if (name.startsWith('x-turnout-') || name === 'baggage')
    fail(
      path,
      'the edge strips x-turnout-* and baggage headers from outside requests before assigning lanes, so a rule on them would never match; use another header',
    );
  return name;
}

function cookieName(value: unknown, path: Path): string {
  return token(value, 'cookie name', path);
}

function queryName(value: unknown, path: Path): string {
  const name = text(value, 'query parameter name', path);
  if (name.length < 1) fail(path, 'a query parameter name is not empty');
  if (name.length > MAX_NAME_LENGTH)
    fail(path, `a query parameter name is at most ${MAX_NAME_LENGTH} characters`);
  return name;
}

function regex(value: unknown, path: Path): string {
  const source = text(value, 'regex', path);
  if (source.length < 1) fail(path, 'regex is empty; to match any value that is present use "^"');
  if (source.length > MAX_REGEX_LENGTH)
    fail(path, `regex is longer than ${MAX_REGEX_LENGTH} characters`);
  try {
    compileLinearRegex(source);
  } catch (error) {
    fail(path, (error as Error).message);
  }
  return source;
}

const NAME_CHECKS = { header: headerName, cookie: cookieName, query: queryName } as const;
const VALUE_FIELDS = ['name', 'trust', 'equals', 'regex'] as const;

function valueMatch(value: unknown, what: 'header' | 'cookie' | 'query', path: Path): ValueMatch {
  const m = strict(value, `a ${what} match`, path);
  const out: Record<string, unknown> = { name: NAME_CHECKS[what](m.name, [...path, 'name']) };
  const t = trust(m.trust, [...path, 'trust']);
  if (t !== undefined) out.trust = t;
  if (m.equals !== undefined) {
    const equals = text(m.equals, 'equals', [...path, 'equals']);
    if (equals.length > MAX_EQUALS_LENGTH)
      fail([...path, 'equals'], `equals is at most ${MAX_EQUALS_LENGTH} characters`);
    out.equals = equals;
  }
  if (m.regex !== undefined) out.regex = regex(m.regex, [...path, 'regex']);
  strictFields(m, `a ${what} match`, VALUE_FIELDS, path);
  if ((m.equals === undefined) === (m.regex === undefined))
    fail(path, `a ${what} match has exactly one of equals or regex`);
  return out as unknown as ValueMatch;
}

function cidr(value: unknown, path: Path): string {
  const text_ = text(value, 'cidr', path);
  const parsed = parseCidr(text_);
  if (!parsed.ok) fail(path, `cidr ${quote(text_)}: ${parsed.reason}`);
  return text_;
}

function percent(value: unknown, path: Path): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(path, value === undefined ? 'percent is required' : 'percent must be a number');
  if (value < 0 || value > 100) fail(path, 'percent is from 0 to 100');
  if (!(Math.abs(value * 100 - Math.round(value * 100)) < 1e-6))
    fail(path, 'percent has at most 2 decimals');
  return value;
}

const KEY_FIELDS = ['header', 'cookie', 'trust'] as const;

function percentKey(value: unknown, path: Path): PercentKey {
  const k = strict(value, 'a percent key', path);
  const out: Record<string, unknown> = {};
  if (k.header !== undefined) out.header = headerName(k.header, [...path, 'header']);
  if (k.cookie !== undefined) out.cookie = cookieName(k.cookie, [...path, 'cookie']);
  const t = trust(k.trust, [...path, 'trust']);
  if (t !== undefined) out.trust = t;
  strictFields(k, 'a percent key', KEY_FIELDS, path);
  if ((k.header === undefined) === (k.cookie === undefined))
    fail(path, 'a percent key has exactly one of header or cookie');
  return out as PercentKey;
}

/** The match part of a rule of `kind`, checked; `lane` comes first as in the schema's shape. */
function ruleOf(input: Record<string, unknown>, kind: LaneMatchKind, path: Path): LaneRule {
  const what = `a ${kind} rule`;
  const out: Record<string, unknown> = { lane: lane(input.lane, [...path, 'lane']) };
  let allowed: readonly string[];
  if (kind === 'cidr') {
    out.cidr = cidr(input.cidr, [...path, 'cidr']);
    allowed = ['lane', 'cidr'];
  } else if (kind === 'percent') {
    out.percent = percent(input.percent, [...path, 'percent']);
    out.key = percentKey(input.key, [...path, 'key']);
    allowed = ['lane', 'percent', 'key'];
  } else {
    out[kind] = valueMatch(input[kind], kind, [...path, kind]);
    allowed = ['lane', kind];
  }
  strictFields(input, what, allowed, path);
  return out as unknown as LaneRule;
}

export function checkLaneRule(value: unknown, path: Path): LaneRule {
  const list = KINDS.join(', ');
  if (!isObject(value)) fail(path, `a rule is an object with lane and one of ${list}`);
  const kinds = KINDS.filter((k) => Object.hasOwn(value, k));
  const kind = kinds[0];
  if (kind === undefined) fail(path, `a rule needs one match: ${list}`);
  if (kinds.length > 1)
    fail(
      path,
      `a rule has exactly one match, not ${kinds.join(' and ')}; write one rule per match`,
    );
  return ruleOf(value, kind, path);
}

/** A product's rules (absent: none); throws a `Problem` at the first issue. */
export function checkLaneRules(value: unknown, path: Path): LaneRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, 'rules must be a list');
  const rules = value.map((rule, i) => checkLaneRule(rule, [...path, i]));
  if (rules.length > MAX_LANE_RULES) fail(path, `at most ${MAX_LANE_RULES} rules`);
  return rules;
}
