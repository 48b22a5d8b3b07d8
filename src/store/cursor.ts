// Keyset pagination: a cursor is the sort key of the last row a page returned, opaque to callers
// (base64url JSON) so its shape can change. Keyset rather than OFFSET because rows are inserted
// while someone pages (instances, audit): OFFSET would skip or repeat rows, a key never does.

import { TurnoutError } from '../errors.js';

export type CursorKey = readonly (string | number)[];

export interface PageRequest {
  /** 1..1000, default 100. */
  limit?: number | undefined;
  /** `nextCursor` from the previous page; absent for the first page. */
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null when this was the last one. */
  nextCursor: string | null;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new TurnoutError(
      'invalid_argument',
      `limit: must be an integer from 1 to ${MAX_LIMIT}, not ${limit}`,
      'limit',
    );
  }
  return limit;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key in a cursor, which must have `arity` string/number parts (cursors are per list). */
export function decodeCursor(cursor: string, arity: number): CursorKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const ok =
    Array.isArray(key) &&
    key.length === arity &&
    key.every((k) => typeof k === 'string' || typeof k === 'number');
  if (!ok) {
    throw new TurnoutError(
      'invalid_argument',
      'cursor: not a cursor from this list; pass nextCursor unchanged',
      'cursor',
    );
  }
  return key as CursorKey;
}

/** Splits `limit + 1` fetched rows into a page; the extra row only says whether more exist. */
export function toPage<R, T>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => CursorKey,
  map: (row: R) => T,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const more = rows.length > limit && last !== undefined;
  return { items: items.map(map), nextCursor: more ? encodeCursor(keyOf(last)) : null };
}

/** Every item of a paginated list, page by page. */
export async function listAll<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await list(
      cursor === undefined ? { limit: MAX_LIMIT } : { limit: MAX_LIMIT, cursor },
    );
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
}
