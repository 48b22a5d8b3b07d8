// The agent's local health prober: probes each instance running on this host at its module's
// health path and interval, with the control plane's own verdict rules (src/control/
// health-transition.ts: consecutive successes/failures against thresholds), and calls onChange
// only when an instance's verdict changes — the agent reports that, so the control plane never
// opens a connection into a host and the report route sees a change, not every probe.
//
// Until an instance first answers, a failed probe is followed by quick extra probes (100 ms,
// doubling) up to the next regular one: a process just started is rarely listening yet at the
// first probe, and waiting a whole interval (5 s by default) for the second one held every start
// of `up` and of a fleet that long. The extra probes' failures do not count (the regular probes'
// still do, at the interval, so "unhealthy" comes no sooner than before); their first success
// counts like any other.

import { Agent } from 'undici';
import type { ProbeResult } from '../control/health-checker.js';
import { probeOnce } from '../control/health-checker.js';
import type { ProbeCounters } from '../control/health-transition.js';
import { countProbe, NO_PROBES, verdictOf } from '../control/health-transition.js';
import type { HealthVerdict } from './assignment.js';

export interface ProbeTarget {
  readonly id: string;
  /** host:port */
  readonly address: string;
  readonly health: {
    readonly path: string;
    readonly intervalMs: number;
    readonly healthyThreshold?: number | undefined;
    readonly unhealthyThreshold?: number | undefined;
  };
}

export interface LocalHealthOptions {
  readonly onChange: (id: string, verdict: HealthVerdict, detail: string) => void;
  /** Upper bound of a probe's timeout (otherwise the interval). Default 2000. */
  readonly maxProbeTimeoutMs?: number;
}

/** The module defaults (src/store/model.ts healthSchema) when the assignment does not say. */
const DEFAULT_THRESHOLDS = { healthyThreshold: 1, unhealthyThreshold: 3 };
/** The first extra probe's delay while an instance has never answered; it doubles. */
const QUICK_FIRST_MS = 100;

interface Probed {
  target: ProbeTarget;
  counters: ProbeCounters;
  verdict: HealthVerdict;
  timer: NodeJS.Timeout | null;
  cancel: AbortController;
  /** Whether a probe has ever succeeded (no more extra probes then). */
  answered: boolean;
  /** When the next regular (counted) probe is due (ms). */
  dueMs: number;
  /** The next extra probe's delay. */
  quickMs: number;
}

export class LocalHealth {
  private readonly probed = new Map<string, Probed>();
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 2 });
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly options: LocalHealthOptions) {}

  /** Follows exactly `targets`: new ones are probed at once, gone ones forgotten. */
  sync(targets: readonly ProbeTarget[]): void {
    if (this.stopped) return;
    const wanted = new Map(targets.map((t) => [t.id, t]));
    for (const [id, p] of this.probed) {
      const next = wanted.get(id);
      // Another process (a restart: new address or pid reuses the port) or another health spec.
      if (next === undefined || !sameTarget(p.target, next)) this.forget(id);
    }
    for (const target of targets) {
      if (!this.probed.has(target.id)) this.follow(target);
    }
  }

  /** The verdict held for `id` ('unknown' before a threshold is reached, or when not followed). */
  verdict(id: string): HealthVerdict {
    return this.probed.get(id)?.verdict ?? 'unknown';
  }

  /** Forgets `id`'s counters and verdict: its process changed (a restart), it starts over. */
  reset(id: string): void {
    const p = this.probed.get(id);
    if (p === undefined) return;
    this.forget(id);
    if (!this.stopped) this.follow(p.target);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.probed.keys()]) this.forget(id);
    await Promise.all([...this.inFlight]);
    await this.agent.close();
  }

  private follow(target: ProbeTarget): void {
    const p: Probed = {
      target,
      counters: NO_PROBES,
      verdict: 'unknown',
      timer: null,
      cancel: new AbortController(),
      answered: false,
      dueMs: Date.now(),
      quickMs: QUICK_FIRST_MS,
    };
    this.probed.set(target.id, p);
    this.probe(p, true);
  }

  private forget(id: string): void {
    const p = this.probed.get(id);
    if (p === undefined) return;
    if (p.timer !== null) clearTimeout(p.timer);
    p.cancel.abort();
    this.probed.delete(id);
  }

  /** One probe; `regular`: the interval's own (its failure counts), else an extra one. */
  private probe(p: Probed, regular: boolean): void {
    const { address, health } = p.target;
    const url = `http://${address}${health.path}`;
    const timeoutMs = Math.min(health.intervalMs, this.options.maxProbeTimeoutMs ?? 2000);
    const run = probeOnce(this.agent, url, timeoutMs, p.cancel.signal)
      .then((result) => this.observe(p, result, regular))
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  private observe(p: Probed, result: ProbeResult, regular: boolean): void {
    if (this.probed.get(p.target.id) !== p) return; // forgotten meanwhile
    const h = p.target.health;
    const now = Date.now();
    if (result.ok) p.answered = true;
    if (regular || result.ok) {
      p.dueMs = now + h.intervalMs;
      this.count(p, result);
    }
    // Never answered yet: an extra probe soon, unless the regular one comes first.
    const untilDue = Math.max(0, p.dueMs - now);
    const quick = !p.answered && p.quickMs < untilDue;
    const delay = quick ? p.quickMs : untilDue;
    if (quick) p.quickMs *= 2;
    p.timer = setTimeout(() => this.probe(p, !quick), delay);
    p.timer.unref();
  }

  private count(p: Probed, result: ProbeResult): void {
    const h = p.target.health;
    p.counters = countProbe(p.counters, result.ok);
    const verdict = verdictOf(p.counters, {
      healthyThreshold: h.healthyThreshold ?? DEFAULT_THRESHOLDS.healthyThreshold,
      unhealthyThreshold: h.unhealthyThreshold ?? DEFAULT_THRESHOLDS.unhealthyThreshold,
    });
    if (verdict !== null && verdict !== p.verdict) {
      p.verdict = verdict;
      this.options.onChange(p.target.id, verdict, result.detail);
    }
  }
}

function sameTarget(a: ProbeTarget, b: ProbeTarget): boolean {
  return a.address === b.address && JSON.stringify(a.health) === JSON.stringify(b.health);
}
