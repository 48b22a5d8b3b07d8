// `turnout agent`: one per host. It registers the host, keeps its lease (heartbeats every ttl/3,
// sooner with backoff after a failure), follows the host's assignments over a resumable stream,
// starts and stops instances with the process runtime (bound to --advertise), probes their health
// here and reports status changes, runs the host proxy (handed in by the CLI: superviseProxy) and
// pushes its /stats every second. Everything travels over the agent's own connections out to the
// server. When the server is unreachable nothing is stopped: instances and the proxy run on, and an
// agent starting without a server acts on <data>/assignments.json. A restarted agent adopts its
// instances. stop() leaves instances running for the next agent unless told otherwise.

import { mkdir } from 'node:fs/promises';
import { request } from 'undici';
import { TurnoutError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { DownloadProgress } from '../store/assignment-model.js';
import { ArtifactCache, DEFAULT_CACHE_BYTES } from './artifact-cache.js';
import { OneAtATime, prepareArtifact, runInside, StepError } from './artifact-prepare.js';
import type { UnpackCaps } from './artifact-unpack.js';
import type { Assignment, HealthVerdict, StatusReport } from './assignment.js';
import { AssignmentStream } from './assignment-stream.js';
import { LocalHealth } from './health.js';
import type { Action, InstanceNote, StopReason } from './reconcile.js';
import { idle, reconcile } from './reconcile.js';
import { loadAssignments, saveAssignments } from './saved-assignments.js';
import type { ServerLink } from './server-link.js';

/** What the agent says: info goes to people (or one JSON line), warn/error are structured logs. */
export interface AgentLog {
  info(event: string, fields: Record<string, unknown>, text: string): void;
  warn(event: string, fields: Record<string, unknown>, text: string): void;
  error(event: string, fields: Record<string, unknown>, text: string): void;
}

/** The host proxy, started and supervised by the CLI (src/cli/up-proxy.ts). */
export interface HostProxy {
  pid(): number;
  stop(deadlineMs: number): Promise<void>;
  /** Ends the supervision and leaves the proxy running, for the next agent to keep. */
  leave(): Promise<void>;
}

export interface AgentOptions {
  readonly name: string;
  readonly advertise: string;
  readonly labels: Record<string, string>;
  readonly capacity: number | null;
  readonly ttlMs: number;
  readonly dataDir: string;
  readonly link: ServerLink;
  /** PEM CA for an https server (the stream; the link reads its own). */
  readonly ca?: string | undefined;
  readonly runtime: Runtime;
  /** Starts the host proxy; null: no proxy. */
  readonly startProxy: (() => Promise<HostProxy>) | null;
  /** The proxy's admin base URL (its /stats is pushed every second); null: none. */
  readonly proxyAdminUrl: string | null;
  readonly log: AgentLog;
  readonly statsIntervalMs?: number;
  /** How often the agent looks again without being woken (retries, backoffs). Default 1000. */
  readonly tickMs?: number;
  readonly now?: () => number;
  /** Artifacts (issue 14): the cache's bound in unpacked bytes, the largest download, unpack caps. */
  readonly artifacts?: {
    readonly cacheBytes?: number;
    readonly maxDownloadBytes?: number;
    readonly unpackCaps?: UnpackCaps;
  };
}

/** The largest artifact an agent downloads by default (the server's own upload cap). */
const MAX_DOWNLOAD_BYTES = 512 * 1024 ** 2;

/** A failed start is tried again after this, doubling per failure up to the cap. */
const START_RETRY = { initialMs: 1_000, maxMs: 30_000 };
const HEARTBEAT_RETRY = { initialMs: 250, maxMs: 5_000 };
const LOG_TAIL_LINES = 20;
const LOG_LINE_CHARS = 300;
const PROXY_STOP_DEADLINE_MS = 15_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

export class HostAgent {
  private assignments: Assignment[] | null = null;
  private savedJson = '';
  private saving: Promise<void> = Promise.resolve();
  private readonly reported = new Map<string, StatusReport>();
  /** When each id's status was last sent (ms): an unchanged status is sent again every ttl. */
  private readonly reportedAtMs = new Map<string, number>();
  private readonly reporting = new Set<string>();
  private readonly notes = new Map<string, InstanceNote>();
  private readonly startFailures = new Map<string, number>();
  private readonly starting = new Set<string>();
  private readonly stopping = new Set<string>();
  private readonly health: LocalHealth;
  private readonly stream: AssignmentStream;
  private readonly now: () => number;
  private proxy: HostProxy | null = null;
  private registered = false;
  /** Reports are failing (the server away): the first failure of a streak is logged, not each. */
  private reportsFailing = false;
  private stopped = false;
  private rounds: Promise<void> = Promise.resolve();
  private again = false;
  private roundQueued = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private readonly loops: Promise<void>[] = [];
  private adoption: { adopted: number; dead: string[] } | null = null;
  private readonly cache: ArtifactCache;
  private readonly downloads = new OneAtATime();
  /** A progress report that came while one for the same id was on its way: sent after it. */
  private readonly nextReport = new Map<string, StatusReport>();

  constructor(private readonly o: AgentOptions) {
    this.now = o.now ?? Date.now;
    this.cache = new ArtifactCache({
      dataDir: o.dataDir,
      maxBytes: o.artifacts?.cacheBytes ?? DEFAULT_CACHE_BYTES,
      ...(o.artifacts?.unpackCaps === undefined ? {} : { caps: o.artifacts.unpackCaps }),
    });
    this.health = new LocalHealth({
      onChange: (id, verdict, detail) => this.onHealth(id, verdict, detail),
    });
    const req = o.link.streamRequest(o.name);
    this.stream = new AssignmentStream({
      url: req.url,
      headers: req.headers,
      ca: o.ca,
      onList: (list, version) => void this.onList(list, version),
      onConnected: () =>
        o.log.info('stream_connected', { server: o.link.server }, 'following my assignments'),
      onLost: (reason, retryInMs) =>
        o.log.warn(
          'stream_lost',
          { reason, retryInMs },
          `lost the assignment stream (${reason}); keeping everything running, reconnecting`,
        ),
    });
  }

  /** Adopts, starts the proxy, registers (or falls back to the saved list), then follows. */
  async start(): Promise<void> {
    const { log, runtime } = this.o;
    await mkdir(this.o.dataDir, { recursive: true, mode: 0o700 });
    await this.cache.open();
    const { adopted, dead } = await runtime.adopt();
    this.adoption = { adopted: adopted.length, dead };
    log.info(
      'adopted',
      { adopted: adopted.map((i) => ({ id: i.id, pid: i.pid, address: i.address })), dead },
      `adopted ${adopted.length} running instance(s)${dead.length > 0 ? `, ${dead.length} had died` : ''}`,
    );
    runtime.on('exited', (e) => void this.onExit(e.id, e.code, e.signal, e.error));
    runtime.on('restarted', (i) => {
      this.health.reset(i.id);
      log.info('restarted', { id: i.id, pid: i.pid }, `${i.id} restarted as pid ${i.pid}`);
      this.wake();
    });
    if (this.o.startProxy !== null) {
      this.proxy = await this.o.startProxy();
      log.info(
        'proxy_started',
        { pid: this.proxy.pid() },
        `proxy running, pid ${this.proxy.pid()}`,
      );
    }
    if (await this.register(true)) await this.reportDead(dead);
    else await this.fallBackToSaved();
    this.stream.start();
    this.loops.push(this.heartbeats(), this.statsLoop(), this.ticks());
  }

  /**
   * Stops following. Instances run on unless `stopInstances`; the proxy stops, unless
   * `keepProxy`: then it runs on with them (they call out through it, and the host's edge serves
   * through it) for the next agent to keep.
   */
  async stop(options: { stopInstances?: boolean; keepProxy?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const wake of this.sleepers) wake();
    await this.stream.stop();
    await Promise.all(this.loops);
    await this.rounds;
    await this.saving;
    await this.health.stop();
    if (options.keepProxy === true) await this.proxy?.leave().catch(() => {});
    else await this.proxy?.stop(PROXY_STOP_DEADLINE_MS).catch(() => {});
    const { runtime } = this.o;
    if (options.stopInstances === true) {
      const ids = runtime.list().map((i) => i.id);
      await Promise.all(ids.map((id) => runtime.stop(id).catch(() => {})));
      // Said while the server may still listen (best effort): what it last heard, running at an
      // address, is no longer true, and the next start must not take it for the truth.
      if (this.registered) await this.reportDead(ids);
    }
    await runtime.close();
  }

  /** What start() adopted (null before): running instances kept, ids that had died. */
  get adopted(): { adopted: number; dead: string[] } | null {
    return this.adoption;
  }

  /**
   * Instances that died while no agent ran are reported stopped before anything is reconciled
   * (and those stop() ended, as it ends them):
   * their last report (running, at an address) is no longer true, and an engine taking it for the
   * truth would neither restart nor re-register them. Reconciling then starts them again.
   */
  private async reportDead(dead: readonly string[]): Promise<void> {
    for (const id of dead) {
      const note = this.notes.get(id);
      await this.report(id, {
        phase: 'stopped',
        address: null,
        pid: null,
        startedAt: null,
        restarts: 0,
        health: 'unknown',
        lastExit: note?.lastExit ?? null,
        error: null,
        logTail: await this.logTail(id),
        step: null,
        download: null,
      });
    }
  }

  /** Whether it is registered now (for tests and the summary). */
  get isRegistered(): boolean {
    return this.registered;
  }

  /**
   * Registers and heartbeats once; false when the server could not be told (it is away). At
   * start, a server that answers but refuses the token ends the start: no retry will change its
   * answer, and it is the operator's to fix. Later (the server forgot the host) it is retried like
   * any other failure, with everything kept running.
   */
  private async register(atStart = false): Promise<boolean> {
    const { link, name, advertise, labels, capacity, log } = this.o;
    try {
      await link.register(name, { address: advertise, labels, capacity });
      await link.heartbeat(name, this.o.ttlMs);
    } catch (error) {
      const code = codeOf(error);
      if (atStart && (code === 'unauthorized' || code === 'forbidden'))
        throw new TurnoutError(
          code,
          `--token: ${link.server} refused host ${name}'s token (${code}): ${message(error)}`,
          '--token',
        );
      log.warn(
        'register_failed',
        { reason: message(error), code },
        `could not register host ${name}: ${message(error)}`,
      );
      return false;
    }
    this.registered = true;
    this.resendReports();
    log.info(
      'registered',
      { host: name, address: advertise, labels, capacity, server: link.server },
      `registered host ${name} (${advertise}) with ${link.server}`,
    );
    return true;
  }

  /** The server is away at start: act on the last list it sent, if any. */
  private async fallBackToSaved(): Promise<void> {
    let saved: Awaited<ReturnType<typeof loadAssignments>>;
    try {
      saved = await loadAssignments(this.o.dataDir);
    } catch (error) {
      this.o.log.error('saved_assignments_unreadable', { reason: message(error) }, message(error));
      return;
    }
    if (saved === null || this.assignments !== null) return;
    this.assignments = saved.assignments.filter((a) => a.host === this.o.name);
    this.o.log.info(
      'running_saved_assignments',
      { count: this.assignments.length, savedAt: saved.savedAt },
      `server unreachable: running the ${this.assignments.length} assignment(s) saved at ${saved.savedAt ?? 'an unknown time'}`,
    );
    this.wake();
  }

  private async onList(list: Assignment[], version: number | null): Promise<void> {
    const mine = list.filter((a) => a.host === this.o.name);
    this.assignments = mine;
    this.o.log.info(
      'assignments',
      { version, count: mine.length, run: mine.filter((a) => a.desired === 'run').length },
      `${mine.filter((a) => a.desired === 'run').length} assignment(s) to run, ${mine.filter((a) => a.desired === 'stop').length} to stop`,
    );
    this.wake();
    // One save at a time, in order: two at once share the temporary file's name (`<pid>.tmp`),
    // and the second rename finds it gone.
    this.saving = this.saving.then(() => this.save(mine, version));
    await this.saving;
  }

  private async save(mine: Assignment[], version: number | null): Promise<void> {
    const json = JSON.stringify(mine);
    if (json === this.savedJson) return;
    try {
      await saveAssignments(this.o.dataDir, mine, version);
      this.savedJson = json;
    } catch (error) {
      this.o.log.error('save_failed', { reason: message(error) }, message(error));
    }
  }

  // ---- reconciling -------------------------------------------------------------------------

  /** Asks for a round; rounds never overlap, and one asked for during a round runs after it. */
  private wake(): void {
    if (this.stopped) return;
    if (this.roundQueued) {
      this.again = true;
      return;
    }
    this.roundQueued = true;
    this.rounds = this.rounds.then(async () => {
      do {
        this.again = false;
        await this.round().catch((error) =>
          this.o.log.error('round_failed', { reason: message(error) }, message(error)),
        );
      } while (this.again && !this.stopped);
      this.roundQueued = false;
    });
  }

  private async round(): Promise<void> {
    const assignments = this.assignments;
    // Nothing known yet (no server, no saved list): never stop what runs on no information.
    if (assignments === null || this.stopped) return;
    const running = this.o.runtime.list();
    this.syncHealth(assignments);
    const actions = reconcile(assignments, {
      running,
      health: new Map(running.map((r) => [r.id, this.health.verdict(r.id)])),
      notes: this.notes,
      reported: this.reported,
      starting: this.starting,
      stopping: this.stopping,
      nowMs: this.now(),
      advertise: this.o.advertise,
    });
    for (const action of actions) this.act(action);
    this.refreshReports(assignments, actions);
    this.forgetGone(
      assignments,
      running.map((r) => r.id),
    );
  }

  private act(action: Action): void {
    if (action.kind === 'start') void this.startOne(action.assignment);
    else if (action.kind === 'stop') void this.stopOne(action.id, action.reason);
    else void this.report(action.id, action.status);
  }

  /**
   * Sends an unchanged status again once it is a ttl old. Reports are idempotent and cheap (not
   * audited, not counted), and this closes a gap: a health verdict reported before the engine
   * registered the instance row (it does so once the assignment runs) reaches that row now.
   */
  private refreshReports(assignments: readonly Assignment[], actions: readonly Action[]): void {
    const now = this.now();
    const busy = new Set(actions.map((a) => (a.kind === 'start' ? a.assignment.id : a.id)));
    for (const a of assignments) {
      const status = this.reported.get(a.id);
      const at = this.reportedAtMs.get(a.id) ?? now;
      if (status !== undefined && !busy.has(a.id) && now - at >= this.o.ttlMs) {
        void this.refreshReport(a.id, status);
      }
    }
  }

  /**
   * One status sent again; a running instance's with its log's tail read now (`turnout logs` in
   * a fleet shows what the agent last reported). The tail goes into the instance's note too, so
   * the next round's status is the same as this report and is not sent again.
   */
  private async refreshReport(id: string, status: StatusReport): Promise<void> {
    if (status.phase !== 'running') return this.report(id, status, true);
    const logTail = await this.logTail(id);
    const note = this.notes.get(id);
    this.notes.set(id, { lastExit: null, error: null, retryAtMs: null, ...note, logTail });
    return this.report(id, { ...status, logTail }, true);
  }

  /**
   * After a (re-)registration or a lapse of heartbeats, every status is sent again at the next
   * round: a host whose lease ran out had its instances marked unhealthy, and only a report brings
   * them back into routing.
   */
  private resendReports(): void {
    for (const id of this.reportedAtMs.keys()) this.reportedAtMs.set(id, Number.NEGATIVE_INFINITY);
    this.wake();
  }

  /** Probes what runs for a run assignment of its version (the assignment says how). */
  private syncHealth(assignments: readonly Assignment[]): void {
    const byId = new Map(assignments.map((a) => [a.id, a]));
    const targets = [];
    for (const r of this.o.runtime.list()) {
      const a = byId.get(r.id);
      if (a === undefined || a.desired !== 'run' || a.health === null) continue;
      if (a.module !== r.module || a.version !== r.version) continue;
      targets.push({ id: r.id, address: r.address, health: a.health });
    }
    this.health.sync(targets);
  }

  /** Memory of ids neither assigned nor running any more. */
  private forgetGone(assignments: readonly Assignment[], running: readonly string[]): void {
    const keep = new Set([...assignments.map((a) => a.id), ...running]);
    for (const map of [this.reported, this.reportedAtMs, this.notes, this.startFailures]) {
      for (const id of map.keys()) if (!keep.has(id)) map.delete(id);
    }
  }

  private async startOne(a: Assignment): Promise<void> {
    this.starting.add(a.id);
    try {
      this.progress(a.id, 'check', null);
      const run = a.artifact === null ? a.run : await this.unpacked(a, a.artifact);
      this.progress(a.id, 'start', null);
      const spec = { id: a.id, module: a.module, version: a.version, run };
      const r = await this.o.runtime.start(spec);
      this.startFailures.delete(a.id);
      const note = this.notes.get(a.id);
      if (note !== undefined) this.notes.set(a.id, { ...note, error: null, retryAtMs: null });
      this.o.log.info(
        'started',
        { id: a.id, module: a.module, version: a.version, pid: r.pid, address: r.address },
        `started ${a.id} (${a.module} ${a.version}) at ${r.address}, pid ${r.pid}`,
      );
    } catch (error) {
      const failures = (this.startFailures.get(a.id) ?? 0) + 1;
      this.startFailures.set(a.id, failures);
      const delay = Math.min(START_RETRY.maxMs, START_RETRY.initialMs * 2 ** (failures - 1));
      this.notes.set(a.id, {
        lastExit: this.notes.get(a.id)?.lastExit ?? null,
        logTail: await this.logTail(a.id),
        error: message(error).slice(0, 2000), // the report's bound
        retryAtMs: this.now() + delay,
        step: error instanceof StepError ? error.step : 'start',
      });
      this.o.log.warn(
        'start_failed',
        { id: a.id, reason: message(error), failures, retryInMs: delay },
        `could not start ${a.id}: ${message(error)}; trying again in ${delay} ms`,
      );
    } finally {
      this.starting.delete(a.id);
      this.wake();
    }
  }

  /** The run inside the assignment's unpacked artifact (downloaded first if not cached). */
  private async unpacked(
    a: Assignment,
    artifact: NonNullable<Assignment['artifact']>,
  ): Promise<Assignment['run']> {
    const dir = await prepareArtifact(artifact, {
      host: this.o.name,
      link: this.o.link,
      cache: this.cache,
      downloads: this.downloads,
      maxDownloadBytes: this.o.artifacts?.maxDownloadBytes ?? MAX_DOWNLOAD_BYTES,
      onStep: (step, download) => this.progress(a.id, step, download),
      sleep: (ms) => this.sleep(ms),
      stopped: () => this.stopped,
    });
    const removed = await this.cache.evict(this.artifactsInUse()).catch(() => []);
    if (removed.length > 0)
      this.o.log.info('artifacts_evicted', { removed }, `cache: removed ${removed.join(', ')}`);
    return runInside(dir, a.run, this.o.name);
  }

  /** Artifacts the cache must keep: those of this host's run assignments. */
  private artifactsInUse(): Set<string> {
    const inUse = new Set<string>();
    for (const a of this.assignments ?? [])
      if (a.desired === 'run' && a.artifact !== null) inUse.add(a.artifact.sha256);
    return inUse;
  }

  /** Reports where a start is (pending, at `step`); the latest wins when reports queue. */
  private progress(id: string, step: StatusReport['step'], download: DownloadProgress | null) {
    const lastExit = this.notes.get(id)?.lastExit ?? null;
    const status: StatusReport = { ...idle('pending'), lastExit, step, download };
    if (this.reporting.has(id)) this.nextReport.set(id, status);
    else void this.report(id, status, true);
  }

  private async stopOne(id: string, reason: StopReason): Promise<void> {
    this.stopping.add(id);
    try {
      await this.o.runtime.stop(id);
      // Its last lines, read now that it has stopped, go with the stopped report: the server keeps
      // them (in the audit log's copy of the deleted assignment) for `turnout logs` after a stop.
      const logTail = await this.logTail(id);
      const note = this.notes.get(id);
      this.notes.set(id, { lastExit: null, error: null, retryAtMs: null, ...note, logTail });
      const why = {
        desired_stop: 'its assignment says stop',
        unassigned: 'no assignment names it',
        other_version: 'its assignment is for another version',
        moved: `it listens on another address than ${this.o.advertise}; starting it there`,
      }[reason];
      this.o.log.info('stopped', { id, reason }, `stopped ${id}: ${why}`);
    } catch (error) {
      this.o.log.error(
        'stop_failed',
        { id, reason: message(error) },
        `could not stop ${id}: ${message(error)}`,
      );
    } finally {
      this.stopping.delete(id);
      this.wake();
    }
  }

  /** One report at a time per id; a failed one is retried by a later round (nothing recorded). */
  private async report(id: string, status: StatusReport, refresh = false): Promise<void> {
    if (this.reporting.has(id)) return;
    this.reporting.add(id);
    try {
      await this.o.link.report(this.o.name, id, status);
      this.reported.set(id, status);
      this.reportedAtMs.set(id, this.now());
      this.reportsFailing = false;
      if (!refresh) this.o.log.info('reported', { id, status }, `${id}: ${describeStatus(status)}`);
    } catch (error) {
      const gone = codeOf(error) === 'not_found';
      if (gone) this.reported.set(id, status); // deleted on the server: nothing to report to
      if (gone || !this.reportsFailing)
        this.o.log.warn(
          'report_failed',
          { id, reason: message(error), code: codeOf(error) },
          `could not report ${id}: ${message(error)}`,
        );
      if (!gone) this.reportsFailing = true;
    } finally {
      this.reporting.delete(id);
      const next = this.nextReport.get(id);
      this.nextReport.delete(id);
      if (next !== undefined && this.starting.has(id)) void this.report(id, next, true);
    }
  }

  private onHealth(id: string, verdict: HealthVerdict, detail: string): void {
    this.o.log.info('health', { id, health: verdict, detail }, `${id} is ${verdict} (${detail})`);
    this.wake();
  }

  private async onExit(
    id: string,
    code: number | null,
    signal: string | null,
    error: string | undefined,
  ): Promise<void> {
    const lastExit = { code, signal, at: new Date(this.now()).toISOString() };
    const note = this.notes.get(id);
    this.notes.set(id, {
      lastExit,
      logTail: await this.logTail(id),
      error: note?.error ?? null,
      retryAtMs: note?.retryAtMs ?? null,
    });
    const how = error ?? (signal === null ? `code ${code ?? 'unknown'}` : `signal ${signal}`);
    this.o.log.warn('exited', { id, code, signal, error }, `${id} exited (${how}); restarting it`);
    this.wake();
  }

  private async logTail(id: string): Promise<string[]> {
    const text = await this.o.runtime.logs(id, { tailLines: LOG_TAIL_LINES }).catch(() => '');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .slice(-LOG_TAIL_LINES)
      .map((l) => l.slice(0, LOG_LINE_CHARS));
  }

  // ---- loops -------------------------------------------------------------------------------

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.timers.add(timer);
      this.sleepers.add(done);
    });
  }

  /** Every ttl/3; after a failure sooner, backing off; re-registers when the server forgot us. */
  private async heartbeats(): Promise<void> {
    const { link, name, ttlMs, log } = this.o;
    let failures = 0;
    await this.sleep(ttlMs / 3);
    while (!this.stopped) {
      try {
        if (!this.registered && !(await this.register())) throw new Error('not registered');
        await link.heartbeat(name, ttlMs);
        if (failures > 0) {
          this.resendReports();
          log.info(
            'heartbeat_resumed',
            { failures },
            `heartbeats resumed after ${failures} failure(s)`,
          );
        }
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        failures++;
        if (codeOf(error) === 'not_found') this.registered = false;
        if (failures === 1) {
          log.warn(
            'heartbeat_failed',
            { reason: message(error), code: codeOf(error) },
            `heartbeat failed (${message(error)}); keeping everything running, retrying`,
          );
        }
      }
      const backoff = Math.min(
        HEARTBEAT_RETRY.maxMs,
        HEARTBEAT_RETRY.initialMs * 2 ** Math.min(failures, 20),
      );
      await this.sleep(failures === 0 ? ttlMs / 3 : Math.min(backoff, ttlMs / 3));
    }
  }

  /** The proxy's /stats, pushed to the server every second (skipped while either is away). */
  private async statsLoop(): Promise<void> {
    const admin = this.o.proxyAdminUrl;
    if (admin === null) return;
    const every = this.o.statsIntervalMs ?? 1000;
    let failing = false;
    while (!this.stopped) {
      await this.sleep(every);
      if (this.stopped || !this.registered) continue;
      try {
        const res = await request(`${admin}/stats`, {
          headersTimeout: every,
          bodyTimeout: every,
        });
        const stats = (await res.body.json()) as unknown;
        if (res.statusCode !== 200) throw new Error(`proxy /stats answered HTTP ${res.statusCode}`);
        await this.o.link.stats(this.o.name, stats);
        failing = false;
      } catch (error) {
        if (!failing) {
          this.o.log.warn(
            'stats_push_failed',
            { reason: message(error) },
            `could not push the proxy's stats: ${message(error)}`,
          );
        }
        failing = true;
      }
    }
  }

  /** A round every tick: retries of failed starts and reports come due without another event. */
  private async ticks(): Promise<void> {
    while (!this.stopped) {
      await this.sleep(this.o.tickMs ?? 1000);
      this.wake();
    }
  }
}

function describeStatus(s: StatusReport): string {
  if (s.phase === 'running') return `running at ${s.address}, pid ${s.pid}, ${s.health}`;
  if (s.phase === 'failed') return `failed: ${s.error ?? 'unknown error'}`;
  return s.phase;
}
