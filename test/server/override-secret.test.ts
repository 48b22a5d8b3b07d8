// The data dir's override secret ("try it" signs with it, the local proxy verifies with it): made
// once, owner-only, reused by the next start so a proxy kept from an earlier run still verifies.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dataDirOverrideSecret,
  OVERRIDE_SECRET_FILE,
  withOverrideSecret,
} from '../../src/server/override-secret.js';

describe('dataDirOverrideSecret', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes a random secret once, mode 0600, and answers the same one after', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnout-override-'));
    dirs.push(dir);
    const first = dataDirOverrideSecret(dir);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const path = join(dir, OVERRIDE_SECRET_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toBe(first);
    expect(dataDirOverrideSecret(dir)).toBe(first);
    const other = mkdtempSync(join(tmpdir(), 'turnout-override-'));
    dirs.push(other);
    expect(dataDirOverrideSecret(other)).not.toBe(first);
  });

  it.each([
    [undefined, 's', 's'],
    ['', 's', 's'],
    ['a,b', 's', 'a,b,s'],
    ['a,,', 's', 'a,s'],
  ])('TURNOUT_OVERRIDE_SECRETS %j plus %j is %j', (existing, secret, want) => {
    expect(withOverrideSecret(existing, secret)).toBe(want);
  });
});
