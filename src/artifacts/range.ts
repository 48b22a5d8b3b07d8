// An HTTP Range header for an artifact download (RFC 9110 §14): one byte range, `bytes=a-b`,
// `bytes=a-` or the suffix `bytes=-n`. Anything else (another unit, several ranges, a range
// starting past the end) is refused with 416 rather than half-served.

import { TurnoutError } from '../errors.js';
import type { ByteRange } from './artifact-store.js';

const ONE_RANGE = /^bytes=(\d*)-(\d*)$/;

/** The inclusive range `header` asks of an artifact of `size` bytes; null when there is none. */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const m = ONE_RANGE.exec(header.trim());
  const first = m?.[1] ?? '';
  const last = m?.[2] ?? '';
  if (m === null || (first === '' && last === ''))
    throw unsatisfiable(size, 'is not one byte range (bytes=a-b, bytes=a- or bytes=-n)');
  if (first === '') {
    const n = Number(last);
    if (n === 0 || size === 0) throw unsatisfiable(size, 'asks for no bytes');
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) throw unsatisfiable(size, 'ends before it starts');
  if (start >= size) throw unsatisfiable(size, 'starts at or past the end');
  return { start, end };
}

function unsatisfiable(size: number, why: string): TurnoutError {
  return new TurnoutError(
    'range_not_satisfiable',
    `range: ${why}; the artifact is ${size} bytes`,
    'range',
  );
}
