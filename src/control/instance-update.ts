// Writes a background decision (health checker, lease sweeper) about one instance without
// overwriting what someone else committed meanwhile: the decision is taken again inside the
// write's transaction, on the instance as it is then.
//
// The transaction starts with an empty update: it takes the store's writer lock (writers are
// serialized, see src/store/sql-context.ts) and answers the latest committed record while writing
// nothing ("an update that changes nothing writes nothing"). So a release engine that has just set
// `draining` is seen here, and the patch is recomputed against it.

import { TurnoutError } from '../errors.js';
import type { Instance, InstancePatch } from '../store/model.js';
import type { Store } from '../store/store.js';

/** Answers the updated instance, the unchanged one when `decide` says null, or null when gone. */
export async function updateInstanceIfStill(
  store: Store,
  id: string,
  decide: (fresh: Instance) => InstancePatch | null,
  actor: string,
): Promise<{ instance: Instance; changed: boolean } | null> {
  try {
    return await store.transaction(async (tx) => {
      const fresh = await tx.updateInstance(id, {}, actor);
      const patch = decide(fresh);
      if (patch === null) return { instance: fresh, changed: false };
      const changed = Object.entries(patch).some(([k, v]) => fresh[k as keyof InstancePatch] !== v);
      return { instance: await tx.updateInstance(id, patch, actor), changed };
    });
  } catch (error) {
    if (error instanceof TurnoutError && error.code === 'not_found') return null;
    throw error;
  }
}
