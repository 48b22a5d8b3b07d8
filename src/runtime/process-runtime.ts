// The process runtime, the embedded default: module versions run as local child processes on
// 127.0.0.1, each with a port of its own, its output in `<dataDir>/instances/<id>.log` and its
// record in `<id>.json`, restarted when it crashes and adopted by the next run of the control plane.

export type { ProcessRuntimeOptions } from './process-runtime-options.js';

import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TurnoutError } from '../errors.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { buildEnv } from './env.js';
import { readTail } from './log-tail.js';
import type { InstanceRecord } from './pid-files.js';
import {
  INSTANCE_ID,
  logPath,
  readRecord,
  readRecords,
  removeRecord,
  writeRecord,
} from './pid-files.js';
import { INSTANCE_HOST, PortAllocator } from './port-allocator.js';
import { DEFAULT_PORT_RANGE } from './ports.js';
import type { ProcessHandle } from './process-handle.js';
import { spawnProcess, terminate, watchProcess } from './process-handle.js';
import { isSameProcess } from './process-identity.js';
import type { ProcessRuntimeOptions } from './process-runtime-options.js';
import { DEFAULTS } from './process-runtime-options.js';
import type { InstanceSpec, RunningInstance, Runtime, RuntimeEvents } from './runtime.js';
import { StartLimit } from './start-limit.js';
import { runningInstance, SupervisedInstance } from './supervised-instance.js';

export async function openProcessRuntime(options: ProcessRuntimeOptions): Promise<ProcessRuntime> {
  const dir = join(resolve(options.dataDir), 'instances');
  // Owner-only: records hold each instance's run spec and env, logs whatever it prints.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return new ProcessRuntime(dir, options);
}

export class ProcessRuntime implements Runtime {
  private readonly instances = new Map<string, SupervisedInstance>();
  private readonly starting = new Map<string, Promise<RunningInstance>>();
  private readonly events = new EventEmitter();
  private readonly limit: StartLimit;
  private readonly ports: PortAllocator;
  private readonly baseDir: string;
  private readonly now: () => number;
  private readonly host: string;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly options: ProcessRuntimeOptions,
  ) {
    this.host = options.host ?? INSTANCE_HOST;
    this.limit = new StartLimit(options.maxConcurrentStarts ?? DEFAULTS.maxConcurrentStarts);
    this.ports = new PortAllocator(
      options.portRange ?? DEFAULT_PORT_RANGE,
      options.random ?? Math.random,
      this.host,
    );
    this.baseDir = resolve(options.baseDir ?? process.cwd());
    this.now = options.now ?? Date.now;
  }

  // async, but with no await before `starting` is set: concurrent calls for one id share one start.
  async start(spec: InstanceSpec): Promise<RunningInstance> {
    this.checkOpen();
    if (!INSTANCE_ID.test(spec.id)) {
      const why = `instance id "${spec.id}" is not 1–128 of A-Z a-z 0-9 _ . : - (first alphanumeric)`;
      throw new TurnoutError('invalid_argument', why, 'id');
    }
    const existing = this.instances.get(spec.id);
    const stopping = existing?.stopping ?? null;
    if (existing !== undefined && stopping === null) {
      return sameInstance(runningInstance(existing.current), spec);
    }
    const pending = this.starting.get(spec.id);
    if (pending !== undefined) return pending.then((running) => sameInstance(running, spec));
    // While the id is being stopped, a start waits for the stop and then starts afresh.
    const started = (stopping ?? Promise.resolve())
      .catch(() => {})
      .then(() => this.limit.run(() => this.launch(spec)))
      .finally(() => this.starting.delete(spec.id));
    this.starting.set(spec.id, started);
    return started;
  }

  async stop(id: string, options: { deadlineMs?: number } = {}): Promise<void> {
    const deadlineMs = options.deadlineMs ?? this.options.stopDeadlineMs ?? DEFAULTS.stopDeadlineMs;
    // Both read before any await: a start() called before this stop is stopped too, and one called
    // after it sees the stop under way (and starts afresh once it is done).
    const known = this.instances.get(id);
    const pending = this.starting.get(id);
    if (known !== undefined) await this.stopInstance(known, deadlineMs);
    if (pending !== undefined) {
      await pending.catch(() => {});
      const started = this.instances.get(id);
      if (started !== undefined) await this.stopInstance(started, deadlineMs);
    } else if (known === undefined) {
      // Left running by an earlier run and not adopted yet: still ours to stop.
      const earlier = await this.adoptOne(id);
      if (earlier !== null) await this.stopInstance(earlier, deadlineMs);
    }
  }

  private async stopInstance(instance: SupervisedInstance, deadlineMs: number): Promise<void> {
    const { id } = instance.current;
    await instance.stop(deadlineMs);
    if (this.instances.get(id) === instance) this.instances.delete(id);
  }

  list(): RunningInstance[] {
    return [...this.instances.values()].map((i) => runningInstance(i.current));
  }

  async adopt(): Promise<{ adopted: RunningInstance[]; dead: string[] }> {
    this.checkOpen();
    const { records, unreadable } = await readRecords(this.dir);
    const adopted: RunningInstance[] = [];
    const dead: string[] = [];
    for (const id of unreadable) {
      await removeRecord(this.dir, id);
      dead.push(id);
    }
    for (const record of records) {
      if (this.instances.has(record.id) || this.starting.has(record.id)) continue;
      const instance = await this.adoptRecord(record);
      if (instance === null) dead.push(record.id);
      else adopted.push(runningInstance(instance.current));
    }
    return { adopted, dead };
  }

  async logs(id: string, options: { tailLines?: number } = {}): Promise<string> {
    const tail = await readTail(logPath(this.dir, id), options.tailLines ?? DEFAULTS.tailLines);
    if (tail !== null) return tail;
    if (this.instances.has(id)) return '';
    throw new TurnoutError('not_found', `instance ${id} has no log`, 'id');
  }

  on<E extends keyof RuntimeEvents>(event: E, listener: (e: RuntimeEvents[E]) => void): void {
    this.events.on(event, listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.starting.values());
    await Promise.all([...this.instances.values()].map((i) => i.release()));
    this.instances.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new TurnoutError('internal', 'the process runtime is closed');
  }

  private async launch(spec: InstanceSpec): Promise<RunningInstance> {
    const earlier = await this.adoptOne(spec.id);
    if (earlier !== null) return sameInstance(runningInstance(earlier.current), spec);
    const port = await this.allocatePort();
    try {
      const handle = await this.spawn(spec, port);
      const record: InstanceRecord = {
        id: spec.id,
        module: spec.module,
        version: spec.version,
        address: `${addressHost(this.host)}:${port}`,
        pid: handle.pid,
        startedAt: new Date(this.now()).toISOString(),
        restarts: 0,
        port,
        processStart: handle.processStart,
        spec,
      };
      try {
        await writeRecord(this.dir, record);
      } catch (error) {
        await terminate(handle, 0); // unrecorded, it could be neither adopted nor stopped later
        throw error;
      }
      this.supervise(record, handle);
      return runningInstance(record);
    } finally {
      this.ports.release(port);
    }
  }

  /** The instance of `id` an earlier run left running, now supervised; null when there is none. */
  private async adoptOne(id: string): Promise<SupervisedInstance | null> {
    const record = await readRecord(this.dir, id);
    return record === null ? null : this.adoptRecord(record);
  }

  private async adoptRecord(record: InstanceRecord): Promise<SupervisedInstance | null> {
    if (!isSameProcess(record.pid, record.processStart)) {
      await removeRecord(this.dir, record.id);
      return null;
    }
    const known = this.instances.get(record.id);
    if (known !== undefined) return known; // adopted meanwhile (by adopt() or a start)
    const pollMs = this.options.pollMs ?? DEFAULTS.pollMs;
    return this.supervise(record, watchProcess(record.pid, record.processStart, pollMs));
  }

  private supervise(record: InstanceRecord, handle: ProcessHandle): SupervisedInstance {
    const instance = new SupervisedInstance(record, handle, {
      policy: this.options.backoff ?? DEFAULT_BACKOFF,
      now: this.now,
      logFile: logPath(this.dir, record.id),
      respawn: (r) => this.limit.run(() => this.spawn(r.spec, r.port)),
      save: (r) => writeRecord(this.dir, r),
      forget: (id) => removeRecord(this.dir, id),
      exited: (e) => this.events.emit('exited', e),
      restarted: (i) => this.events.emit('restarted', i),
    });
    this.instances.set(record.id, instance);
    return instance;
  }

  private spawn(spec: InstanceSpec, port: number): Promise<ProcessHandle> {
    const { run } = spec;
    const env = buildEnv(this.options.parentEnv ?? process.env, run.env, {
      id: spec.id,
      module: spec.module,
      version: spec.version,
      port,
      host: this.host,
      proxyUrl: this.options.proxyUrl ?? null,
    });
    return spawnProcess({
      command: run.command,
      args: run.args,
      cwd: resolve(this.baseDir, run.cwd ?? '.'),
      env,
      logFile: logPath(this.dir, spec.id),
    });
  }

  /** A port no instance holds (ours, or any recorded in this data dir) that binds right now. */
  private async allocatePort(): Promise<number> {
    const taken = [...this.instances.values()].map((i) => i.current.port);
    for (const record of (await readRecords(this.dir)).records) taken.push(record.port);
    return this.ports.allocate(taken);
  }
}

/** An IPv6 listen address is bracketed in `host:port`. */
function addressHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** An id answers for one module version; a second start with another is a caller's mistake. */
function sameInstance(running: RunningInstance, spec: InstanceSpec): RunningInstance {
  if (running.module === spec.module && running.version === spec.version) return running;
  throw new TurnoutError(
    'invalid_argument',
    `instance ${spec.id} already runs ${running.module} ${running.version}, not ${spec.module} ${spec.version}`,
    'id',
  );
}
