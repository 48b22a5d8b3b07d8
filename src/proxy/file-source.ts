// The file driver of the config source: reads the snapshot file, watches its directory (so a
// write-temp-then-rename by an editor is seen) with a debounce, and polls `stat` as a fallback.

import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { DriverContext, SourceDriver } from './config-source.js';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface FileDriverOptions {
  readonly debounceMs: number;
  readonly pollIntervalMs: number;
}

export class FileDriver implements SourceDriver {
  private readonly path: string;
  private readonly dir: string;
  private readonly base: string;
  private readonly ctx: DriverContext;
  private readonly opts: FileDriverOptions;
  private watcher: FSWatcher | null = null;
  private watchProblem: string | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private signature: string | null = null;
  /** The text last handed to `offer` (accepted or not), so an unchanged file is not re-offered. */
  private lastText: string | null = null;
  private unavailable: string | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(path: string, ctx: DriverContext, opts: FileDriverOptions) {
    this.path = path;
    this.dir = dirname(path);
    this.base = basename(path);
    this.ctx = ctx;
    this.opts = opts;
  }

  start(): void {
    this.ensureWatcher();
    this.poll = setInterval(() => this.pollOnce(), this.opts.pollIntervalMs);
    this.poll.unref();
    // Record the baseline first: a change racing the first read is then seen by the next poll.
    void this.statSignature()
      .then((sig) => {
        this.signature = sig;
      })
      .finally(() => this.read());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.debounce !== null) clearTimeout(this.debounce);
    if (this.poll !== null) clearInterval(this.poll);
    this.watcher?.close();
    this.watcher = null;
    await this.reading;
  }

  private ensureWatcher(): void {
    if (this.watcher !== null || this.stopped) return;
    try {
      const w = watch(this.dir, { persistent: false }, (_type, filename) => {
        // Linux and macOS name the entry; elsewhere it may be null, then any change counts.
        if (filename === null || filename === this.base) this.schedule();
      });
      w.on('error', (error) => {
        this.ctx.logger.warn(
          { event: 'config_watch_failed', source: this.path, reason: errorMessage(error) },
          'watching the snapshot directory failed; polling until it can be watched again',
        );
        w.close();
        if (this.watcher === w) this.watcher = null;
        this.schedule();
      });
      this.watcher = w;
      this.watchProblem = null;
    } catch (error) {
      const reason = errorMessage(error);
      if (reason !== this.watchProblem) {
        this.watchProblem = reason;
        this.ctx.logger.warn(
          { event: 'config_watch_failed', source: this.path, reason },
          'cannot watch the snapshot directory yet; polling',
        );
      }
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.debounce !== null) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.read();
    }, this.opts.debounceMs);
    this.debounce.unref();
  }

  private pollOnce(): void {
    this.ensureWatcher();
    this.statSignature()
      .then((sig) => {
        if (sig !== this.signature) {
          this.signature = sig;
          this.schedule();
        }
      })
      .catch(() => {}); // statSignature does not reject; belt and braces
  }

  private async statSignature(): Promise<string> {
    try {
      const s = await stat(this.path);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (error) {
      return `missing:${(error as NodeJS.ErrnoException).code ?? ''}`;
    }
  }

  /** One read at a time; a change during a read causes one more read after it. */
  private read(): void {
    if (this.stopped) return;
    if (this.reading !== null) {
      this.again = true;
      return;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again && !this.stopped);
    })()
      .catch((error) =>
        this.ctx.logger.error(
          { event: 'config_read_failed', source: this.path, reason: errorMessage(error) },
          'reading the snapshot failed',
        ),
      )
      .finally(() => {
        this.reading = null;
      });
  }

  private async readOnce(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (this.stopped) return;
      const reason = errorMessage(error);
      this.lastText = null;
      if (reason !== this.unavailable) {
        this.unavailable = reason;
        this.ctx.logger.warn(
          { event: 'config_source_unavailable', source: this.path, reason },
          'cannot read the snapshot file; keeping the one in force',
        );
      }
      this.ctx.failed(reason);
      return;
    }
    if (this.stopped) return;
    this.unavailable = null;
    if (text === this.lastText) return;
    this.lastText = text;
    this.ctx.offer(text, this.path);
  }
}
