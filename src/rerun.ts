// One task that must not run twice at once but must not miss a request either: a call while it
// runs asks for one more run right after, and every call made meanwhile shares that run. The
// publisher's checks and the release engine's ticks both work this way.

export class Rerun {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly task: () => Promise<void>,
    /** Once true, no new run starts and a pending rerun is dropped. */
    private readonly stopped: () => boolean,
  ) {}

  /** Runs now, or once more after the run under way. Resolves when that run ends. */
  run(): Promise<void> {
    if (this.stopped()) return Promise.resolve();
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.task();
        } while (this.again && !this.stopped());
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** The run under way, if any (resolved when idle). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
}
