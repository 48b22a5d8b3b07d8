// Carries out one host-failure step (host-failure.ts decides them) for the release engine: a
// replacement started through the fleet runtime and recorded (with the old instance retired in
// the same fenced transaction when its host was lost), or the old instance moved out. The engine
// passes its own fenced operations in, so every write here is fenced by its lease like the rest.

import type { Logger } from 'pino';
import type { FleetRuntime } from './fleet-runtime.js';
import type { Instance, InstanceState } from '../store/model.js';
import type { StartAction, Started } from './decide.js';
import type { HostStep } from './host-failure.js';

export interface HostStepOps {
  readonly fleet: FleetRuntime;
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /** Starts (or finds) the instance through the runtime: where it runs, or why it did not start. */
  spawn(action: StartAction): Promise<{ ok: Started; failure?: undefined } | { failure: string }>;
  /** Moves `i` to `to` if it is still as observed (fenced); whether it did. */
  move(i: Instance, to: InstanceState): Promise<boolean>;
  /** Records `started`, and when `retire`, marks `old` stopped, in one fenced transaction. */
  record(started: Started, old: Instance, retire: boolean): Promise<boolean>;
  /** `old` left routing now (the drain waits for proxies to apply this). */
  drainedNow(old: Instance): Promise<void>;
}

/** Whether the step wrote to the store. */
export async function carryOut(ops: HostStepOps, step: HostStep): Promise<boolean> {
  const { old } = step;
  const log = { instance: old.id, host: old.host };
  if (step.kind === 'drain') {
    if (!(await ops.move(old, 'draining'))) return false;
    await ops.drainedNow(old);
    ops.logger?.info({ event: 'instance_draining', ...log }, `host drain: draining ${old.id}`);
    return true;
  }
  if (step.kind === 'retire') {
    if (!(await ops.move(old, 'stopped'))) return false;
    await ops.fleet.release(old.id);
    ops.logger?.info({ event: 'instance_lost', ...log }, `host lost: ${old.id} stopped`);
    return true;
  }
  const { module, version } = old;
  const spawned = await ops.spawn({ kind: 'start', id: step.id, module, version });
  if (spawned.failure !== undefined) {
    ops.logger?.warn(
      { event: 'instance_replace_failed', ...log, reason: spawned.failure },
      `cannot replace ${old.id} yet: ${spawned.failure}`,
    );
    return false;
  }
  if (await ops.record(spawned.ok, old, step.retire)) await ops.fleet.release(old.id);
  const on = spawned.ok.host;
  ops.logger?.info(
    { event: 'instance_replaced', ...log, replacement: step.id, on },
    `${step.retire ? 'host lost' : 'host drain'}: ${old.id} replaced by ${step.id} on ${on}`,
  );
  return true;
}
