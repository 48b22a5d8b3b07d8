// Which port a new instance gets: the first free one of the range, going up from a starting point
// and wrapping around. "Free" means not held by an instance we know of (ours, or recorded in a pid
// file by an earlier run) and, checked by the caller's probe, not bound by anything else.

import { TurnoutError } from '../errors.js';

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export const DEFAULT_PORT_RANGE: PortRange = { first: 20_000, last: 29_999 };

export function checkPortRange(range: PortRange): PortRange {
  const ok = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65_535;
  if (!ok(range.first) || !ok(range.last) || range.first > range.last) {
    throw new TurnoutError(
      'invalid_argument',
      `port range ${range.first}-${range.last} is not within 1-65535 with first ≤ last`,
      'portRange',
    );
  }
  return range;
}

/** The range's ports in the order to try them: from `start` up, wrapping, skipping `taken`. */
export function* portCandidates(
  range: PortRange,
  taken: ReadonlySet<number>,
  start: number,
): Generator<number> {
  const size = range.last - range.first + 1;
  const offset = (((start - range.first) % size) + size) % size;
  for (let i = 0; i < size; i++) {
    const port = range.first + ((offset + i) % size);
    if (!taken.has(port)) yield port;
  }
}

/** The first candidate that `canBind` accepts; null when none does. */
export async function choosePort(
  range: PortRange,
  taken: ReadonlySet<number>,
  start: number,
  canBind: (port: number) => Promise<boolean>,
): Promise<number | null> {
  for (const port of portCandidates(range, taken, start)) {
    if (await canBind(port)) return port;
  }
  return null;
}
