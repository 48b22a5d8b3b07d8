// Why a deploy's instances are not ready, from the runtime's view of each (Runtime.health): the
// failure message names every one with its last exit, its restarts, its last log lines and the
// command that shows more; and a level whose every instance keeps crashing fails at once rather
// than after readyTimeoutMs. Pure: the engine reads the health, reconcile() decides.

import type { InstanceHealth } from '../runtime/runtime.js';
import { quote } from '../safe-text.js';
import type { Instance } from '../store/model.js';

/** Exits after which an instance that is not ready counts as crash-looping (EngineOptions). */
export const CRASH_LOOP_EXITS = 3;

/** How much of one log line a message quotes (escaped; a longer line is cut). */
const LOG_LINE_MAX = 120;

/** What the engine read of the level's instances: health by id, and the crash-loop threshold. */
export interface HealthView {
  readonly of: ReadonlyMap<string, InstanceHealth>;
  readonly crashLoopExits: number;
}

/** One instance that is not ready, as the deploy.failed event lists it. */
export interface NotReady {
  readonly id: string;
  readonly exits: number | null;
  readonly restarts: number | null;
  readonly lastExit: string | null;
  readonly log: readonly string[];
  readonly logs: string;
}

function exitText(exit: InstanceHealth['lastExit']): string | null {
  if (exit === null) return null;
  if (exit.signal !== null) return `signal ${exit.signal}`;
  return exit.code === null ? 'an unknown status' : `code ${exit.code}`;
}

export function notReady(id: string, h: InstanceHealth | undefined): NotReady {
  return {
    id,
    exits: h?.exits ?? null,
    restarts: h?.restarts ?? null,
    lastExit: h === undefined ? null : exitText(h.lastExit),
    log: (h?.logTail ?? []).map((l) => quote(l, LOG_LINE_MAX)),
    logs: `turnout logs ${id}`,
  };
}

/**
 * One instance in a failure message: `orders-2.0.0-0 exited 3 times, last with code 3, 2
 * restarts, last log lines "boom" / "bye"; see \`turnout logs orders-2.0.0-0\``.
 */
export function describeNotReady(n: NotReady): string {
  if (n.exits === null) return `${n.id} is not ready, no exit known; see \`${n.logs}\``;
  const parts = [
    n.exits === 0
      ? `${n.id} runs but is not ready (no exit)`
      : `${n.id} exited ${n.exits} ${n.exits === 1 ? 'time' : 'times'}`,
  ];
  if (n.lastExit !== null) parts.push(`last with ${n.lastExit}`);
  if (n.restarts !== null) parts.push(`${n.restarts} ${n.restarts === 1 ? 'restart' : 'restarts'}`);
  parts.push(n.log.length === 0 ? 'no log lines' : `last log lines ${n.log.join(' / ')}`);
  return `${parts.join(', ')}; see \`${n.logs}\``;
}

/** How many instances a failure message names; the deploy.failed event lists every one. */
const NAMED_MAX = 3;

/** The failure message: `why`, then the first NAMED_MAX instances not ready, each described. */
export function failureMessage(why: string, instances: readonly NotReady[]): string {
  if (instances.length === 0) return why;
  const named = instances.slice(0, NAMED_MAX).map(describeNotReady);
  const more = instances.length - named.length;
  if (more > 0) named.push(`and ${more} more not ready (the deploy.failed event lists them)`);
  return `${why}: ${named.join('; ')}`;
}

/** The live instances of the short items that are not ready, each as the failure names it. */
export function notReadyOf(
  live: readonly Instance[],
  ready: (i: Instance) => boolean,
  health: HealthView | undefined,
): NotReady[] {
  return live.filter((i) => !ready(i)).map((i) => notReady(i.id, health?.of.get(i.id)));
}

/**
 * Whether every instance of a level keeps crashing: there is at least one, none is ready, and each
 * has exited at least crashLoopExits times, the last of them since the level started (an exit from
 * before, an earlier deploy's, says nothing of this one).
 */
export function crashLooping(
  instances: readonly Instance[],
  ready: (i: Instance) => boolean,
  health: HealthView | undefined,
  levelStartedAt: number,
): boolean {
  if (health === undefined || instances.length === 0 || instances.some(ready)) return false;
  return instances.every((i) => {
    const h = health.of.get(i.id);
    if (h === undefined || h.lastExit === null) return false;
    return h.exits >= health.crashLoopExits && Date.parse(h.lastExit.at) >= levelStartedAt;
  });
}
