// "Wait until instance X is ready", for the release engine and tests: the health checker records
// readiness in the store, so waiting is watching the store. Polls the change counter (one cheap
// query) and re-reads the instance only when it moved, so many waiters cost little.

import { takesTraffic } from '../store/endpoint.js';
import type { Instance } from '../store/model.js';
import type { StoreReads } from '../store/store.js';

/** Ready to take traffic now: the one definition (src/store/endpoint.ts, takesTraffic). */
export function isReady(instance: Instance | null): boolean {
  return instance !== null && takesTraffic(instance, Date.now());
}

export type WaitOutcome =
  /** `instance` as last read (null: it does not exist). */
  | { readonly ok: true; readonly instance: Instance | null }
  | {
      readonly ok: false;
      readonly reason: 'timeout' | 'aborted';
      readonly instance: Instance | null;
    };

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Default 50. */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/** Resolves once `until(instance)` holds, or when the time is up or `signal` aborts. */
export async function waitForInstance(
  store: Pick<StoreReads, 'changeVersion' | 'getInstance'>,
  id: string,
  options: WaitOptions,
  until: (instance: Instance | null) => boolean = isReady,
): Promise<WaitOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 50;
  let seen: number | null = null;
  let instance: Instance | null = null;
  for (;;) {
    const version = await store.changeVersion();
    if (version !== seen) {
      seen = version;
      instance = await store.getInstance(id);
      if (until(instance)) return { ok: true, instance };
    }
    if (options.signal?.aborted) return { ok: false, reason: 'aborted', instance };
    if (Date.now() >= deadline) return { ok: false, reason: 'timeout', instance };
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
  }
}
