// The override secret of a data dir (`<data>/override-secret`, created once, mode 0600): the HMAC
// key the local proxy accepts `x-turnout-override` tokens with and the control plane signs "try it"
// requests with (src/api/routes/try.ts). Kept in the data dir, not made up per start, so a proxy
// kept from an earlier run (src/cli/up-proxy.ts adopts it) still verifies what the API signs.

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OVERRIDE_SECRET_FILE = 'override-secret';

/** Reuses `<data>/override-secret` when it holds one; otherwise writes a new one (mode 0600). */
export function dataDirOverrideSecret(dataDir: string): string {
  const path = join(dataDir, OVERRIDE_SECRET_FILE);
  try {
    const secret = readFileSync(path, 'utf8').trim();
    if (secret !== '') return secret;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  // base64url: no comma, so it travels in TURNOUT_OVERRIDE_SECRETS (comma-separated) as is.
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'w' });
  return secret;
}

/** TURNOUT_OVERRIDE_SECRETS with `secret` added to what the environment already names. */
export function withOverrideSecret(existing: string | undefined, secret: string): string {
  return [...(existing ?? '').split(',').filter((s) => s !== ''), secret].join(',');
}
