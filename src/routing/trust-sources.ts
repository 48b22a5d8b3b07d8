// Where the edge may read a segment's or a sticky key's value from. Its own module, without zod, so
// the CLI can check `--trust` without loading the lane-rule schemas at start-up.

export const TRUST_SOURCES = ['trusted-hop', 'signed', 'any-client'] as const;

export type TrustSource = (typeof TRUST_SOURCES)[number];
/** Rules without a `trust` field read values only from trusted hops. */
export const DEFAULT_TRUST: TrustSource = 'trusted-hop';
