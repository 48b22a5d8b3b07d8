// docs/state-machine.md shows the state machine's tables as lists; this test renders them from
// the code (src/release/state-machine.ts) and compares, so the document cannot go stale. After a
// change to a table: TURNOUT_WRITE_DOCS=1 npx vitest run test/release/state-machine-doc.test.ts

import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTANCE_TRANSITIONS, TRANSITIONS } from '../../src/release/state-machine.js';

const DOC = resolve(__dirname, '../../docs/state-machine.md');

function render(table: Readonly<Record<string, Readonly<Record<string, string | undefined>>>>) {
  return Object.entries(table).flatMap(([from, tos]) => {
    const moves = Object.entries(tos);
    if (moves.length === 0) return [`- \`${from}\` → nothing: terminal`];
    return [`- \`${from}\` →`, ...moves.map(([to, why]) => `  - \`${to}\`: ${why}`)];
  });
}

/** The document's text between `<!-- name:start -->` and `<!-- name:end -->`, replaced. */
function withSection(text: string, name: string, lines: string[]): string {
  const start = `<!-- ${name}:start (generated from src/release/state-machine.ts) -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/state-machine.md: no ${name} section`);
  return `${text.slice(0, from + start.length)}\n${lines.join('\n')}\n${text.slice(to)}`;
}

describe('docs/state-machine.md', () => {
  it('lists exactly the moves of the code tables', () => {
    const text = readFileSync(DOC, 'utf8');
    const wanted = withSection(
      withSection(text, 'tickets', render(TRANSITIONS)),
      'instances',
      render(INSTANCE_TRANSITIONS),
    );
    if (process.env.TURNOUT_WRITE_DOCS === '1') {
      writeFileSync(DOC, wanted);
      return;
    }
    expect(text).toBe(wanted);
  });
});
