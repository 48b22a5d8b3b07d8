// When a page's load could not reach the control plane (a network blip, the machine's interfaces
// changing under the browser, the API restarting), the page asks again by itself: otherwise
// nothing would until the next live event, which on a quiet system can be a long time coming.
// Only unreachable (no answer at all): an answer with an error status is the API's word, shown
// as it is.

const FIRST_MS = 1_000;
const MAX_MS = 15_000;

/** The wait before the next try after `failures` unreachable loads in a row (1 s, 2 s, … 15 s). */
export function retryDelayMs(failures: number): number {
  if (failures < 1) return 0;
  return Math.min(FIRST_MS * 2 ** Math.min(failures - 1, 30), MAX_MS);
}

/** Whether a failed load is worth trying again by itself: the control plane did not answer. */
export function isUnreachable(error: unknown): boolean {
  // An ApiError's code (api.ts), read structurally: this file stays free of the DOM for its tests.
  return (error as { code?: unknown } | null)?.code === 'unreachable';
}
