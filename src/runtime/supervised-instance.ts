// One instance under supervision: it watches the process, restarts it after an unexpected exit
// (same id, same port, with backoff), and stops it on request. Phases:
//   running → (exits) → backoff → (timer) → running …        stop(): any phase → stopped
// release() (the runtime closing) stops watching and leaves the process to the next run.

import { appendFile } from 'node:fs/promises';
import type { BackoffPolicy } from './backoff.js';
import { nextRestart } from './backoff.js';
import type { InstanceRecord } from './pid-files.js';
import type { Exit, ProcessHandle } from './process-handle.js';
import { terminate } from './process-handle.js';
import type { InstanceExited, RunningInstance } from './runtime.js';

/** How the runtime's own lines in an instance's log begin (log-tail.ts, ownLines, leaves them out). */
export const NOTE_PREFIX = '[turnout ';

type Phase = 'running' | 'backoff' | 'stopping' | 'stopped' | 'released';

export interface SupervisionDeps {
  readonly policy: BackoffPolicy;
  readonly now: () => number;
  readonly logFile: string;
  /** Starts the process again for this record (same port), through the runtime's start limit. */
  respawn(record: InstanceRecord): Promise<ProcessHandle>;
  save(record: InstanceRecord): Promise<void>;
  forget(id: string): Promise<void>;
  exited(e: InstanceExited): void;
  restarted(instance: RunningInstance): void;
}

export function runningInstance(record: InstanceRecord): RunningInstance {
  const { id, module, version, address, pid, startedAt, restarts } = record;
  return { id, module, version, address, pid, startedAt, restarts };
}

export class SupervisedInstance {
  private phase: Phase = 'running';
  private failures = 0;
  /** Unexpected exits (and failed restarts) since supervision began, and the last one. */
  private exitCount = 0;
  private last: (Exit & { at: string }) | null = null;
  private timer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | null = null;
  private stopCall: Promise<void> | null = null;

  constructor(
    private record: InstanceRecord,
    private handle: ProcessHandle,
    private readonly deps: SupervisionDeps,
  ) {
    this.watch(handle);
  }

  get current(): InstanceRecord {
    return this.record;
  }

  /** Unexpected exits since supervision began, and the last one's code, signal and time. */
  get exits(): { count: number; last: (Exit & { at: string }) | null } {
    return { count: this.exitCount, last: this.last };
  }

  /** Concurrent calls share one stop; each resolves when the process is gone. */
  stop(deadlineMs: number): Promise<void> {
    this.stopCall ??= this.stopNow(deadlineMs);
    return this.stopCall;
  }

  /** The stop under way (or done); null when none was asked for. */
  get stopping(): Promise<void> | null {
    return this.stopCall;
  }

  private async stopNow(deadlineMs: number): Promise<void> {
    this.phase = 'stopping';
    clearTimeout(this.timer);
    await this.restarting; // a restart already spawning finishes first, then is stopped below
    await terminate(this.handle, deadlineMs);
    await this.deps.forget(this.record.id);
    this.phase = 'stopped';
  }

  /** Resolves once a restart already under way has recorded its new process. */
  async release(): Promise<void> {
    this.phase = 'released';
    clearTimeout(this.timer);
    this.handle.release();
    await this.restarting;
    this.handle.release();
  }

  private watch(handle: ProcessHandle): void {
    void handle.exited.then((exit) => this.onExit(handle, exit));
  }

  private onExit(handle: ProcessHandle, exit: Exit): void {
    if (this.phase !== 'running' || handle !== this.handle) return; // asked to stop, or released
    const uptimeMs = this.deps.now() - Date.parse(this.record.startedAt);
    this.scheduleRestart(exit, uptimeMs);
  }

  private scheduleRestart(exit: Exit, uptimeMs: number, error?: string): void {
    const next = nextRestart(this.failures, uptimeMs, this.deps.policy);
    this.failures = next.failures;
    this.exitCount++;
    this.last = { ...exit, at: new Date(this.deps.now()).toISOString() };
    this.phase = 'backoff';
    this.timer = setTimeout(() => {
      this.restarting = this.restart().finally(() => {
        this.restarting = null;
      });
    }, next.delayMs);
    const { id, module, version, pid } = this.record;
    const how = error ?? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code ?? 'unknown'}`);
    this.note(`exited (${how}); restarting in ${next.delayMs} ms`);
    this.deps.exited({
      id,
      module,
      version,
      pid,
      ...exit,
      restartInMs: next.delayMs,
      ...(error === undefined ? {} : { error }),
    });
  }

  private async restart(): Promise<void> {
    if (this.phase !== 'backoff') return;
    let handle: ProcessHandle;
    try {
      handle = await this.deps.respawn(this.record);
    } catch (error) {
      if (this.inPhase('backoff')) {
        this.scheduleRestart({ code: null, signal: null }, 0, (error as Error).message);
      }
      return;
    }
    this.handle = handle;
    this.record = {
      ...this.record,
      pid: handle.pid,
      processStart: handle.processStart,
      startedAt: new Date(this.deps.now()).toISOString(),
      restarts: this.record.restarts + 1,
    };
    if (this.stopCall !== null) return; // stop() arrived meanwhile and terminates it
    await this.deps.save(this.record);
    if (!this.inPhase('backoff')) return; // released meanwhile: the record lets the next run adopt it
    this.phase = 'running';
    this.watch(handle);
    this.note(`restarted as pid ${handle.pid}`);
    this.deps.restarted(runningInstance(this.record));
  }

  /** Read through a call: TypeScript would keep a phase narrowed across the awaits above. */
  private inPhase(phase: Phase): boolean {
    return this.phase === phase;
  }

  /** A line in the instance's own log, so its readers see what the runtime did and why. */
  private note(text: string): void {
    const line = `${NOTE_PREFIX}${new Date(this.deps.now()).toISOString()}] ${this.record.id}: ${text}\n`;
    void appendFile(this.deps.logFile, line).catch(() => {});
  }
}
