// Every test file that reaches test/support/netns.ts (itself or through a helper) must be in the
// group that runs alone (test/support/test-groups.ts): otherwise it may change the machine's
// network interfaces while a browser test loads a page, which Chromium aborts.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANGES_INTERFACES } from '../support/test-groups.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TEST = join(ROOT, 'test');
const NETNS = join(TEST, 'support/netns.ts');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? filesUnder(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** The .ts files a file imports by a relative path (`./x.js` is x.ts); text that only looks
 * like an import (a fixture in a string) names no file and is skipped. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
    const path = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
    if (existsSync(path)) out.push(path);
  }
  return out;
}

function reaches(file: string, target: string, seen = new Set<string>()): boolean {
  if (file === target) return true;
  if (seen.has(file)) return false;
  seen.add(file);
  return relativeImports(file).some((f) => f.startsWith(TEST) && reaches(f, target, seen));
}

/** A glob of the config (only `*`, within one path segment) as a regular expression. */
function globRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${body.join('[^/]*')}$`);
}

const inGroup = (path: string) => CHANGES_INTERFACES.some((g) => globRegExp(g).test(path));

describe('test groups', () => {
  const testFiles = filesUnder(TEST).filter((f) => f.endsWith('.test.ts'));
  const changing = testFiles.filter((f) => reaches(f, NETNS)).map((f) => relative(ROOT, f));

  it('finds the fleet tests that create network namespaces (the check reads imports)', () => {
    expect(changing).toContain('test/fleet/netns.test.ts');
    expect(changing).toContain('test/fleet/fleet-release.test.ts');
  });

  it('runs every test file that reaches netns.ts in the group of its own', () => {
    expect(changing.filter((f) => !inGroup(f))).toEqual([]);
  });

  it('puts no other test file in that group (it would only wait for nothing)', () => {
    const grouped = testFiles.map((f) => relative(ROOT, f)).filter(inGroup);
    expect(grouped.sort()).toEqual([...changing].sort());
  });

  it('reads the globs as the config does', () => {
    expect(globRegExp('test/fleet/fleet-*.test.ts').test('test/fleet/fleet-hosts.test.ts')).toBe(
      true,
    );
    expect(globRegExp('test/fleet/fleet-*.test.ts').test('test/fleet/x/fleet-a.test.ts')).toBe(
      false,
    );
    expect(globRegExp('test/fleet/netns.test.ts').test('test/fleet/netnsXtest.ts')).toBe(false);
  });
});
