// Which store a control plane opens, from `--store` or TURNOUT_STORE: the embedded SQLite file in
// the data dir by default, another SQLite file (`sqlite:<path>`), or Postgres (`postgres://…`) for
// several replicas sharing one database. Pure: parsing only; src/server/open-store.ts opens it.

import { resolve } from 'node:path';
import { TurnoutError } from '../errors.js';
import { redactUrl } from '../store/postgres.js';

export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

const EXPECTED =
  'expected postgres://user[:password]@host[:port]/database or sqlite:<path> (default: the data dir)';

/**
 * The store `spec` names; undefined or empty: `<dataDir>/turnout.db`. `field` names the flag (or
 * the environment variable) in errors. Relative SQLite paths resolve against `cwd`.
 */
export function parseStoreLocation(
  spec: string | undefined,
  dataDir: string,
  field = '--store',
  cwd = process.cwd(),
): StoreLocation {
  if (spec === undefined || spec.trim() === '')
    return { kind: 'sqlite', path: resolve(dataDir, 'turnout.db') };
  const value = spec.trim();
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw invalid(field, `sqlite: needs a file path; ${EXPECTED}`);
    return { kind: 'sqlite', path: resolve(cwd, path) };
  }
  if (/^postgres(ql)?:\/\//i.test(value))
    return { kind: 'postgres', url: checkPostgres(value, field) };
  throw invalid(field, `unknown store ${quoteScheme(value)}; ${EXPECTED}`);
}

function checkPostgres(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(field, `not a URL; ${EXPECTED}`);
  }
  if (url.hostname === '') throw invalid(field, `the Postgres URL names no host; ${EXPECTED}`);
  if (url.pathname === '' || url.pathname === '/')
    throw invalid(field, `the Postgres URL names no database; ${EXPECTED}`);
  return value;
}

/** How a location is shown in summaries and logs: never a password. */
export function describeStoreLocation(at: StoreLocation): string {
  if (at.kind === 'sqlite') return at.path;
  return redactUrl(at.url);
}

/** Only the scheme of what was given: the rest may hold a password. */
function quoteScheme(value: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1];
  return scheme === undefined ? '(no scheme)' : `"${scheme}:"`;
}

function invalid(field: string, reason: string): TurnoutError {
  return new TurnoutError('invalid_argument', `${field}: ${reason}`, field);
}
