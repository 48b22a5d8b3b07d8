// The last good routing snapshot on disk: written atomically (temp file, fsync, rename) so a crash
// leaves the old copy or the new one, never half; read back when the source is down at start.
//
// Two generations are kept, each checksummed, so one bad file (a disk error, a hand edit, a bug)
// never leaves the proxy with nothing: `last-good.json` (the newest) and `last-good.previous.json`
// (the one before). A file is `{"sha256":"<hex>","snapshot":{…}}` where the digest is over
// JSON.stringify(snapshot); a write first moves a newest that verifies to the previous slot, then
// writes the new one. At start a file that is missing, unreadable, fails its checksum or does not
// validate is skipped (logged `last_good_skipped`) and the previous generation is used. A bare
// snapshot without the wrapper (written by hand or by an older Turnout) is accepted unchecked.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
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

/**
 * Writes `text` to `path` atomically, readable by its owner only (0600 in a 0700 dir): a snapshot
 * holds lane rules, and a pre-release rule's value is a secret. Never leaves its temp file behind.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w', 0o600);
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
  private next: string | (() => string) | null = null;
  private running: Promise<void> | null = null;
  /** The newest generation on disk is one this writer wrote: no need to read it back to verify. */
  private newestOurs = false;

  constructor(path: string, onError: (error: unknown) => void) {
    this.path = path;
    this.onError = onError;
  }

  /**
   * Queues `canonical` (JSON.stringify of a snapshot, or a function making it, called later, off
   * the caller's path) as the newest generation.
   */
  write(canonical: string | (() => string)): void {
    this.next = canonical;
    if (this.running === null) this.running = this.drain();
  }

  /** Resolves once every requested write has finished (or failed and been reported). */
  async flush(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      // Off the caller's turn: it is applying a snapshot, and the text may still have to be made.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.next !== null) {
        const next = this.next;
        this.next = null;
        try {
          const canonical = typeof next === 'function' ? next() : next;
          const ours = this.newestOurs;
          this.newestOurs = false;
          await writeGeneration(this.path, canonical, ours);
          this.newestOurs = true;
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

export type Generation = 'newest' | 'previous';

export type DiskResult =
  | { ok: true; snapshot: Snapshot; compiled: CompiledSnapshot; generation: Generation }
  | { ok: false; reason: string };

/** Where the generation before `path` is kept: `last-good.json` → `last-good.previous.json`. */
export function previousPath(path: string): string {
  const ext = extname(path);
  return ext === '' ? `${path}.previous` : `${path.slice(0, -ext.length)}.previous${ext}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The file text of a generation: the snapshot with the digest of its canonical JSON. */
export function wrapLastGood(canonical: string): string {
  return `{"sha256":"${sha256(canonical)}","snapshot":${canonical}}\n`;
}

/**
 * Moves a newest that verifies to the previous slot, then writes `canonical` as the newest.
 * `ours`: the newest is the file this process wrote last, known good: moved without reading it.
 */
async function writeGeneration(path: string, canonical: string, ours = false): Promise<void> {
  if (ours) {
    await rename(path, previousPath(path)).catch(() => {});
    await writeFileAtomic(path, wrapLastGood(canonical));
    return;
  }
  // A newest that is missing or bad is simply replaced: the previous one stays the fallback.
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text !== null && unwrap(text).ok) await rename(path, previousPath(path));
  await writeFileAtomic(path, wrapLastGood(canonical));
}

type Unwrapped =
  | { ok: true; text: string; checked: boolean }
  | { ok: false; reason: string; field?: string };

/** The snapshot text inside a generation's file, once its checksum holds. */
function unwrap(text: string): Unwrapped {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not valid JSON (${errorMessage(error)})` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  if (!('sha256' in doc) && !('snapshot' in doc)) return { ok: true, text, checked: false };
  const { sha256: digest, snapshot } = doc as { sha256?: unknown; snapshot?: unknown };
  if (typeof digest !== 'string' || typeof snapshot !== 'object' || snapshot === null) {
    return { ok: false, reason: 'expected {"sha256": "<hex>", "snapshot": {…}}' };
  }
  const body = JSON.stringify(snapshot);
  if (sha256(body) !== digest) {
    return { ok: false, reason: 'checksum mismatch (sha256 of the snapshot differs)' };
  }
  return { ok: true, text: body, checked: true };
}

type Read =
  | { ok: true; snapshot: Snapshot; compiled: CompiledSnapshot; checked: boolean }
  | { ok: false; missing: boolean; reason: string; field?: string | null };

async function readGeneration(path: string): Promise<Read> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, missing, reason: missing ? 'missing' : errorMessage(error) };
  }
  const inner = unwrap(text);
  if (!inner.ok) return { ok: false, missing: false, reason: inner.reason };
  try {
    const snapshot = parseSnapshot(inner.text, path);
    return { ok: true, snapshot, compiled: compileSnapshot(snapshot), checked: inner.checked };
  } catch (error) {
    const r = rejection(error);
    return { ok: false, missing: false, reason: `invalid: ${r.reason}`, field: r.field };
  }
}

/**
 * Reads the newest generation that is intact and valid; a bad one is logged and skipped, so a
 * corrupt newest falls back to the previous one. Neither usable: treated as absent.
 */
export async function loadLastGood(path: string | null, logger: Logger): Promise<DiskResult> {
  if (path === null) return { ok: false, reason: 'no last good snapshot path configured' };
  const problems: string[] = [];
  const generations: Array<[Generation, string]> = [
    ['newest', path],
    ['previous', previousPath(path)],
  ];
  for (const [generation, file] of generations) {
    const read = await readGeneration(file);
    if (read.ok) {
      if (!read.checked) {
        logger.warn(
          { event: 'last_good_unchecked', path: file, generation },
          'last good snapshot has no checksum (written by hand or by an older Turnout)',
        );
      }
      return { ok: true, snapshot: read.snapshot, compiled: read.compiled, generation };
    }
    if (read.missing) continue;
    problems.push(`${file}: ${read.reason}`);
    logger.warn(
      {
        event: 'last_good_skipped',
        path: file,
        generation,
        field: read.field ?? null,
        reason: read.reason,
      },
      'last good snapshot skipped',
    );
  }
  const detail = problems.length === 0 ? '' : ` (${problems.join('; ')})`;
  return { ok: false, reason: `no last good snapshot at ${path}${detail}` };
}
