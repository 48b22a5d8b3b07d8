// Where a command writes: injected so commands run the same in a process and in tests.

import { escapeControl } from '../safe-text.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => write(process.stdout, text),
  err: (text) => write(process.stderr, text),
};

/** Streams whose reader went away (`turnout get … | head`): later output to them is dropped. */
const gone = new WeakSet<NodeJS.WriteStream>();
const guarded = new WeakSet<NodeJS.WriteStream>();

/**
 * A closed pipe is not a failure of the command: `turnout release create … | true` created the
 * ticket, so it must end with the command's own exit code, without an EPIPE stack trace. The first
 * write installs the listener, so tests that only import this module leave the streams alone.
 */
function write(stream: NodeJS.WriteStream, text: string): void {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
      gone.add(stream);
    });
  }
  if (gone.has(stream) || stream.destroyed) return;
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Prints a value as JSON (for `--json`) or as text. The text is made of store values (overlays,
 * env, names, messages), so its control characters are escaped: an overlay holding `ESC[2J` must
 * not clear the terminal of whoever reads it. JSON escapes them already.
 */
export function emit(io: Io, json: boolean, value: unknown, text: () => string): void {
  io.out(json ? JSON.stringify(value, null, 2) : escapeControl(text(), { keepNewlines: true }));
}
