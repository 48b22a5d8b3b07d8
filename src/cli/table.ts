// The tables `get`, `describe`, `lane list` and `notifier` print: left-aligned columns under human
// headers (`UPDATED`, not `UPDATEDAT`), timestamps as ages (`3m`) as kubectl shows them. Pure: the
// clock comes in, so a test pins it.

import { escapeControl } from '../safe-text.js';
import { paintCell } from './colour.js';

/** Headers that read better than the field name upper-cased. */
const HEADERS: Readonly<Record<string, string>> = { createdAt: 'AGE', updatedAt: 'UPDATED' };

/** `leaseExpiresAt` → `LEASE EXPIRES AT`; `createdAt` → `AGE` (its age is what the cell shows). */
export function headerOf(field: string): string {
  return HEADERS[field] ?? field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toUpperCase();
}

/** Fields holding an ISO time shown as an age: the ones named `…At` (not a bare `at`). */
const isTime = (field: string) => /^[a-z]\w*At$/.test(field);

/** `45s`, `3m`, `5h`, `12d`: the largest whole unit, as kubectl's AGE (a future time reads `0s`). */
export function age(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  // A newline in a value would start a fake row: every control character is escaped here.
  return escapeControl(String(value));
}

/** A compact, left-aligned table with human headers; `…At` columns show ages against `now`. */
export function formatTable(
  columns: readonly string[],
  rows: readonly unknown[],
  now: number = Date.now(),
): string {
  if (rows.length === 0) return 'No resources found.';
  const value = (row: unknown, c: string) => {
    const v = (row as Record<string, unknown>)[c];
    return isTime(c) && typeof v === 'string' ? age(v, now) : cell(v);
  };
  const cells = rows.map((row) => columns.map((c) => value(row, c)));
  const header = columns.map(headerOf);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[], paint: boolean) =>
    r
      .map((v, i) => {
        const padded = i === r.length - 1 ? v : v.padEnd(widths[i] ?? 0);
        return paint ? paintCell(columns[i] ?? '', padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header, false), ...cells.map((r) => line(r, true))].join('\n');
}
