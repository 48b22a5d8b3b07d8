// Text from outside (request bodies, the store) shown back to people. Control characters are
// escaped, so nothing printed can move a terminal's cursor, clear its screen or reorder what
// follows (bidi overrides); and a bad value is quoted by a short prefix, so an error never echoes
// a huge input back whole.

/** C0 controls and DEL, C1 controls, line/paragraph separators, bidi embeddings and isolates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(c: string): string {
  const short = SHORT[c];
  if (short !== undefined) return short;
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control character written as an escape (`\x1b`, `\n`, `\u202e`). With
 * `keepNewlines`, `\n` stays (for text already made of lines, where the caller escaped each value).
 */
export function escapeControl(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(CONTROL, (c) => (c === '\n' && options.keepNewlines ? c : escapeOne(c)));
}

/** How much of a bad value an error message quotes. */
export const QUOTE_MAX = 64;

/** A value for an error message: escaped, at most `max` characters, `…` and the length when cut. */
export function quote(value: string, max = QUOTE_MAX): string {
  if (value.length <= max) return `"${escapeControl(value)}"`;
  return `"${escapeControl(value.slice(0, max))}…" (${value.length} characters)`;
}

/** The longest error message the API sends; longer ones keep their start and their end. */
export const MESSAGE_MAX = 512;

/**
 * A message made safe to send: escaped, and when longer than `max`, its middle elided (the start
 * says what, the end says why), so a message that quotes a whole input stays short.
 */
export function boundMessage(message: string, max = MESSAGE_MAX): string {
  const safe = escapeControl(message);
  if (safe.length <= max) return safe;
  const gap = ' … ';
  const tail = Math.floor(max / 4);
  const head = max - tail - gap.length;
  return `${safe.slice(0, head)}${gap}${safe.slice(-tail)}`;
}
