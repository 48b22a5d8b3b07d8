// Request context for routing: which product and lane a request belongs to, read from the W3C
// `baggage` header (turnout-product, turnout-lane) and the plain `x-turnout-lane` header.

import type { BaggageErrorCode } from './baggage.js';
import { readTurnoutBaggage } from './baggage.js';

export interface RequestContext {
  product: string | null;
  lane: string | null;
  /** Where the lane came from; with no lane, 'baggage' if a product came from baggage. */
  source: 'baggage' | 'header' | 'none';
}

export type ContextErrorCode = BaggageErrorCode | 'invalid_lane' | 'invalid_product';

export type ContextErrorField =
  | 'baggage'
  | 'x-turnout-lane'
  | 'baggage.turnout-lane'
  | 'baggage.turnout-product';

export interface ContextError {
  code: ContextErrorCode;
  field: ContextErrorField;
  message: string;
}

export type ContextResult =
  | { ok: true; context: RequestContext }
  | { ok: false; error: ContextError };

export interface ContextHeaders {
  baggage?: string | undefined;
  'x-turnout-lane'?: string | undefined;
}

/** Shared result for requests that carry no context: most traffic, so no allocation. */
const NO_CONTEXT: ContextResult = Object.freeze({
  ok: true as const,
  context: Object.freeze({ product: null, lane: null, source: 'none' as const }),
});

const MAX_NAME_LENGTH = 63;

/**
 * Why `s` is not a valid product or lane name, or null if it is. Names are DNS-label-like,
 * exactly `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`, so they are safe in hostnames, metric
 * labels and Kubernetes object names. Hand-written rather than a regex to report the reason.
 */
export function nameProblem(s: string): string | null {
  if (s.length === 0) return 'is empty';
  if (s.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters`;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (alnum) continue;
    if (c !== 0x2d) return 'may contain only lowercase letters, digits and hyphens';
    if (i === 0 || i === s.length - 1) return 'must start and end with a letter or digit';
  }
  return null;
}

/** True when `s` matches `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`. */
export function isValidName(s: string): boolean {
  return nameProblem(s) === null;
}

/**
 * Extracts the routing context. Precedence: `x-turnout-lane` wins over the baggage
 * `turnout-lane` when both are present, because the plain header is what a human sets by hand
 * (curl, a browser header extension) to pick a lane for one request. The overridden baggage lane
 * is therefore ignored, not validated. The product only ever comes from baggage. An empty value
 * (header or baggage member) counts as absent. A malformed baggage header is an error even when
 * the lane header is set, since the product would otherwise be silently lost.
 */
export function extractContext(headers: ContextHeaders): ContextResult {
  const baggage = headers.baggage;
  const headerLane = headers['x-turnout-lane'];
  if (!baggage && !headerLane) return NO_CONTEXT;

  const fromBaggage = readTurnoutBaggage(baggage);
  if (!fromBaggage.ok) return { ok: false, error: fromBaggage.error };

  const product = fromBaggage.product || null;
  if (product !== null) {
    const problem = nameProblem(product);
    if (problem) return invalid('invalid_product', 'baggage.turnout-product', product, problem);
  }

  if (headerLane) {
    const problem = nameProblem(headerLane);
    if (problem) return invalid('invalid_lane', 'x-turnout-lane', headerLane, problem);
    return { ok: true, context: { product, lane: headerLane, source: 'header' } };
  }

  const lane = fromBaggage.lane || null;
  if (lane !== null) {
    const problem = nameProblem(lane);
    if (problem) return invalid('invalid_lane', 'baggage.turnout-lane', lane, problem);
  }
  if (product === null && lane === null) return NO_CONTEXT;
  return { ok: true, context: { product, lane, source: 'baggage' } };
}

function invalid(
  code: 'invalid_lane' | 'invalid_product',
  field: ContextErrorField,
  value: string,
  problem: string,
): ContextResult {
  const what = code === 'invalid_lane' ? 'lane' : 'product';
  return {
    ok: false,
    error: { code, field, message: `${field}: ${what} ${quote(value)} ${problem}` },
  };
}

/** Quotes a (possibly hostile) value for an error message: escaped and at most 64 characters. */
function quote(value: string): string {
  return value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}…` : JSON.stringify(value);
}
