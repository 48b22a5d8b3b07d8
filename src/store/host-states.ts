// A host's states as plain constants, apart from host-model.ts's schemas: the CLI checks
// `host list --state` against them at start-up without loading zod (start-up time is a goal:
// docs/cli-usage.md).

export const HOST_STATES = ['ready', 'cordoned', 'draining', 'down'] as const;
export type HostState = (typeof HOST_STATES)[number];
/** What an operator may set; `down` is the lease sweeper's to decide. */
export const OPERATOR_HOST_STATES = ['ready', 'cordoned', 'draining'] as const;
