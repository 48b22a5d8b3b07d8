// A per-endpoint cap on requests in flight, so one slow endpoint cannot absorb unbounded memory
// and sockets; the balancer skips endpoints at the cap, and the proxy sheds load when all are.

import type { EndpointState } from './endpoint-state.js';

export const DEFAULT_PENDING_LIMIT = 1_000;

/** Whether the endpoint may take one more request. */
export function canAccept(
  state: Pick<EndpointState, 'inflight'>,
  cap: number = DEFAULT_PENDING_LIMIT,
): boolean {
  return state.inflight < cap;
}
