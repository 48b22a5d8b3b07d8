// `turnout load`'s flags, checked before anything is sent: every bound is finite (users, rate,
// duration, requests, connections), and a bad value fails naming the flag and the reason. Pure.

import { TurnoutError } from '../errors.js';
import { parseDuration } from './release-command.js';

export interface LoadFlags {
  edge: string;
  host: string;
  path: string;
  users: string;
  rate: string;
  duration: string;
  maxRequests?: string;
  concurrency: string;
  userPrefix: string;
  header: string[];
  json?: boolean;
}

export interface LoadPlan {
  readonly edge: string;
  readonly host: string;
  readonly path: string;
  readonly users: number;
  readonly rate: number;
  readonly durationMs: number;
  readonly maxRequests: number;
  readonly concurrency: number;
  readonly userPrefix: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The most each bound may be: a load is a demo and test tool, not a stress test. */
export const LOAD_LIMITS = {
  users: 1_000_000,
  rate: 1000,
  durationMs: 3_600_000,
  maxRequests: 10_000_000,
  concurrency: 64,
} as const;

const bad = (flag: string, text: string, why: string) =>
  new TurnoutError('invalid_argument', `--${flag} ${text}: ${why}`, flag);

function whole(flag: string, text: string, most: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 1 || n > most)
    throw bad(flag, text, `a whole number from 1 to ${most}`);
  return n;
}

function rateOf(text: string): number {
  const n = Number(text.trim().replace(/\/s$/, ''));
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || n > LOAD_LIMITS.rate)
    throw bad('rate', text, `requests per second, above 0 and at most ${LOAD_LIMITS.rate}`);
  return n;
}

function durationOf(text: string): number {
  const ms = parseDuration(text, '--duration');
  if (ms < 1 || ms > LOAD_LIMITS.durationMs)
    throw bad('duration', text, 'from 1ms to 1h (a load always ends by itself)');
  return ms;
}

function edgeOf(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('edge', text, 'a URL such as http://127.0.0.1:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw bad('edge', text, 'an http:// or https:// URL');
  if (url.username !== '' || url.password !== '')
    throw bad('edge', text, 'no user or password in the URL');
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '')
    throw bad('edge', text, 'the edge alone, without a path (that is --path)');
  return url.origin;
}

// RFC 9110 token characters: what a header name may be made of.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible characters, spaces and tabs: no CR or LF, so a value cannot start another header.
const VALUE = /^[\t\x20-\x7e\x80-\uffff]*$/;
const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** `name: value` (as `release prerelease` prints the lane's header) → [name, value]. */
function headerOf(text: string): [string, string] {
  const at = text.indexOf(':');
  const name = at < 0 ? '' : text.slice(0, at).trim();
  const value = at < 0 ? '' : text.slice(at + 1).trim();
  if (!TOKEN.test(name))
    throw bad('header', text, "expected 'name: value', e.g. 'x-prerelease: …'");
  if (!VALUE.test(value)) throw bad('header', text, 'a header value has no control characters');
  const lower = name.toLowerCase();
  if (lower === 'host') throw bad('header', text, 'the Host header is --host');
  if (lower === 'x-user-id') throw bad('header', text, 'x-user-id is set per user (--users)');
  return [lower, value];
}

function pathOf(text: string): string {
  if (!text.startsWith('/') || text.startsWith('//') || !VALUE.test(text) || /\s/.test(text))
    throw bad('path', text, 'an absolute path such as /orders, without spaces');
  return text;
}

/** The flags as a plan, or the first bad flag as an invalid_argument naming it. */
export function parseLoadFlags(f: LoadFlags): LoadPlan {
  if (!HOST.test(f.host)) throw bad('host', f.host, 'a host name such as shop.localhost');
  if (!/^[A-Za-z0-9._-]{0,64}$/.test(f.userPrefix))
    throw bad('user-prefix', f.userPrefix, 'letters, digits, ".", "_" or "-", at most 64');
  const rate = rateOf(f.rate);
  const durationMs = durationOf(f.duration);
  const maxRequests =
    f.maxRequests === undefined
      ? // Never more than the rate allows in the duration (rounded up), and never unbounded.
        Math.min(LOAD_LIMITS.maxRequests, Math.ceil((rate * durationMs) / 1000))
      : whole('max-requests', f.maxRequests, LOAD_LIMITS.maxRequests);
  return {
    edge: edgeOf(f.edge),
    host: f.host,
    path: pathOf(f.path),
    users: whole('users', f.users, LOAD_LIMITS.users),
    rate,
    durationMs,
    maxRequests,
    concurrency: whole('concurrency', f.concurrency, LOAD_LIMITS.concurrency),
    userPrefix: f.userPrefix,
    headers: Object.fromEntries(f.header.map(headerOf)),
  };
}
