// The API's bearer tokens for `up` and `server`: generated ones kept in the data dir
// (`<data>/admin-token`, `<data>/join-token`, created once, mode 0600), or a tokens file the
// operator writes (`--tokens`, a YAML or JSON list of {name, role, token}), checked whole before
// anything starts, each error naming the entry and the field.

import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiToken, TokenRole } from '../api/auth.js';
import { TOKEN_ROLES } from '../api/auth.js';
import { TurnoutError } from '../errors.js';

/** The tokens a control plane generates in its data dir when given no tokens file. */
export const GENERATED_TOKENS = {
  admin: { file: 'admin-token', role: 'admin', name: 'admin' },
  join: { file: 'join-token', role: 'agent', name: 'join' },
} as const;
export type GeneratedToken = keyof typeof GENERATED_TOKENS;

export interface DataDirToken {
  readonly token: string;
  readonly path: string;
  readonly created: boolean;
}

/** Reuses `<data>/<file>` when it holds a token; otherwise writes a new one (mode 0600). */
export function dataDirToken(dataDir: string, which: GeneratedToken): DataDirToken {
  const path = join(dataDir, GENERATED_TOKENS[which].file);
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token !== '') return { token, path, created: false };
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'w' });
  return { token, path, created: true };
}

/** The ApiToken of a generated token. */
export function generatedApiToken(which: GeneratedToken, token: string): ApiToken {
  const { role, name } = GENERATED_TOKENS[which];
  return { token, name, role };
}

/** At least this long: a token is a password that never expires. */
const MIN_TOKEN_LENGTH = 24;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const FIELDS = ['name', 'role', 'token'] as const;

export interface TokensFile {
  readonly tokens: ApiToken[];
  /** Said once at start (a file others may read). */
  readonly warnings: string[];
}

/** Reads and checks a tokens file; every problem is invalid_argument on `field`. */
export async function readTokensFile(path: string, field = '--tokens'): Promise<TokensFile> {
  const fail = (reason: string) =>
    new TurnoutError('invalid_argument', `${field} ${path}: ${reason}`, field);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(`cannot read it (${(error as { code?: string }).code ?? String(error)})`);
  }
  // YAML is a superset of JSON: one parser reads both. Loaded here, not at every CLI start.
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw fail(`not YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  const tokens = checkTokens(doc, fail);
  const mode = statSync(path).mode & 0o777;
  const warnings =
    (mode & 0o077) === 0
      ? []
      : [`${field} ${path} is open to other users (mode ${mode.toString(8)}); chmod 600 it`];
  return { tokens, warnings };
}

/** Pure: the entries of a parsed tokens file, or the first problem found. */
export function checkTokens(doc: unknown, fail: (reason: string) => Error): ApiToken[] {
  if (!Array.isArray(doc))
    throw fail('expected a list of {name, role, token} entries (a YAML or JSON list)');
  if (doc.length === 0) throw fail('the list is empty: give at least one token');
  const names = new Map<string, number>();
  const secrets = new Map<string, number>();
  return doc.map((entry, index) => {
    const at = `entry ${index + 1}`;
    const t = checkEntry(entry, at, fail);
    const sameName = names.get(t.name);
    if (sameName !== undefined)
      throw fail(`${at}: name: "${t.name}" is also the name of entry ${sameName}`);
    const sameToken = secrets.get(t.token);
    if (sameToken !== undefined)
      throw fail(`${at} ("${t.name}"): token: the same token as entry ${sameToken}`);
    names.set(t.name, index + 1);
    secrets.set(t.token, index + 1);
    return t;
  });
}

function checkEntry(entry: unknown, at: string, fail: (reason: string) => Error): ApiToken {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    throw fail(`${at}: expected {name, role, token}`);
  const e = entry as Record<string, unknown>;
  const extra = Object.keys(e).find((k) => !(FIELDS as readonly string[]).includes(k));
  if (extra !== undefined)
    throw fail(`${at}: ${extra}: unknown field (expected ${FIELDS.join(', ')})`);
  const { name, role, token } = e;
  if (typeof name !== 'string' || !NAME.test(name))
    throw fail(
      `${at}: name: ${name === undefined ? 'missing' : 'expected 1–64 of A-Z a-z 0-9 . _ @ - (the actor the audit log records)'}`,
    );
  const who = `${at} ("${name}")`;
  if (typeof role !== 'string' || !(TOKEN_ROLES as readonly string[]).includes(role)) {
    const roles = TOKEN_ROLES.join(', ');
    throw fail(
      `${who}: role: ${role === undefined ? `missing; one of ${roles}` : `${JSON.stringify(role)} is not one of ${roles}`}`,
    );
  }
  if (typeof token !== 'string')
    throw fail(`${who}: token: ${token === undefined ? 'missing' : 'expected a string'}`);
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw fail(
      `${who}: token: expected at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. \`openssl rand -base64 32\`)`,
    );
  return { name, role: role as TokenRole, token };
}
