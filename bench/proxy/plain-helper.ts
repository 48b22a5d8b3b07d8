// A helper of bench/proxy/ compiled to plain JS in a bench's work directory, so it runs on bare
// `node`: through tsx it would carry tsx's loader (another thread, an esbuild child) in its CPU
// and RSS. The work directory links node_modules, so the helper's bare imports resolve as in the
// repo. Shared by bench/proxy.ts and bench/proxy/alloc.ts.

import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

/** The path of `bench/proxy/<name>.ts` as plain JS in `work` (compiled once per work dir). */
export function plainHelper(work: string, name: string): string {
  const out = join(work, `${name}.mjs`);
  if (!existsSync(out)) {
    if (!existsSync(join(work, 'node_modules')))
      symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
    const source = readFileSync(join(HERE, `${name}.ts`), 'utf8');
    const compiled = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: `${name}.ts`,
    });
    writeFileSync(out, compiled.outputText);
  }
  return out;
}
