// How the demo speaks: steps, the command a user would type, and checks that either held or did
// not. Text for people, or one JSON object per line with --json. Checks are counted so the tour
// can exit 0 only if every one held.

/**
 * Where the demo writes its lines. The CLI's `Io` (src/cli/io.ts) is one: the demo sits below the
 * CLI that runs it (`turnout demo`), so it names only what it uses instead of importing upward.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface Check {
  readonly step: string;
  readonly what: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export class Narrator {
  readonly checks: Check[] = [];
  private step = '';

  constructor(
    private readonly io: Io,
    private readonly json: boolean,
  ) {}

  section(title: string): void {
    this.step = title;
    this.emit({ event: 'step', title }, `\n== ${title}`);
  }

  /** A command the user could type to do the same (the tour does it through the API). */
  command(text: string): void {
    this.emit({ event: 'command', command: text }, `  $ ${text}`);
  }

  say(text: string): void {
    this.emit({ event: 'say', text }, `  ${text}`);
  }

  check(what: string, ok: boolean, detail?: string): boolean {
    this.checks.push({ step: this.step, what, ok, ...(detail === undefined ? {} : { detail }) });
    this.emit(
      { event: 'check', step: this.step, what, ok, detail },
      `  ${ok ? '✓' : '✗'} ${what}${detail === undefined ? '' : ` — ${detail}`}`,
    );
    return ok;
  }

  get failed(): Check[] {
    return this.checks.filter((c) => !c.ok);
  }

  private emit(json: object, text: string): void {
    this.io.out(this.json ? JSON.stringify(json) : text);
  }
}
