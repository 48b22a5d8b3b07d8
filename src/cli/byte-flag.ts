// A byte-count flag (`--max-artifact-bytes 536870912`, `512MiB`, `2GiB`): whole bytes, or whole
// KiB, MiB or GiB.

import { TurnoutError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

export function parseByteFlag(text: string, flag: string): number {
  const m = /^(\d{1,15})\s*(kib|mib|gib)?$/i.exec(text.trim());
  const n = m === null ? Number.NaN : Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1);
  if (!(n >= 1 && n <= Number.MAX_SAFE_INTEGER)) {
    throw new TurnoutError(
      'invalid_argument',
      `${flag} ${text}: expected a whole number of bytes ≥ 1, or of KiB, MiB or GiB (512MiB)`,
      flag,
    );
  }
  return n;
}
