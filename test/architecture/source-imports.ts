// Reading a TypeScript tree's files and import specifiers without a compiler: shared by the
// architecture tests (imports.test.ts: layers import downward; test-groups.test.ts: which test
// files reach the network-namespace harness).

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Static `import … from '…'`, `export … from '…'` (across lines), bare `import '…'` and dynamic
// `import('…')`; type-only imports count too, since they still bind one file to another.
const SPECIFIERS = [
  /\b(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** Every .ts/.tsx file under `dir`, recursively. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** The module specifiers a file's text imports, in pattern order. */
export function importsOf(text: string): string[] {
  return SPECIFIERS.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1] ?? ''));
}
