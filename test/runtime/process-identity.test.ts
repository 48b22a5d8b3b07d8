import { describe, expect, it } from 'vitest';
import { isSameProcess, parseProcStat, readProcStat } from '../../src/runtime/process-identity.js';

// /proc/<pid>/stat with fields 3.. after the name; field 22 (start time) is 8123456.
const tail =
  'S 1 4837 4837 0 -1 4194304 537 0 0 0 0 0 0 0 20 0 1 0 8123456 92758 10 18446744073709551615';

describe('/proc/<pid>/stat', () => {
  it.each([
    ['a plain name', `4837 (node) ${tail}`],
    ['a name with spaces and parentheses', `4837 (my (odd) name) ${tail}`],
    ['a name that looks like fields', `4837 (x) S 1 2 3) ${tail}`],
  ])('reads state and start time past %s', (_, text) => {
    expect(parseProcStat(text)).toEqual({ state: 'S', startTime: 8_123_456 });
  });

  it('answers null for text that is not a stat line', () => {
    expect(parseProcStat('')).toBeNull();
    expect(parseProcStat('4837 (node) S 1 2')).toBeNull();
  });

  it('tells this process from a pid with another start time', () => {
    const own = readProcStat(process.pid);
    expect(own).not.toBeNull();
    expect(isSameProcess(process.pid, own!.startTime)).toBe(true);
    expect(isSameProcess(process.pid, own!.startTime + 1)).toBe(false);
    expect(isSameProcess(2 ** 22 + 1, 0)).toBe(false); // beyond pid_max: no such process
  });
});
