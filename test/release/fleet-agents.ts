// The agents' side of the fleet protocol (docs/placement.md, the fleet contract), played by a test
// on a real store: each host heartbeats (its lease and its instances' leases), follows its
// assignments (desired run → reports running at an address of its own; desired stop → reports
// stopped), and reports its instances healthy, with what the report route writes to the instance
// row in the same transaction (healthPatch: health healthy, starting → ready). This is the protocol, not a mock of Turnout
// code: no process runs, so a test decides when a host goes quiet or fails a start.

import { healthPatch } from '../../src/api/routes/assignments.js';
import type { Store } from '../../src/store/store.js';

const TTL_MS = 60_000;

export interface PlayedHost {
  readonly name: string;
  readonly zone: string;
  readonly address: string;
}

export class PlayedAgents {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private nextPort = 20_000;
  /** Hosts whose agent is silent (killed or cut off): no heartbeat, no report. */
  readonly silent = new Set<string>();
  /** Starts that fail on their host: instance id → the error the agent reports. */
  readonly failing = new Map<string, string>();
  /**
   * Instances that crash on start, over and over: instance id → the exit code and the line each
   * run prints. Every round reports one more exit and restart (as an agent's ProcessRuntime
   * would), never healthy.
   */
  readonly crashing = new Map<string, { code: number; line: string }>();
  /**
   * Report each instance's health once, with its first report, as `turnout agent` does (it
   * reports on a change): often before the engine has recorded the instance. Default: every round.
   */
  reportOnce = false;

  constructor(
    private readonly store: Store,
    readonly hosts: readonly PlayedHost[],
  ) {}

  /** Registers every host and heartbeats once. */
  async register(): Promise<void> {
    for (const h of this.hosts)
      await this.store.registerHost(
        { name: h.name, address: h.address, labels: { zone: h.zone } },
        `agent:${h.name}`,
      );
    await this.step();
  }

  /** Plays every host every `everyMs` until stop(). */
  start(everyMs = 15): void {
    this.timer = setInterval(() => {
      this.running ??= this.step().finally(() => {
        this.running = null;
      });
    }, everyMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round of every agent that is not silent. */
  async step(): Promise<void> {
    for (const h of this.hosts) if (!this.silent.has(h.name)) await this.play(h);
  }

  private async play(h: PlayedHost): Promise<void> {
    const until = new Date(Date.now() + TTL_MS).toISOString();
    const actor = `agent:${h.name}`;
    await this.store.renewHostLease(h.name, until, actor);
    const mine = (await this.store.listInstances({ host: h.name, limit: 1000 })).items;
    await this.store.renewLeases(
      mine.filter((i) => i.state !== 'stopped').map((i) => i.id),
      until,
    );
    for (const a of await this.store.listAssignments({ host: h.name })) {
      const { reportedAt: _r, ...status } = a.status;
      if (a.desired === 'stop' && a.status.phase !== 'stopped') {
        await this.store.reportAssignment(a.id, h.name, { ...status, phase: 'stopped' });
      } else if (a.desired === 'run' && a.status.phase === 'pending') {
        const error = this.failing.get(a.id);
        await this.store.reportAssignment(
          a.id,
          h.name,
          error === undefined
            ? {
                phase: 'running',
                address: `${h.address}:${this.nextPort++}`,
                pid: 4242,
                startedAt: new Date().toISOString(),
                // A crashing instance never answers a probe: its first report is no verdict (the
                // engine takes a reported verdict when it registers the instance).
                health: this.crashing.has(a.id) ? 'unknown' : 'healthy',
              }
            : { phase: 'failed', error, logTail: ['boot', `fatal: ${error}`] },
        );
      } else if (a.desired === 'run' && a.status.phase === 'running' && this.crashing.has(a.id)) {
        const crash = this.crashing.get(a.id) as { code: number; line: string };
        // The first exit is not restarted yet; each later one followed a restart.
        const restarts = a.status.lastExit === null ? 0 : a.status.restarts + 1;
        await this.store.reportAssignment(a.id, h.name, {
          ...status,
          health: 'unknown',
          restarts,
          lastExit: { code: crash.code, signal: null, at: new Date().toISOString() },
          logTail: [...status.logTail, crash.line].slice(-20),
        });
      } else if (a.desired === 'run' && a.status.phase === 'running' && !this.reportOnce) {
        // A health report, written as the report route writes it (routes/assignments.ts).
        await this.store.transaction(async (tx) => {
          await tx.reportAssignment(a.id, h.name, status);
          const i = await tx.getInstance(a.id);
          if (i === null || i.host !== h.name) return;
          const patch = healthPatch(i, status.health);
          if (patch !== null) await tx.updateInstance(a.id, patch, actor);
        });
      }
    }
  }
}
