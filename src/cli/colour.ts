// Colour on a terminal, and only there: states in tables (green for what is well, yellow for what
// is on its way, red for what failed, dim for what is gone) and the `turnout:` of an error. Off
// for pipes and files, with NO_COLOR (https://no-color.org), TERM=dumb or `--no-color`;
// FORCE_COLOR=1 turns it on for a pipe (CI logs that render colour). Decided once per run by main().

export interface ColourContext {
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--no-color` given. */
  readonly noColorFlag: boolean;
}

export function colourWanted(c: ColourContext): boolean {
  if (c.noColorFlag) return false;
  if ((c.env.NO_COLOR ?? '') !== '') return false;
  if (c.env.TERM === 'dumb') return false;
  const force = c.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0') return true;
  return c.isTTY;
}

const CODES = { green: 32, yellow: 33, red: 31, dim: 2 } as const;
type Colour = keyof typeof CODES;

/** What each state word means at a glance; a word not listed stays plain. */
const STATE_COLOURS: Readonly<Record<string, Colour>> = {
  ready: 'green',
  healthy: 'green',
  promoted: 'green',
  deployed: 'green',
  starting: 'yellow',
  draining: 'yellow',
  deploying: 'yellow',
  prerelease: 'yellow',
  canary: 'yellow',
  open: 'yellow',
  cordoned: 'yellow',
  unknown: 'yellow',
  failed: 'red',
  aborted: 'red',
  unhealthy: 'red',
  down: 'red',
  stopped: 'dim',
};

/** The columns whose values are state words. */
const STATE_COLUMNS = new Set(['state', 'health']);

let enabled = false;
/** stderr is its own stream: `2>errors.txt` on a terminal gets no escape codes. */
let enabledErr = false;

export function setColour(out: boolean, err: boolean = out): void {
  enabled = out;
  enabledErr = err;
}

export function colourIsOn(): boolean {
  return enabled;
}

function paint(colour: Colour, text: string, on = enabled): string {
  return on ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

/**
 * A table cell after padding (so the escape codes never count in the width): state columns get
 * their state's colour, surrounding spaces left outside the codes.
 */
export function paintCell(column: string, padded: string): string {
  if (!enabled || !STATE_COLUMNS.has(column)) return padded;
  const word = padded.trimEnd();
  const colour = STATE_COLOURS[word];
  return colour === undefined ? padded : paint(colour, word) + padded.slice(word.length);
}

/** `turnout:` in red before an error message on a terminal. */
export function errorPrefix(): string {
  return paint('red', 'turnout:', enabledErr);
}
