// The routing core's public surface (`turnout/routing`): pure values and functions, no I/O.

// Lanes, context and edge assignment.
export type { CompiledLaneRules, EdgeRequest, LaneAssignment, LaneExplanation } from './assign.js';
export { assignLane, compileLaneRules, explainLaneAssignment } from './assign.js';
export type { BaggageMember } from './baggage.js';
export { parseBaggage, serializeBaggage, withTurnoutContext } from './baggage.js';
export type { BindOptions, BindResult } from './bind.js';
export { bind, DEFAULT_MAX_DEPTH, DEFAULT_MAX_LOOKUPS, lookupName } from './bind.js';
export type { RequestContext } from './context.js';
export { extractContext, isValidName } from './context.js';
export type { Dentry, Dtab, Prefix } from './dtab.js';
export {
  concatDtabs,
  EMPTY_DTAB,
  lookup,
  prefixMatches,
  showDentry,
  showDtab,
  showPrefix,
  simplifyDtab,
  stripPrefix,
  WILDCARD,
} from './dtab.js';
export type { ExplainResult, Explanation } from './explain.js';
export { explain } from './explain.js';
export { renderExplanation } from './explain-text.js';
export type { LaneRule } from './lane-rules.js';
export { effectiveDtab } from './lanes.js';
export type { EndpointLookup, Name, Namer, NamerResult } from './namers.js';
export { endpointsFromMap, globalLookup, versionNamer } from './namers.js';
export type { OverrideResult } from './override.js';
export { signOverride, verifyOverride } from './override.js';
export { parseDentry, parseDtab, parseNameTree, parsePath, parsePrefix } from './parser.js';
export type { Path } from './path.js';
export { EMPTY_PATH, showPath, utf8Path } from './path.js';
export type { ProductRouting, RouteDecision, Router } from './router.js';
export { createRouter, pickBound } from './router.js';
export type { SignedValueResult } from './signed-value.js';
export { signValue, verifySignedValue } from './signed-value.js';
export { DtabSyntaxError } from './syntax-error.js';
export type { Bound, NameTree, Weighted } from './tree.js';
export {
  alt,
  EMPTY,
  evaluate,
  FAIL,
  isBound,
  leaf,
  mapTree,
  NEG,
  showNameTree,
  simplify,
  treesEqual,
  union,
  weighted,
} from './tree.js';
export { formatWeight } from './weight.js';
