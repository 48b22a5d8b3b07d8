// Loads what a page shows, and loads it again when a live event of the given kinds arrives (one
// request in flight at a time; an event during it schedules exactly one more), or by itself after
// a load that could not reach the control plane (retry.ts).

import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiError } from './api';
import type { LiveKind } from './live';
import { useLive } from './live';
import { isUnreachable, retryDelayMs } from './retry';

export interface Resource<T> {
  data: T | null;
  error: ApiError | null;
  reload: () => void;
}

export function useResource<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  live: readonly LiveKind[] = ['change'],
): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const state = useRef({
    running: false,
    again: false,
    generation: 0,
    /** Unreachable loads in a row, and the timer of the next try after them. */
    failures: 0,
    retry: undefined as ReturnType<typeof setTimeout> | undefined,
  });
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(async () => {
    const s = state.current;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    const generation = s.generation;
    try {
      do {
        s.again = false;
        try {
          const value = await loadRef.current();
          if (generation !== s.generation) return;
          s.failures = 0;
          clearTimeout(s.retry); // loaded by an event meanwhile: the pending try is not needed
          setData(value);
          setError(null);
        } catch (e) {
          if (generation !== s.generation) return;
          setError(e as ApiError);
          if (isUnreachable(e)) {
            s.failures++;
            clearTimeout(s.retry);
            // `run` is stable (no deps): the timer may call the one this render made.
            s.retry = setTimeout(() => void run(), retryDelayMs(s.failures));
          }
        }
      } while (s.again);
    } finally {
      if (generation === s.generation) s.running = false;
    }
  }, []);

  // The caller's inputs are primitives (ids, names): their JSON is a stable effect key.
  const key = JSON.stringify(deps);
  // biome-ignore lint/correctness/useExhaustiveDependencies: key stands for deps; run is stable
  useEffect(() => {
    const s = state.current;
    // The cleanup below already dropped the previous inputs' load and pending try.
    s.running = false;
    s.failures = 0;
    setData(null);
    setError(null);
    void run();
    // Unmounted or new inputs: a pending try is for what is no longer shown.
    return () => {
      s.generation++;
      clearTimeout(s.retry);
    };
  }, [key]);

  useLive(live, () => void run());
  return { data, error, reload: () => void run() };
}
