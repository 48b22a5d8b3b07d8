// Where a command writes: injected so commands run the same in a process and in tests.

import { escapeControl } from '../safe-text.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/**
 * Prints a value as JSON (for `--json`) or as text. The text is made of store values (overlays,
 * env, names, messages), so its control characters are escaped: an overlay holding `ESC[2J` must
 * not clear the terminal of whoever reads it. JSON escapes them already.
 */
export function emit(io: Io, json: boolean, value: unknown, text: () => string): void {
  io.out(json ? JSON.stringify(value, null, 2) : escapeControl(text(), { keepNewlines: true }));
}
