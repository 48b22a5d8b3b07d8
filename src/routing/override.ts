// Signed per-request routing overrides (`x-turnout-override`): HMAC-signed, expiring, policy-checked
// dtabs appended after the lane overlay for one request and its call chain. Pure: clock injected.
//
// Token format (ASCII, four parts separated by `.`):
//
//   v1.<expiresAtUnixSeconds>.<base64url(dtab text, UTF-8)>.<base64url(HMAC-SHA256(secret, signed))>
//
//   signed = "v1." + <expiresAtUnixSeconds> + "." + <base64url dtab>   (the token up to its last `.`)
//
// - `v1` is the literal version tag. The expiry is decimal Unix seconds without leading zeros
//   (at most 12 digits). base64url is RFC 4648 §5 without padding, canonical (unused bits zero);
//   the MAC is 32 bytes (43 characters). The dtab text is signed exactly as written.
// - Verification order: size → shape → signature (against every configured secret, for key
//   rotation, with `timingSafeEqual`) → expiry → UTF-8 decode and parse → policy. Nothing is
//   parsed or trusted before the signature checks out, except the token's shape.
// - Policy (reference §11): at most 16 dentries and 2048 bytes of dtab text; every prefix is
//   `/svc/<name>[/...]` with a literal `<name>` (`/`, `/*`, `/svc` and `/svc/*` are refused as too
//   broad: they would capture every service); every leaf is `/v/<module>/<version>[/...]`
//   (never `/$/...`, so no `/$/inet` SSRF and no namer lookups by name, and never `/svc/...`, so
//   no re-delegation through the override); `~` is allowed (a harmless fallback), `!` and `$`
//   are refused (they would let a header fail or black-hole traffic). Expiry at most 24 h ahead.
// - A token that fails any check is ignored by the proxy: the request routes as if no override
//   were sent. `reason` and `message` are for logs and the route explainer, never for responses.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { TurnoutError } from '../errors.js';
import type { Dtab } from './dtab.js';
import { showDentry, showDtab, WILDCARD } from './dtab.js';
import { parseDtab } from './parser.js';
import type { Path } from './path.js';
import { showPath } from './path.js';
import type { NameTree } from './tree.js';

/** The request header that carries a signed override token. */
export const OVERRIDE_HEADER = 'x-turnout-override';
export const OVERRIDE_TOKEN_VERSION = 'v1';
export const MAX_OVERRIDE_DENTRIES = 16;
/** Bytes of UTF-8 dtab text (the decoded payload, not its base64url form). */
export const MAX_OVERRIDE_BYTES = 2048;
/** How far ahead of `now` a token's expiry may be; further is refused as policy. */
export const MAX_OVERRIDE_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** base64url characters of MAX_OVERRIDE_BYTES, unpadded. */
const MAX_DTAB_B64_CHARS = Math.ceil((MAX_OVERRIDE_BYTES * 4) / 3);
const MAX_EXPIRY_DIGITS = 12;
const MAC_BYTES = 32;
const MAC_B64_CHARS = 43;
/** Longest well-shaped token: tag, expiry, dtab, MAC and three dots. Longer is `too_large`. */
export const MAX_OVERRIDE_TOKEN_CHARS =
  OVERRIDE_TOKEN_VERSION.length + MAX_EXPIRY_DIGITS + MAX_DTAB_B64_CHARS + MAC_B64_CHARS + 3;

export type OverrideRejection =
  | 'absent'
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'too_large'
  | 'policy';

export type OverrideResult =
  | { readonly ok: true; readonly dtab: Dtab; readonly expiresAtMs: number }
  | { readonly ok: false; readonly reason: OverrideRejection; readonly message: string };

type Rejected = Extract<OverrideResult, { ok: false }>;

/** The result for a request without the header: shared and frozen, so the common case allocates nothing. */
export const OVERRIDE_ABSENT: Rejected = Object.freeze({
  ok: false,
  reason: 'absent',
  message: `no ${OVERRIDE_HEADER} header`,
});

const NO_SECRETS: Rejected = Object.freeze({
  ok: false,
  reason: 'bad_signature',
  message: 'overrides are disabled: no override secret is configured',
});

function reject(reason: OverrideRejection, message: string): Rejected {
  return { ok: false, reason, message };
}

// --- policy -----------------------------------------------------------------------------------

interface Violation {
  readonly reason: 'too_large' | 'policy';
  readonly message: string;
}

function violation(dtab: Dtab, text: string): Violation | null {
  if (dtab.length === 0) return { reason: 'policy', message: 'the override has no dentries' };
  if (dtab.length > MAX_OVERRIDE_DENTRIES) {
    return {
      reason: 'too_large',
      message: `the override has ${dtab.length} dentries; at most ${MAX_OVERRIDE_DENTRIES} are allowed`,
    };
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_OVERRIDE_BYTES) {
    return {
      reason: 'too_large',
      message: `the override dtab is ${bytes} bytes; at most ${MAX_OVERRIDE_BYTES} are allowed`,
    };
  }
  for (let i = 0; i < dtab.length; i++) {
    const dentry = dtab[i]!;
    const problem = prefixProblem(dentry.prefix) ?? treeProblem(dentry.dst);
    if (problem !== null) {
      return { reason: 'policy', message: `dentry ${i + 1} (${showDentry(dentry)}): ${problem}` };
    }
  }
  return null;
}

function prefixProblem(prefix: readonly string[]): string | null {
  if (prefix[0] !== 'svc') return 'the prefix must start with /svc/<name>';
  const name = prefix[1];
  if (name === undefined || name === WILDCARD) {
    return 'the prefix is too broad: it must name a service (/svc/<name>)';
  }
  return null;
}

function leafProblem(path: Path): string | null {
  if (path[0] === 'v' && path.length >= 3) return null;
  if (path[0] === '$') return `${showPath(path)} is refused: /$/ names are never allowed`;
  return `${showPath(path)} is refused: destinations must be /v/<module>/<version>`;
}

/** Walks the tree without recursion (a programmatic tree may be arbitrarily deep). */
function treeProblem(root: NameTree<Path>): string | null {
  const stack: NameTree<Path>[] = [root];
  for (let tree = stack.pop(); tree !== undefined; tree = stack.pop()) {
    switch (tree.kind) {
      case 'leaf': {
        const problem = leafProblem(tree.value);
        if (problem !== null) return problem;
        break;
      }
      case 'alt':
        for (let i = tree.trees.length - 1; i >= 0; i--) stack.push(tree.trees[i]!);
        break;
      case 'union':
        for (let i = tree.branches.length - 1; i >= 0; i--) stack.push(tree.branches[i]!.tree);
        break;
      case 'neg':
        break;
      case 'fail':
        return "'!' (fail) is refused: it would fail every request for the prefix";
      case 'empty':
        return "'$' (empty) is refused: it would black-hole every request for the prefix";
    }
  }
  return null;
}

/**
 * Why `dtab` may not be used as an override, or null when it may. `text` is the dtab text whose
 * size is limited; it defaults to the dtab's show form.
 */
export function checkOverridePolicy(dtab: Dtab, text: string = showDtab(dtab)): string | null {
  return violation(dtab, text)?.message ?? null;
}

// --- signing ----------------------------------------------------------------------------------

/** HMAC-SHA256 of `signed`: overrides and signed rule values (signed-value.ts) share it. */
export function mac(secret: string | Buffer, signed: string): Buffer {
  return createHmac('sha256', secret).update(signed, 'latin1').digest();
}

export function secretLength(secret: string | Buffer): number {
  return typeof secret === 'string' ? Buffer.byteLength(secret, 'utf8') : secret.length;
}

/**
 * A token for `dtab` (text, signed exactly as written; or a dtab, signed in its show form) that
 * expires at `expiresAtMs` (rounded down to a whole second). Throws TurnoutError
 * `invalid_override` when the dtab does not parse or fails the policy, when the secret is empty,
 * or when the expiry is not a positive time; with `nowMs`, also when the expiry is not in
 * (now, now + MAX_OVERRIDE_LIFETIME_MS].
 */
export function signOverride(
  dtab: string | Dtab,
  secret: string | Buffer,
  expiresAtMs: number,
  nowMs?: number,
): string {
  if (secretLength(secret) === 0) {
    throw new TurnoutError('invalid_override', 'the override secret is empty', 'secret');
  }
  const expires = Math.floor(expiresAtMs / 1000);
  if (!Number.isFinite(expiresAtMs) || expires < 1 || String(expires).length > MAX_EXPIRY_DIGITS) {
    throw new TurnoutError(
      'invalid_override',
      `the override expiry ${expiresAtMs} is not a valid time in ms`,
      'expiresAt',
    );
  }
  if (nowMs !== undefined) {
    const lifetime = expires * 1000 - nowMs;
    if (!(lifetime >= 0)) {
      throw new TurnoutError('invalid_override', 'the override expiry is in the past', 'expiresAt');
    }
    if (lifetime > MAX_OVERRIDE_LIFETIME_MS) {
      throw new TurnoutError(
        'invalid_override',
        `the override expiry is more than ${MAX_OVERRIDE_LIFETIME_MS / 3_600_000} h ahead`,
        'expiresAt',
      );
    }
  }
  const text = typeof dtab === 'string' ? dtab : showDtab(dtab);
  let parsed: Dtab;
  try {
    // A given dtab is re-parsed from its show form, so what is checked is what verify will see.
    parsed = parseDtab(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new TurnoutError(
      'invalid_override',
      `the override dtab does not parse: ${detail}`,
      'dtab',
    );
  }
  const problem = violation(parsed, text);
  if (problem !== null) throw new TurnoutError('invalid_override', problem.message, 'dtab');
  const signed = `${OVERRIDE_TOKEN_VERSION}.${expires}.${Buffer.from(text, 'utf8').toString('base64url')}`;
  return `${signed}.${mac(secret, signed).toString('base64url')}`;
}

// --- verification -----------------------------------------------------------------------------

const EXPIRY = /^[1-9][0-9]*$/;
const B64URL = /^[A-Za-z0-9_-]*$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict, canonical, unpadded base64url; null when `text` is not exactly that. */
export function decodeBase64url(text: string): Buffer | null {
  if (text.length % 4 === 1 || !B64URL.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

/**
 * Checks an `x-turnout-override` header value. Never throws. Absent (undefined or empty) →
 * the shared OVERRIDE_ABSENT; no (non-empty) secrets configured → `bad_signature` for every
 * token. A token verifies when its MAC matches any of `secrets` (list the current one first
 * and keep the previous one during rotation). It is valid while `nowMs <= expiresAtMs`.
 */
export function verifyOverride(
  token: string | undefined,
  secrets: readonly (string | Buffer)[],
  nowMs: number,
): OverrideResult {
  if (token === undefined || token.length === 0) return OVERRIDE_ABSENT;
  if (!secrets.some((s) => secretLength(s) > 0)) return NO_SECRETS;
  if (token.length > MAX_OVERRIDE_TOKEN_CHARS) {
    return reject('too_large', `the token is over ${MAX_OVERRIDE_TOKEN_CHARS} characters`);
  }

  const parts = token.split('.');
  if (parts.length !== 4) {
    return reject('malformed', `the token has ${parts.length} parts separated by '.', not 4`);
  }
  const [tag, expiryText, dtabB64, macB64] = parts as [string, string, string, string];
  if (tag !== OVERRIDE_TOKEN_VERSION) {
    return reject('malformed', `the token version is not ${OVERRIDE_TOKEN_VERSION}`);
  }
  if (expiryText.length > MAX_EXPIRY_DIGITS || !EXPIRY.test(expiryText)) {
    return reject('malformed', 'the token expiry is not a decimal number of Unix seconds');
  }
  if (dtabB64.length > MAX_DTAB_B64_CHARS) {
    return reject('too_large', `the override dtab is over ${MAX_OVERRIDE_BYTES} bytes`);
  }
  const dtabBytes = decodeBase64url(dtabB64);
  if (dtabBytes === null) return reject('malformed', 'the token dtab is not base64url');
  const given = macB64.length === MAC_B64_CHARS ? decodeBase64url(macB64) : null;
  if (given === null || given.length !== MAC_BYTES) {
    return reject('malformed', 'the token signature is not a base64url HMAC-SHA256');
  }

  const signed = token.slice(0, token.length - macB64.length - 1);
  let authentic = false;
  for (const secret of secrets) {
    if (secretLength(secret) > 0 && timingSafeEqual(mac(secret, signed), given)) {
      authentic = true;
      break;
    }
  }
  if (!authentic) return reject('bad_signature', 'the token signature matches no override secret');

  const expiresAtMs = Number(expiryText) * 1000;
  if (!(nowMs <= expiresAtMs)) {
    // Written so that a NaN clock counts as expired.
    return reject('expired', `the token expired at ${new Date(expiresAtMs).toISOString()}`);
  }
  if (expiresAtMs - nowMs > MAX_OVERRIDE_LIFETIME_MS) {
    return reject(
      'policy',
      `the token expires more than ${MAX_OVERRIDE_LIFETIME_MS / 3_600_000} h from now`,
    );
  }

  let text: string;
  let dtab: Dtab;
  try {
    text = UTF8.decode(dtabBytes);
    dtab = parseDtab(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return reject('malformed', `the signed override dtab does not parse: ${detail}`);
  }
  const problem = violation(dtab, text);
  if (problem !== null) return reject(problem.reason, problem.message);
  return { ok: true, dtab, expiresAtMs };
}
