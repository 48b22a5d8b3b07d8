// Writes docs/cli.md, the CLI reference, from the CLI's own help; `--check` only verifies it.
// Usage: npx tsx scripts/cli-reference.ts [--check]   (npm run docs:cli)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../src/cli/main.js';
import { referencePage } from '../src/cli/reference.js';

const PAGE = fileURLToPath(new URL('../docs/cli.md', import.meta.url));

function current(): string | null {
  try {
    return readFileSync(PAGE, 'utf8');
  } catch {
    return null; // not written yet
  }
}

const silent = { out: () => {}, err: () => {} };
const wanted = referencePage(buildProgram(silent, () => {}));
const page = current();

if (process.argv.includes('--check')) {
  if (wanted !== page) {
    process.stderr.write('docs/cli.md is out of date with the CLI; run `npm run docs:cli`\n');
    process.exit(1);
  }
  process.stdout.write('docs/cli.md: the CLI reference is up to date\n');
} else if (wanted === page) {
  process.stdout.write('docs/cli.md: the CLI reference was already up to date\n');
} else {
  writeFileSync(PAGE, wanted);
  process.stdout.write('docs/cli.md: the CLI reference was written\n');
}
