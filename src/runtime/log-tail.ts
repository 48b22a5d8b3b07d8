// The tail of an instance's log, read backwards from the end so a large log costs only its tail.

import { open } from 'node:fs/promises';

const CHUNK = 64 * 1024;

/** The last `count` lines of `text` (a final newline ends the last line, it does not start one). */
export function lastLines(text: string, count: number): string {
  if (count <= 0) return '';
  let end = text.endsWith('\n') ? text.length - 1 : text.length;
  let start = end;
  for (let found = 0; found < count; found++) {
    if (end === 0) return text;
    start = text.lastIndexOf('\n', end - 1);
    if (start === -1) return text;
    end = start;
  }
  return text.slice(start + 1);
}

/** The last `count` lines of the file; null when there is no such file. */
export async function readTail(path: string, count: number): Promise<string | null> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = (await file.stat()).size;
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    // One newline more than asked for, since the file usually ends with one.
    while (position > 0 && newlines <= count) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await file.read(chunk, 0, length, position);
      for (const byte of chunk) if (byte === 0x0a) newlines++;
      chunks.unshift(chunk);
    }
    return lastLines(Buffer.concat(chunks).toString('utf8'), count);
  } finally {
    await file.close();
  }
}

/**
 * The last `count` lines the instance itself printed: the runtime's notes (lines starting with
 * `notePrefix`, "exited (code 3); restarting…") are left out, since a crash loop's tail would
 * otherwise be all notes, and the exit they state is reported on its own.
 */
export function ownLines(tail: string, count: number, notePrefix: string): string[] {
  if (tail === '' || count <= 0) return [];
  const lines = (tail.endsWith('\n') ? tail.slice(0, -1) : tail).split('\n');
  return lines.filter((l) => !l.startsWith(notePrefix)).slice(-count);
}
