// Colour: the decision (table-driven), tables whose widths ignore the escape codes, and the real
// bin on a real pseudo-terminal (util-linux `script`) against the same bin piped.

import { execFile } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { colourWanted, setColour } from '../../src/cli/colour.js';
import { formatTable } from '../../src/cli/table.js';
import { ensureBuilt, ROOT } from '../support/build.js';

const BIN = `${ROOT}bin/turnout.js`;

const ESC = '\u001b[';
const strip = (s: string) =>
  s.replaceAll(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), '');

describe('colourWanted', () => {
  it.each([
    { isTTY: true, env: {}, flag: false, want: true, why: 'a terminal' },
    { isTTY: false, env: {}, flag: false, want: false, why: 'a pipe' },
    { isTTY: true, env: { NO_COLOR: '1' }, flag: false, want: false, why: 'NO_COLOR' },
    { isTTY: true, env: { NO_COLOR: '' }, flag: false, want: true, why: 'NO_COLOR empty' },
    { isTTY: true, env: {}, flag: true, want: false, why: '--no-color' },
    { isTTY: true, env: { TERM: 'dumb' }, flag: false, want: false, why: 'TERM=dumb' },
    { isTTY: false, env: { FORCE_COLOR: '1' }, flag: false, want: true, why: 'FORCE_COLOR' },
    { isTTY: false, env: { FORCE_COLOR: '0' }, flag: false, want: false, why: 'FORCE_COLOR=0' },
    {
      isTTY: false,
      env: { FORCE_COLOR: '1', NO_COLOR: '1' },
      flag: false,
      want: false,
      why: 'NO_COLOR beats FORCE_COLOR',
    },
  ])('$why → $want', ({ isTTY, env, flag, want }) => {
    expect(colourWanted({ isTTY, env, noColorFlag: flag })).toBe(want);
  });
});

describe('tables in colour', () => {
  afterEach(() => setColour(false));
  const rows = [
    { id: 1, state: 'failed', health: 'unhealthy', product: 'shop' },
    { id: 22, state: 'promoted', health: 'healthy', product: 'admin' },
    { id: 3, state: 'weird', health: null, product: 'x' },
  ];
  const columns = ['id', 'state', 'health', 'product'];

  it('paints state words and keeps the columns aligned as without colour', () => {
    setColour(false);
    const plain = formatTable(columns, rows, 0);
    setColour(true);
    const coloured = formatTable(columns, rows, 0);
    expect(coloured).not.toBe(plain);
    expect(strip(coloured)).toBe(plain);
    expect(coloured).toContain(`${ESC}31mfailed${ESC}0m`);
    expect(coloured).toContain(`${ESC}32mpromoted${ESC}0m`);
    // Headers, unknown words and other columns stay plain.
    expect(coloured.split('\n')[0]).toBe(plain.split('\n')[0]);
    expect(coloured).not.toContain(`${ESC}31mweird`);
    expect(coloured).not.toContain(`m1${ESC}`);
  });
});

/** Runs the bin under a pseudo-terminal (`script`), or piped; answers stdout+stderr as seen. */
function run(
  args: string[],
  opts: { tty: boolean; env?: Record<string, string> },
): Promise<string> {
  const env = { ...process.env, NO_COLOR: '', FORCE_COLOR: '', TERM: 'xterm', ...opts.env };
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const [file, argv] = opts.tty
    ? ['script', ['-qec', command, '/dev/null']]
    : [process.execPath, [BIN, ...args]];
  return new Promise((resolve) => {
    execFile(file, argv, { cwd: ROOT, env, timeout: 60_000 }, (_e, stdout, stderr) =>
      resolve(stdout + stderr),
    );
  });
}

describe('the real bin: colour on a terminal only', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);
  const bad = ['get', 'nosuchkind'];

  it('an error says turnout: in red on a terminal', async () => {
    const out = await run(bad, { tty: true });
    expect(out).toContain(`${ESC}31mturnout:${ESC}0m`);
  });

  it.each<{ why: string; tty: boolean; args: string[]; env: Record<string, string> }>([
    { why: 'piped', tty: false, args: bad, env: {} },
    { why: 'NO_COLOR', tty: true, args: bad, env: { NO_COLOR: '1' } },
    { why: '--no-color', tty: true, args: [...bad, '--no-color'], env: {} },
    { why: '--json', tty: true, args: [...bad, '--json'], env: {} },
  ])('none when $why', async ({ tty, args, env }) => {
    const out = await run(args, { tty, env });
    expect(out).toContain('nosuchkind');
    expect(out).not.toContain(ESC);
  });
});
