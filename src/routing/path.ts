// Paths (reference §1): sequences of non-empty byte strings, and their show form.
// An element is held as a JS string whose char codes are its bytes (0–255): cheap to compare,
// hash and join on the per-request path, and exact for bytes that are not UTF-8.

export type Path = readonly string[];

export const EMPTY_PATH: Path = Object.freeze([]);

const SHOWABLE = new Uint8Array(128);
for (const c of '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:.#$%-') {
  SHOWABLE[c.charCodeAt(0)] = 1;
}

/** Whether a character may appear unescaped in a label (Finagle `Path.isShowable`). */
export function isShowable(code: number): boolean {
  return code < 128 && SHOWABLE[code] === 1;
}

function isShowableElem(elem: string): boolean {
  for (let i = 0; i < elem.length; i++) {
    if (!isShowable(elem.charCodeAt(i))) return false;
  }
  return true;
}

/** One element: as is when every byte is showable, otherwise every byte as `\xNN` (lowercase). */
export function showElem(elem: string): string {
  if (isShowableElem(elem)) return elem;
  let out = '';
  for (let i = 0; i < elem.length; i++) {
    out += `\\x${elem.charCodeAt(i).toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function showPath(path: Path): string {
  if (path.length === 0) return '/';
  let out = '';
  for (const elem of path) out += `/${showElem(elem)}`;
  return out;
}

/** Builds a path from UTF-8 text elements (Finagle `Path.Utf8`). */
export function utf8Path(...elems: string[]): Path {
  return elems.map((e) => Buffer.from(e, 'utf8').toString('latin1'));
}

/** Decodes an element as UTF-8 text, or null when its bytes are not valid UTF-8. */
export function elemText(elem: string): string | null {
  let ascii = true;
  for (let i = 0; i < elem.length; i++) {
    if (elem.charCodeAt(i) > 127) {
      ascii = false;
      break;
    }
  }
  if (ascii) return elem;
  try {
    return UTF8.decode(Buffer.from(elem, 'latin1'));
  } catch {
    return null;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function pathStartsWith(path: Path, prefix: Path): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (path[i] !== prefix[i]) return false;
  }
  return true;
}

export function pathsEqual(a: Path, b: Path): boolean {
  return a.length === b.length && pathStartsWith(a, b);
}

export function concatPaths(a: Path, b: Path): Path {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return a.concat(b);
}
