// The pieces of a plain-TypeScript validator that answers as the zod schemas do (issue 15: memory):
// zod costs a `turnout proxy` ~6–8 MB of RSS and a young generation grown to 16 MB, so the proxy
// validates snapshots with checks written out instead. A check throws a `Problem` at the first
// issue, with the path and the message zod's schema reports first for the same document (zod's
// default English messages included); test/config/snapshot-check.test.ts holds the two together.

export type Path = readonly (string | number)[];

/** The first issue of a document: where and why. */
export class Problem extends Error {
  constructor(
    readonly path: Path,
    message: string,
  ) {
    super(message);
  }
}

export function fail(path: Path, message: string): never {
  throw new Problem(path, message);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** zod's name for what it received: `null`, `array`, `nan`, `undefined`… */
function received(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null && typeof proto.constructor === 'function')
      return proto.constructor.name;
  }
  return typeof value;
}

/** zod's invalid_type message. */
function typeMessage(expected: string, value: unknown): string {
  return `Invalid input: expected ${expected}, received ${received(value)}`;
}

export function string(value: unknown, path: Path): string {
  if (typeof value !== 'string') fail(path, typeMessage('string', value));
  return value;
}

/** A finite number (zod's `z.number()` refuses NaN and ±Infinity). */
export function number(value: unknown, path: Path): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(path, typeMessage('number', value));
  return value;
}

export function object(value: unknown, path: Path): Record<string, unknown> {
  if (!isObject(value)) fail(path, typeMessage('object', value));
  return value;
}

/** Keys of `value` that `allowed` does not name, in the order zod reports them (`for…in`). */
function unknownKeys(value: Record<string, unknown>, allowed: readonly string[]): string[] {
  const extra: string[] = [];
  for (const key in value) if (!allowed.includes(key)) extra.push(key);
  return extra;
}

/** zod's default message for a strict object's unknown keys. */
function unrecognized(extra: readonly string[]): string {
  return `Unrecognized key${extra.length > 1 ? 's' : ''}: ${extra.map((k) => JSON.stringify(k)).join(', ')}`;
}

/**
 * Fails when `value` has keys `allowed` does not name; the message is zod's default unless the
 * schema being mirrored words its own (`message`).
 */
export function strictKeys(
  value: Record<string, unknown>,
  allowed: readonly string[],
  path: Path,
  message: (extra: readonly string[]) => string = unrecognized,
): void {
  const extra = unknownKeys(value, allowed);
  if (extra.length > 0) fail(path, message(extra));
}

/** The list with each item checked; `undefined` is the empty list (zod's `.default([])`). */
export function list<T>(
  value: unknown,
  path: Path,
  item: (v: unknown, path: Path) => T,
  notAList?: string,
): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, notAList ?? typeMessage('array', value));
  const out: T[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) out[i] = item(value[i], [...path, i]);
  return out;
}
