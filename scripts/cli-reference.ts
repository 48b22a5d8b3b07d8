// Rewrites README.md's CLI reference from the CLI's own help; `--check` only verifies it.
// Usage: npx tsx scripts/cli-reference.ts [--check]   (npm run docs:cli)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../src/cli/main.js';
import { ReferenceMarkersError, renderReference, spliceReference } from '../src/cli/reference.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

function wantedReadme(readme: string): string {
  const silent = { out: () => {}, err: () => {} };
  try {
    return spliceReference(readme, renderReference(buildProgram(silent, () => {})));
  } catch (error) {
    if (!(error instanceof ReferenceMarkersError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

const readme = readFileSync(README, 'utf8');
const wanted = wantedReadme(readme);

if (process.argv.includes('--check')) {
  if (wanted !== readme) {
    process.stderr.write(
      'README.md: the CLI reference is out of date with the CLI; run `npm run docs:cli`\n',
    );
    process.exit(1);
  }
  process.stdout.write('README.md: the CLI reference is up to date\n');
} else if (wanted === readme) {
  process.stdout.write('README.md: the CLI reference was already up to date\n');
} else {
  writeFileSync(README, wanted);
  process.stdout.write('README.md: the CLI reference was rewritten\n');
}
