// The one seam every runtime implements: the process runtime now (local child processes), the
// agent and Kubernetes runtimes later. The release engine decides what runs; a runtime only runs it.

export interface InstanceSpec {
  /** Chosen by the caller (the release engine), stable across restarts, e.g. "orders-2.0.0-a1b2". */
  id: string;
  module: string;
  version: string;
  /** Already merged: the module's run spec with the version's overrides applied. */
  run: { command: string; args: string[]; cwd: string | null; env: Record<string, string> };
}

export interface RunningInstance {
  id: string;
  module: string;
  version: string;
  /** 127.0.0.1:port (in a fleet, the host's address:port) */
  address: string;
  /** The host it runs on, for runtimes that place instances across a fleet; absent: this host. */
  host?: string;
  pid: number;
  /** ISO 8601, when the current process was started. */
  startedAt: string;
  /** How many times the runtime restarted it after an unexpected exit. */
  restarts: number;
}

/** An instance ended without being asked to; `restartInMs` is null when it will not be restarted. */
export interface InstanceExited {
  id: string;
  module: string;
  version: string;
  pid: number;
  /** Exit code and signal; both null when the process was not our child (adopted) or never ran. */
  code: number | null;
  signal: NodeJS.Signals | null;
  restartInMs: number | null;
  /** Set when the restart itself failed (e.g. the command disappeared). */
  error?: string;
}

/**
 * How an instance fares, for a deploy waiting on it to become ready: a crash loop shows here long
 * before a readiness timeout would (Runtime.health).
 */
export interface InstanceHealth {
  /** Unexpected exits since the runtime started it (or, after a control-plane restart, adopted it). */
  exits: number;
  /** How many times the runtime restarted it after such an exit. */
  restarts: number;
  /** The last exit's code, signal and time (ISO 8601); null while it has not exited. */
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  /** The last lines of its own output (the runtime's notes left out), at most HEALTH_LOG_LINES. */
  logTail: string[];
}

/** How many log lines InstanceHealth carries: enough to show why, short enough for a message. */
export const HEALTH_LOG_LINES = 5;

export interface RuntimeEvents {
  exited: InstanceExited;
  restarted: RunningInstance;
}

export interface Runtime {
  /**
   * Starts the instance, or answers the existing one if `id` already runs (idempotent: never two
   * processes for one id). Resolves once the process is spawned; health is the control plane's job.
   */
  start(spec: InstanceSpec): Promise<RunningInstance>;
  /** Asks the instance to stop, forces it after deadlineMs, resolves when it is gone. Idempotent. */
  stop(id: string, options?: { deadlineMs?: number }): Promise<void>;
  /** The instances this runtime supervises (one waiting for a restart shows its last process). */
  list(): RunningInstance[];
  /**
   * After a control-plane restart: takes over instances an earlier run left running, after checking
   * each is still the same process, and forgets the ones that died. Answers both.
   */
  adopt(): Promise<{ adopted: RunningInstance[]; dead: string[] }>;
  /** The tail of the instance's log (stdout and stderr). */
  logs(id: string, options?: { tailLines?: number }): Promise<string>;
  /**
   * Where logs() comes from when it is not the instance's whole log on this machine (an agent's
   * last report, at a time); absent or null: it is.
   */
  logOrigin?(id: string): Promise<string | null>;
  /** How the instance fares (exits, restarts, log tail); null when this runtime does not know it. */
  health(id: string): Promise<InstanceHealth | null>;
  on<E extends keyof RuntimeEvents>(event: E, listener: (e: RuntimeEvents[E]) => void): void;
  /** Stops supervising WITHOUT stopping the instances: the next run adopts them. */
  close(): Promise<void>;
}
