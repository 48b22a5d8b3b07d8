// Every test file that reaches test/support/netns.ts (itself or through a helper) must be in the
// group that runs alone (test/support/test-groups.ts): otherwise it may change the machine's
// network interfaces while a browser test loads a page, which Chromium aborts.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANGES_INTERFACES } from '../support/test-groups.js';
import { importsOf, sourceFiles } from './source-imports.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TEST = join(ROOT, 'test');
const NETNS = join(TEST, 'support/netns.ts');

/**
 * The .ts files under test/ a file imports by a relative path (`./x.js` is x.ts); a specifier that
 * names no file (a fixture in a string) is skipped.
 */
function testImports(file: string): string[] {
  return importsOf(readFileSync(file, 'utf8'))
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
    .filter((path) => path.startsWith(TEST) && existsSync(path));
}

function reaches(file: string, target: string, seen = new Set<string>()): boolean {
  if (file === target) return true;
  if (seen.has(file)) return false;
  seen.add(file);
  return testImports(file).some((f) => reaches(f, target, seen));
}

/** A glob of the config (only `*`, within one path segment) as a regular expression. */
function globRegExp(glob: string): RegExp {
  const body = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${body.join('[^/]*')}$`);
}

const inGroup = (path: string) => CHANGES_INTERFACES.some((g) => globRegExp(g).test(path));

describe('test groups', () => {
  const testFiles = sourceFiles(TEST).filter((f) => f.endsWith('.test.ts'));
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
