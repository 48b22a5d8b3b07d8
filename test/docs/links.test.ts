// Every link in README.md and docs/ resolves inside the repository: a file or folder that exists,
// and an #anchor that one of the target's headings makes (GitHub's slugs). Nothing links out.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchorsOf, isExternal, linksOf, slug, splitTarget } from './markdown-links.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function markdownUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownUnder(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** What is wrong with one link from `file`, or null when it resolves. */
function problemOf(file: string, target: string): string | null {
  if (isExternal(target)) return 'links outside the repository';
  const { path, anchor } = splitTarget(target);
  const resolved = path === '' ? file : resolve(dirname(file), path);
  const inside = relative(ROOT, resolved);
  if (path.startsWith('/') || inside.startsWith(`..${sep}`) || inside === '..') {
    return 'leaves the repository';
  }
  if (!existsSync(resolved)) return `${inside} does not exist`;
  if (anchor === null) return null;
  if (!resolved.endsWith('.md') || statSync(resolved).isDirectory()) {
    return `#${anchor} on a file that is not Markdown`;
  }
  const anchors = anchorsOf(readFileSync(resolved, 'utf8'));
  return anchors.has(anchor) ? null : `${inside} has no heading #${anchor}`;
}

function problemsIn(file: string): string[] {
  return linksOf(readFileSync(file, 'utf8')).flatMap(({ target, line }) => {
    const problem = problemOf(file, target);
    return problem === null ? [] : [`${relative(ROOT, file)}:${line}: ${target}: ${problem}`];
  });
}

describe('links in README.md and docs/', () => {
  const files = [join(ROOT, 'README.md'), ...markdownUnder(join(ROOT, 'docs'))];

  it('finds the docs and links in them', () => {
    expect(files.length).toBeGreaterThan(5);
    expect(files.flatMap((file) => linksOf(readFileSync(file, 'utf8'))).length).toBeGreaterThan(20);
  });

  it('all resolve inside the repository, anchors included', () => {
    expect(files.flatMap(problemsIn)).toEqual([]);
  });
});

describe('the link rules', () => {
  it("makes GitHub's slugs", () => {
    expect(slug('The proxy (`turnout proxy`)')).toBe('the-proxy-turnout-proxy');
    expect(slug('The catalog on the command line: apply, describe, lane')).toBe(
      'the-catalog-on-the-command-line-apply-describe-lane',
    );
    expect(slug('`turnout release canary`')).toBe('turnout-release-canary');
    expect(slug('Durability, replicas & security')).toBe('durability-replicas--security');
    expect(slug('[Linked](x.md) title')).toBe('linked-title');
  });

  it('numbers repeated headings as GitHub does', () => {
    expect([...anchorsOf('# A\n## A\n### A\n')]).toEqual(['a', 'a-1', 'a-2']);
  });

  it('ignores code blocks and code spans, and finds every kind of link', () => {
    const text = [
      '```sh',
      '[not](a.md)',
      '```',
      '`[not](b.md)` [yes](c.md#x) ![img](d.png) <https://example.com>',
      '<a href="e.md">e</a>',
      '[ref]: f.md',
      '~~~',
      '# not a heading',
      '~~~',
    ].join('\n');
    expect(linksOf(text)).toEqual([
      { target: 'c.md#x', line: 4 },
      { target: 'd.png', line: 4 },
      { target: 'https://example.com', line: 4 },
      { target: 'e.md', line: 5 },
      { target: 'f.md', line: 6 },
    ]);
    expect(anchorsOf(text).size).toBe(0);
  });

  it('refuses links that leave the repository, missing files and missing anchors', () => {
    const readme = join(ROOT, 'README.md');
    expect(problemOf(readme, '../shared/DESIGN.md')).toBe('leaves the repository');
    expect(problemOf(readme, '/etc/passwd')).toBe('leaves the repository');
    expect(problemOf(readme, 'https://github.com/')).toBe('links outside the repository');
    expect(problemOf(readme, 'docs/no-such-file.md')).toMatch(/does not exist/);
    expect(problemOf(readme, '#no-such-heading')).toMatch(/has no heading #no-such-heading/);
    expect(problemOf(readme, 'package.json#x')).toMatch(/not Markdown/);
    expect(problemOf(readme, 'docs/cli.md#turnout-release-canary')).toBeNull();
  });
});
