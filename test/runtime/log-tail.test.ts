import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastLines, readTail } from '../../src/runtime/log-tail.js';
import { tempDir } from './support.js';

describe('log tail', () => {
  it.each([
    ['a\nb\nc\n', 2, 'b\nc\n'],
    ['a\nb\nc', 2, 'b\nc'],
    ['a\nb\nc\n', 3, 'a\nb\nc\n'],
    ['a\nb\nc\n', 10, 'a\nb\nc\n'],
    ['\n\n', 5, '\n\n'],
    ['a\n', 0, ''],
    ['', 3, ''],
  ])('lastLines(%j, %i) is %j', (text, count, expected) => {
    expect(lastLines(text, count)).toBe(expected);
  });

  it('reads only as far back as it needs in a large file, across chunk boundaries', async () => {
    const path = join(tempDir('log'), 'big.log');
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    expect(await readTail(path, 3)).toBe(`${lines.slice(-3).join('\n')}\n`);
    expect(await readTail(path, 5000)).toBe(`${lines.slice(-5000).join('\n')}\n`);
    expect(await readTail(join(tempDir('log'), 'none.log'), 3)).toBeNull();
  });
});
