// The last good routing snapshot on disk: written atomically (temp file, fsync, rename) so a crash
// leaves the old copy or the new one, never half; read back when the source is down at start.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { CompiledSnapshot } from '../config/compile.js';
import { compileSnapshot } from '../config/compile.js';
import { parseSnapshot } from '../config/load.js';
import type { Snapshot } from '../config/snapshot.js';
import { TurnoutError } from '../errors.js';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The `config_rejected` log fields for a parse, validation or compile error. */
export function rejection(error: unknown): { field: string | null; reason: string } {
  const field = error instanceof TurnoutError && error.field !== undefined ? error.field : null;
  return { field, reason: errorMessage(error) };
}

/** Writes `text` to `path` atomically. Never leaves its temp file behind. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  // Make the rename itself durable. Not every platform can open a directory (Windows): best effort.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // ignored
  }
}

/**
 * Writes snapshots one at a time, coalescing: while a write runs only the newest pending text is
 * kept, so a burst of snapshots costs at most two writes and the file ends with the newest.
 */
export class LastGoodWriter {
  private readonly path: string;
  private readonly onError: (error: unknown) => void;
  private next: string | null = null;
  private running: Promise<void> | null = null;

  constructor(path: string, onError: (error: unknown) => void) {
    this.path = path;
    this.onError = onError;
  }

  write(text: string): void {
    this.next = text;
    if (this.running === null) this.running = this.drain();
  }

  /** Resolves once every requested write has finished (or failed and been reported). */
  async flush(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.next !== null) {
        const text = this.next;
        this.next = null;
        try {
          await writeFileAtomic(this.path, text);
        } catch (error) {
          try {
            this.onError(error);
          } catch {
            // a failing error reporter must not break the writer
          }
        }
      }
    } finally {
      this.running = null;
    }
  }
}

export type DiskResult =
  | { ok: true; snapshot: Snapshot; compiled: CompiledSnapshot }
  | { ok: false; reason: string };

/** Reads and validates the last good snapshot; an invalid one is logged and treated as absent. */
export async function loadLastGood(path: string | null, logger: Logger): Promise<DiskResult> {
  if (path === null) return { ok: false, reason: 'no last good snapshot path configured' };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      ok: false,
      reason: missing
        ? `no last good snapshot at ${path}`
        : `no last good snapshot at ${path} (${errorMessage(error)})`,
    };
  }
  try {
    const snapshot = parseSnapshot(text, path);
    return { ok: true, snapshot, compiled: compileSnapshot(snapshot) };
  } catch (error) {
    logger.warn(
      { event: 'config_rejected', source: path, ...rejection(error) },
      'last good rejected',
    );
    return {
      ok: false,
      reason: `no last good snapshot at ${path} (invalid: ${errorMessage(error)})`,
    };
  }
}
