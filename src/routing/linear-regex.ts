// Lane-rule regexes, matched in linear time. A rule's pattern meets hostile input on every request
// at the edge, and V8's backtracking engine let `^(a+)+$` and a 28-byte header stall a proxy for
// seconds: no input-length cap bounds an exponential pattern. re2js implements RE2's semantics in
// plain JavaScript (an automaton, no backtracking, no native build), so matching costs
// O(pattern × input) whatever the pattern. What RE2 cannot promise — backreferences, lookaround —
// it refuses to compile, and validation reports that with the field's name.

import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

let engine: typeof RE2JS | null = null;

/**
 * re2js, loaded with the first pattern compiled (issue 15: memory): a proxy whose lane rules have
 * no regex (most) never carries it (~1–2 MB of RSS).
 */
function re2(): typeof RE2JS {
  engine ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS;
  return engine;
}

export interface LinearRegex {
  /** The pattern as written in the rule. */
  readonly source: string;
  /** True when the pattern matches anywhere in `value` (like RegExp.prototype.test). */
  test(value: string): boolean;
}

/** Compiles `source` with RE2 semantics; throws an Error whose message says why it can't. */
export function compileLinearRegex(source: string): LinearRegex {
  let re: RE2JS;
  try {
    re = re2().compile(source);
  } catch (error) {
    throw new Error(reasonOf(error as Error));
  }
  return { source, test: (value) => re.test(value) };
}

/** re2js says "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"; keep the why. */
function reasonOf(error: Error): string {
  const message = error.message.replace(/^error parsing regexp: /, '');
  return `${message} (lane regexes use RE2 syntax, which has no backreferences or lookaround)`;
}

/** The pattern as a reader writes it: `/^a+$/`. */
export function showRegex(re: LinearRegex): string {
  return `/${re.source}/`;
}
