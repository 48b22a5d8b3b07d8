// Where a proxy gets its routing snapshot: a watched file or the control plane's SSE stream, with
// the last good one kept on disk so the proxy starts and keeps serving while the source is down.
//
// ## Stream protocol (control plane → proxy)
//
//   GET <url>[?since=<version>]
//   Accept: text/event-stream
//   Cache-Control: no-cache
//   Authorization: Bearer <token>          (when a token is configured)
//   Last-Event-ID: <version>               (same value as `since`, when present)
//
// The server answers `200` with `Content-Type: text/event-stream` (any other status or type is a
// failed attempt and the client retries). On connect it sends its current snapshot at once unless
// its version equals `since`; then one event per new snapshot, in version order:
//
//   event: snapshot
//   id: <version>                          (must equal the snapshot's `version`)
//   data: <the snapshot as JSON on one line>
//   <blank line>
//
// and a comment line `: keepalive` every ~15 s. Other event types are ignored (room to grow);
// `retry:` is ignored (the client's own backoff governs).
//
// Deltas: the client asks for them with `delta=1` (an older server ignores the flag and sends the
// stream above). Then ids and `since` are tags `<version>.<revision>`, and besides `event: snapshot`
// the server sends `event: delta` frames whose data is a delta (src/config/delta.ts) naming the
// tag it applies to (`from`) and the one it produces (`to`, equal to the frame's id). The client
// applies a delta only to the snapshot it holds from the stream with tag `from`; otherwise, or when
// the delta or its result is invalid, it drops the connection and reconnects without `since`, so
// the server sends the full snapshot. The result of a delta passes the same validation and
// acceptance rules as a full snapshot. docs/config-stream.md has the whole protocol.
//
// Client behaviour: `since` is the version of the last snapshot applied *from the stream*; it is
// omitted on a first connect and while only a snapshot loaded from disk is in force, so the server
// sends its current snapshot and the proxy can tell it is in sync again. When no byte (data or
// keepalive) arrives for 45 s the client drops the connection. After any end or failure it
// reconnects with jittered exponential backoff: 100 ms doubling to 5 s, each delay drawn from
// [d/2, d]; the backoff resets once a connection has delivered an event or a keepalive.
//
// ## Acceptance rules (file and stream alike)
//
// - A snapshot that fails `parseSnapshot`/`compileSnapshot` is rejected (`config_rejected` with
//   source, field and reason); the one in force stays.
// - A version lower than the one in force is ignored (`config_stale`): versions never go back
//   within a process. The control plane never reuses or lowers versions (a rollback is a new one).
// - The same version with different content is accepted: people edit files by hand without bumping
//   it. The same version with the same content is not re-applied — except that a source snapshot
//   replaces one loaded from disk, so the caller learns it is live again (`origin: 'source'`).
// - Every accepted source snapshot is written atomically to `lastGoodPath` (as normalised JSON,
//   checksummed; the one before it is kept as the previous generation, see last-good.ts).
// - At start, a source that answers wins even when older than the copy on disk; the disk copy is
//   used only when the source is missing, invalid or unreachable at the first try (~2 s).
// - A callback that throws (or returns a rejected promise) is logged; the snapshot still counts as
//   applied.

import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { CompiledSnapshot } from '../config/compile.js';
import { compileSnapshot } from '../config/compile.js';
import { applyDelta } from '../config/delta.js';
import { validateDeltaResult } from '../config/delta-validate.js';
import { parseSnapshot } from '../config/load.js';
import type { Snapshot } from '../config/snapshot.js';
import { TurnoutError } from '../errors.js';
import { FileDriver } from './file-source.js';
import type { DiskResult } from './last-good.js';
import { LastGoodWriter, loadLastGood, rejection } from './last-good.js';
import { StreamDriver } from './stream-source.js';

export type SnapshotOrigin = 'source' | 'disk';

export interface ConfigSource {
  /** Resolves once a first snapshot is applied (from the source or disk); rejects if neither. */
  start(onSnapshot: (compiled: CompiledSnapshot, origin: SnapshotOrigin) => void): Promise<void>;
  /** Stops watching/streaming and waits for a pending last-good write. Idempotent. */
  stop(): Promise<void>;
}

export interface ConfigSourceOptions {
  /** A file path (or file: URL), or the http(s) URL of the control plane's snapshot stream. */
  readonly source: string;
  /** Where the last good snapshot is kept; null to keep none. */
  readonly lastGoodPath: string | null;
  readonly logger: Logger;
  /** Bearer token for the stream. */
  readonly token?: string;
  /** PEM CA certificate(s) to trust for an https control plane; none: the system's roots. */
  readonly ca?: string;
  /** How long the first try of the source may take before the disk copy is used. Default 2000. */
  readonly firstTryTimeoutMs?: number;
  /** File: quiet time after a change before re-reading. Default 50. */
  readonly debounceMs?: number;
  /** File: fallback stat poll, for file systems where watching is unreliable. Default 2000. */
  readonly pollIntervalMs?: number;
  /** Stream: reconnect when no byte arrives for this long. Default 45000. */
  readonly idleTimeoutMs?: number;
  /** Stream: reconnect backoff. Default 100 ms → 5000 ms. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Stream: ask for deltas (`delta=1`). Default false (full snapshots); `turnout proxy` asks. */
  readonly deltas?: boolean;
}

export type OfferResult =
  | { readonly kind: 'applied' | 'unchanged' | 'stale' }
  | { readonly kind: 'rejected'; readonly reason: string }
  /** A delta that cannot be applied here: reconnect without `since` for the full snapshot. */
  | { readonly kind: 'resync'; readonly reason: string };

/** What a driver (file watcher, stream client) sees of the config source. */
export interface DriverContext {
  readonly logger: Logger;
  /**
   * Validates and, if acceptable, applies a snapshot text read from the source. `tagged`: the
   * event id is a delta-stream tag `<version>.<revision>` rather than a bare version.
   */
  offer(text: string, source: string, eventId?: string, tagged?: boolean): OfferResult;
  /** Applies a delta (its JSON text) to the snapshot held from the source; `eventId` is its tag. */
  offerDelta(text: string, source: string, eventId: string): OfferResult;
  /** The delta-stream tag of the snapshot held from the source, or null (ask for a full one). */
  sourceTag(): string | null;
  /** The source could not be read (reason for the log and the start error). */
  failed(reason: string): void;
  /** An attempt to reach the source has begun; it lasts until `failed` (or for good). */
  attempting(): void;
  /** Version of the last snapshot accepted from the source, or null. */
  sourceVersion(): number | null;
}

export interface SourceDriver {
  start(): void;
  stop(): Promise<void>;
}

type Callback = (compiled: CompiledSnapshot, origin: SnapshotOrigin) => void;

interface Current {
  readonly version: number;
  /** JSON.stringify of the snapshot, made when first needed (a delta's result may never need it). */
  readonly canonical: () => string;
  readonly origin: SnapshotOrigin;
  readonly snapshot: Snapshot;
  /** The delta-stream tag it was received under; null: not from a delta stream. */
  readonly tag: string | null;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function lazy(make: () => string): () => string {
  let value: string | null = null;
  return () => {
    value ??= make();
    return value;
  };
}

function timer(ms: number): { promise: Promise<void>; cancel(): void } {
  let handle: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    handle = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(handle) };
}

class Core implements ConfigSource {
  private readonly opts: ConfigSourceOptions;
  private readonly logger: Logger;
  private readonly label: string;
  private readonly driver: SourceDriver;
  private readonly writer: LastGoodWriter | null;
  private callback: Callback | null = null;
  private current: Current | null = null;
  private fromSource: number | null = null;
  private lastWritten: string | null = null;
  private started = false;
  private stopped = false;
  private lastFailure: string | null = null;
  private firstFailure: ((reason: string) => void) | null = null;
  /** A stream attempt under way (connecting or connected), not yet failed. */
  private inAttempt = false;
  private firstApplied: (() => void) | null = null;

  constructor(opts: ConfigSourceOptions) {
    this.opts = opts;
    this.logger = opts.logger.child({ component: 'config-source' });
    const ctx: DriverContext = {
      logger: this.logger,
      offer: (text, source, eventId, tagged) => this.offer(text, source, eventId, tagged),
      offerDelta: (text, source, eventId) => this.offerDelta(text, source, eventId),
      // A server without deltas sends bare versions: resume from the version, as before.
      sourceTag: () =>
        this.current?.origin !== 'source'
          ? null
          : (this.current.tag ?? (this.fromSource === null ? null : String(this.fromSource))),
      failed: (reason) => this.failed(reason),
      attempting: () => {
        this.inAttempt = true;
      },
      sourceVersion: () => this.fromSource,
    };
    if (/^https?:\/\//i.test(opts.source)) {
      const driver = new StreamDriver(opts.source, ctx, {
        token: opts.token,
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        idleTimeoutMs: opts.idleTimeoutMs ?? 45_000,
        deltas: opts.deltas ?? false,
        backoff: opts.backoff ?? { initialMs: 100, maxMs: 5_000 },
      });
      this.label = driver.label;
      this.driver = driver;
    } else {
      const path = /^file:/i.test(opts.source) ? fileURLToPath(opts.source) : opts.source;
      this.label = path;
      this.driver = new FileDriver(path, ctx, {
        debounceMs: opts.debounceMs ?? 50,
        pollIntervalMs: opts.pollIntervalMs ?? 2_000,
      });
    }
    const lastGood = opts.lastGoodPath;
    this.writer =
      lastGood === null
        ? null
        : new LastGoodWriter(lastGood, (error) =>
            this.logger.error(
              { event: 'last_good_write_failed', path: lastGood, reason: errorMessage(error) },
              'could not write the last good snapshot',
            ),
          );
  }

  async start(onSnapshot: Callback): Promise<void> {
    if (this.started || this.stopped) throw new Error('config source already started or stopped');
    this.started = true;
    this.callback = onSnapshot;
    const applied = new Promise<null>((resolve) => {
      this.firstApplied = () => resolve(null);
    });
    const failure = new Promise<string>((resolve) => {
      this.firstFailure = resolve;
    });
    const firstTryMs = this.opts.firstTryTimeoutMs ?? 2_000;
    const deadline = timer(firstTryMs);
    try {
      this.driver.start();
      const outcome = await Promise.race([
        applied,
        failure,
        deadline.promise.then(() => `no snapshot within ${firstTryMs} ms`),
      ]);
      if (outcome === null) return;
      this.lastFailure ??= outcome;
      const disk = this.stopped ? null : await loadLastGood(this.opts.lastGoodPath, this.logger);
      if (this.current !== null) return; // the source answered meanwhile
      if (disk === null || this.stopped) throw new Error('config source stopped during start');
      if (disk.ok) {
        this.applyFromDisk(disk, outcome);
        return;
      }
      // Nothing usable on disk: a stream that is merely slow may still answer within the first
      // try, and one that is reachable (an attempt still under way) is waited out, however long.
      if (this.driver instanceof StreamDriver) {
        const late = await Promise.race([applied, deadline.promise.then(() => 'late')]);
        if (late === null) return;
        if (await this.awaitAttempt(applied, disk.reason)) return;
      }
      if (this.stopped) throw new Error('config source stopped during start');
      await this.stop();
      throw new TurnoutError(
        'not_found',
        `no configuration: ${this.label} unreachable (${this.lastFailure ?? outcome}) and ${disk.reason}`,
      );
    } finally {
      deadline.cancel();
      this.firstFailure = null;
    }
  }

  /** Waits for the stream attempt under way, if any: true once it applied a snapshot. */
  private async awaitAttempt(applied: Promise<null>, diskReason: string): Promise<boolean> {
    if (!this.inAttempt || this.stopped) return false;
    const lost = new Promise<string>((resolve) => {
      this.firstFailure = resolve;
    });
    this.logger.warn(
      { event: 'config_waiting_for_stream', source: this.label, reason: diskReason },
      'no usable last good snapshot: waiting for the stream, which is reachable',
    );
    return (await Promise.race([applied, lost])) === null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.firstFailure?.('config source stopped'); // a start waiting for the stream gives up
    await this.driver.stop();
    await this.writer?.flush();
  }

  private failed(reason: string): void {
    this.lastFailure = reason;
    this.inAttempt = false;
    if (this.current === null) this.firstFailure?.(reason);
  }

  private offer(text: string, source: string, eventId?: string, tagged = false): OfferResult {
    if (this.stopped) return { kind: 'unchanged' };
    let snapshot: Snapshot;
    try {
      snapshot = parseSnapshot(text, source);
      const idVersion = tagged ? eventId?.split('.')[0] : eventId;
      if (idVersion !== undefined && idVersion !== '' && idVersion !== String(snapshot.version)) {
        throw new TurnoutError(
          'invalid_config',
          `${source}: event id "${eventId}" does not match the snapshot's version ${snapshot.version}`,
          'version',
        );
      }
    } catch (error) {
      return this.reject(source, error);
    }
    return this.accept(snapshot, source, tagged && eventId !== undefined ? eventId : null);
  }

  private offerDelta(text: string, source: string, eventId: string): OfferResult {
    if (this.stopped) return { kind: 'unchanged' };
    const cur = this.current;
    let delta: { from?: unknown; to?: unknown };
    try {
      delta = JSON.parse(text) as typeof delta;
    } catch (error) {
      return this.resync(source, `delta is not valid JSON: ${errorMessage(error)}`);
    }
    const held = cur?.origin === 'source' ? cur.tag : null;
    if (cur === null || held === null || delta?.from !== held) {
      const from = typeof delta?.from === 'string' ? delta.from : JSON.stringify(delta?.from);
      return this.resync(
        source,
        `delta from ${from} does not apply to the snapshot held (${held ?? 'none'})`,
      );
    }
    if (delta.to !== eventId)
      return this.resync(
        source,
        `delta to ${JSON.stringify(delta.to)} under event id "${eventId}"`,
      );
    let snapshot: Snapshot;
    try {
      snapshot = validateDeltaResult(
        cur.snapshot,
        applyDelta(cur.snapshot, delta),
        `${source} (delta ${held} → ${eventId})`,
      );
    } catch (error) {
      this.reject(source, error);
      return this.resync(source, `delta ${held} → ${eventId} rejected`);
    }
    const result = this.accept(snapshot, source, eventId, true);
    return result.kind === 'rejected' ? this.resync(source, result.reason) : result;
  }

  /** The delta cannot be applied: drop the stream position so the reconnect gets a full one. */
  private resync(source: string, reason: string): OfferResult {
    this.logger.warn(
      { event: 'config_delta_resync', source, reason },
      'delta not applied: resyncing',
    );
    if (this.current !== null) this.current = { ...this.current, tag: null };
    this.fromSource = null;
    return { kind: 'resync', reason };
  }

  /** The acceptance rules (top of this file) for a validated snapshot from the source. */
  private accept(
    snapshot: Snapshot,
    source: string,
    tag: string | null,
    fromDelta = false,
  ): OfferResult {
    let compiled: CompiledSnapshot;
    const canonical = lazy(() => JSON.stringify(snapshot));
    const cur = this.current;
    if (cur !== null && snapshot.version < cur.version) {
      this.logger.warn(
        { event: 'config_stale', source, version: snapshot.version, current: cur.version },
        'snapshot older than the one in force ignored',
      );
      return { kind: 'stale' };
    }
    if (
      cur !== null &&
      cur.origin === 'source' &&
      snapshot.version === cur.version &&
      // A delta is sent only for a change: no need to serialise both to compare them.
      !fromDelta &&
      canonical() === cur.canonical()
    ) {
      this.fromSource = snapshot.version;
      this.current = { ...cur, tag };
      this.logger.debug({ event: 'config_unchanged', source, version: snapshot.version });
      return { kind: 'unchanged' };
    }
    try {
      compiled = compileSnapshot(snapshot);
    } catch (error) {
      return this.reject(source, error);
    }
    this.current = { version: snapshot.version, canonical, origin: 'source', snapshot, tag };
    this.fromSource = snapshot.version;
    this.logger.info(
      {
        event: 'config_applied',
        source,
        version: snapshot.version,
        previous: cur?.version ?? null,
      },
      'routing snapshot applied',
    );
    if (this.writer !== null && (fromDelta || canonical() !== this.lastWritten)) {
      // After a delta the text is made by the writer, once the routing table is swapped in.
      this.lastWritten = fromDelta ? null : canonical();
      this.writer.write(canonical);
    }
    this.deliver(compiled, 'source');
    return { kind: 'applied' };
  }

  private reject(source: string, error: unknown): OfferResult {
    const r = rejection(error);
    this.logger.warn({ event: 'config_rejected', source, ...r }, 'routing snapshot rejected');
    this.failed(r.reason);
    return { kind: 'rejected', reason: r.reason };
  }

  private applyFromDisk(disk: DiskResult & { ok: true }, reason: string): void {
    const { snapshot, compiled } = disk;
    const text = JSON.stringify(snapshot);
    const canonical = () => text;
    this.current = { version: snapshot.version, canonical, origin: 'disk', snapshot, tag: null };
    // From the previous generation the newest is bad: the source's copy rewrites it, even if equal.
    this.lastWritten = disk.generation === 'newest' ? text : null;
    this.logger.warn(
      {
        event: 'config_from_disk',
        source: this.label,
        path: this.opts.lastGoodPath,
        generation: disk.generation,
        version: snapshot.version,
        reason,
      },
      'source unavailable: serving the last good snapshot from disk',
    );
    this.deliver(compiled, 'disk');
  }

  private deliver(compiled: CompiledSnapshot, origin: SnapshotOrigin): void {
    const report = (error: unknown) =>
      this.logger.error(
        { event: 'config_callback_failed', version: compiled.version, reason: errorMessage(error) },
        'snapshot callback failed',
      );
    try {
      const result: unknown = this.callback?.(compiled, origin);
      if (result instanceof Promise) result.catch(report);
    } catch (error) {
      report(error);
    }
    this.firstApplied?.();
    this.firstApplied = null;
  }
}

export function createConfigSource(opts: ConfigSourceOptions): ConfigSource {
  return new Core(opts);
}

/** What `turnout proxy` follows (one process, or a cluster's primary): its --config and the rest. */
export function proxyConfigSource(
  opts: { config: string; lastGoodPath: string | null; token?: string; ca?: string },
  logger: Logger,
): ConfigSource {
  return createConfigSource({
    source: opts.config,
    lastGoodPath: opts.lastGoodPath,
    logger,
    deltas: true,
    ...(opts.token === undefined ? {} : { token: opts.token }),
    ...(opts.ca === undefined ? {} : { ca: opts.ca }),
  });
}
