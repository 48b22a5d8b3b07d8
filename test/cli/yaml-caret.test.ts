// Invalid YAML shows where (issue 16): `file:line:col`, the whole reason (it was cut after its
// colon), the line and a caret under the column. The real bin; the error comes before any API call.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { turnout } from './run.js';

let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-yaml-'));
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('apply -f with invalid YAML', () => {
  it('names file, line and column, and puts a caret under the column', async () => {
    const file = join(dir, 'nested.yaml');
    writeFileSync(file, 'kind: Org\nname: a\n  b: c\n');
    const r = await turnout('apply', '-f', file, '--server', 'http://127.0.0.1:9');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `turnout: ${file}:2:7: invalid YAML: Nested mappings are not allowed in compact mappings\n` +
        '  name: a\n' +
        '        ^\n',
    );
  });

  it('escapes control characters in the quoted line and keeps the caret under the column', async () => {
    const file = join(dir, 'tab.yaml');
    writeFileSync(file, 'kind: Org\n\x1b[2Jx: a\n  b: c\n');
    const r = await turnout('apply', '-f', file, '--server', 'http://127.0.0.1:9');
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('\x1b');
    const [, line, caret] = r.stderr.trimEnd().split('\n');
    expect(line).toBe('  \\x1b[2Jx: a');
    expect(caret?.indexOf('^')).toBe(line?.lastIndexOf('a'));
  });
});
