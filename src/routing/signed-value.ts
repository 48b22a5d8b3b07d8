// Signed rule values: a header, cookie or query value that a lane rule with `trust: signed` reads
// only when a proxy secret signed it for that name — so the issuer (a login service setting a
// cookie) chose it, not the client. The HMAC, secrets and base64url rules are the override's
// (override.ts); only the tag and the signed text differ, so one kind never verifies as the other.
//
// Token format (ASCII, four parts separated by `.`):
//
//   s1.<expiresAtUnixSeconds>.<base64url(value, UTF-8)>.<base64url(HMAC-SHA256(secret, signed))>
//
//   signed = "s1." + <expiresAtUnixSeconds> + "." + <base64url value> + "." + <base64url name>
//
// The name (a header name in lower case, a cookie name as written, a decoded query parameter
// name) is signed but not carried: the proxy knows where it read the token, so a value signed for
// `x-user-tier` is worthless in `x-user-id`. Pure: the clock is injected.

import { timingSafeEqual } from 'node:crypto';
import { TurnoutError } from '../errors.js';
import { decodeBase64url, mac, secretLength } from './override.js';

export const SIGNED_VALUE_VERSION = 's1';
/** Bytes of UTF-8 value; as long as a rule's `equals` may be. */
export const MAX_SIGNED_VALUE_BYTES = 4096;
/** How far ahead a signed value's expiry may be: a cookie's longest life (RFC 6265bis, 400 days). */
export const MAX_SIGNED_VALUE_LIFETIME_MS = 400 * 24 * 60 * 60 * 1000;

const MAX_EXPIRY_DIGITS = 12;
const MAC_BYTES = 32;
const MAC_B64_CHARS = 43;
const MAX_VALUE_B64_CHARS = Math.ceil((MAX_SIGNED_VALUE_BYTES * 4) / 3);
const EXPIRY = /^[1-9][0-9]*$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type SignedValueResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly message: string };

function signedText(expires: string, valueB64: string, name: string): string {
  return `${SIGNED_VALUE_VERSION}.${expires}.${valueB64}.${Buffer.from(name, 'utf8').toString('base64url')}`;
}

function refuse(message: string): SignedValueResult {
  return { ok: false, message };
}

/**
 * A token carrying `value` for the header, cookie or query parameter `name`, valid until
 * `expiresAtMs` (rounded down to a second). Throws `invalid_argument` for an empty secret, a
 * value over MAX_SIGNED_VALUE_BYTES, or an expiry that is not in (now, now + 400 days].
 */
export function signValue(
  name: string,
  value: string,
  secret: string | Buffer,
  expiresAtMs: number,
  nowMs: number,
): string {
  if (secretLength(secret) === 0)
    throw new TurnoutError('invalid_argument', 'the secret is empty', 'secret');
  if (Buffer.byteLength(value, 'utf8') > MAX_SIGNED_VALUE_BYTES)
    throw new TurnoutError(
      'invalid_argument',
      `the value is over ${MAX_SIGNED_VALUE_BYTES} bytes`,
      'value',
    );
  const expires = Math.floor(expiresAtMs / 1000);
  const lifetime = expires * 1000 - nowMs;
  if (!Number.isFinite(expiresAtMs) || !(lifetime > 0) || lifetime > MAX_SIGNED_VALUE_LIFETIME_MS)
    throw new TurnoutError(
      'invalid_argument',
      'the expiry must be in the future and at most 400 days ahead',
      'expiresAt',
    );
  const valueB64 = Buffer.from(value, 'utf8').toString('base64url');
  const head = `${SIGNED_VALUE_VERSION}.${expires}.${valueB64}`;
  return `${head}.${mac(secret, signedText(String(expires), valueB64, name)).toString('base64url')}`;
}

/**
 * The value a token carries for `name`, if a secret in `secrets` signed it and it has not expired.
 * Never throws. Nothing is decoded before the signature checks out, except the token's shape.
 */
export function verifySignedValue(
  token: string,
  name: string,
  secrets: readonly (string | Buffer)[],
  nowMs: number,
): SignedValueResult {
  if (!secrets.some((s) => secretLength(s) > 0))
    return refuse('no secret is configured to verify signed values');
  const parts = token.split('.', 5);
  if (parts.length !== 4 || parts[0] !== SIGNED_VALUE_VERSION)
    return refuse(`it is not a signed value (${SIGNED_VALUE_VERSION}.<expiry>.<value>.<mac>)`);
  const [, expires, valueB64, macB64] = parts as [string, string, string, string];
  if (expires.length > MAX_EXPIRY_DIGITS || !EXPIRY.test(expires))
    return refuse('its expiry is not a decimal number of Unix seconds');
  if (valueB64.length > MAX_VALUE_B64_CHARS)
    return refuse(`its value is over ${MAX_SIGNED_VALUE_BYTES} bytes`);
  const bytes = decodeBase64url(valueB64);
  const given = macB64.length === MAC_B64_CHARS ? decodeBase64url(macB64) : null;
  if (bytes === null || given === null || given.length !== MAC_BYTES)
    return refuse('it is not base64url where it should be');
  const signed = signedText(expires, valueB64, name);
  const authentic = secrets.some(
    (s) => secretLength(s) > 0 && timingSafeEqual(mac(s, signed), given),
  );
  if (!authentic) return refuse(`its signature matches no secret for ${JSON.stringify(name)}`);
  const expiresAtMs = Number(expires) * 1000;
  // Written so that a NaN clock counts as expired.
  if (!(nowMs <= expiresAtMs))
    return refuse(`it expired at ${new Date(expiresAtMs).toISOString()}`);
  if (expiresAtMs - nowMs > MAX_SIGNED_VALUE_LIFETIME_MS)
    return refuse('it expires more than 400 days from now');
  try {
    return { ok: true, value: UTF8.decode(bytes) };
  } catch {
    return refuse('its value is not UTF-8');
  }
}
