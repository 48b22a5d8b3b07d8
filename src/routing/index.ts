// The routing core's public surface (`turnout/routing`): pure values and functions, no I/O.

export type { BindOptions, BindResult } from './bind.js';
export { bind, DEFAULT_MAX_DEPTH, DEFAULT_MAX_LOOKUPS, lookupName } from './bind.js';
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
export type { EndpointLookup, Name, Namer, NamerResult } from './namers.js';
export { endpointsFromMap, globalLookup, versionNamer } from './namers.js';
export { parseDentry, parseDtab, parseNameTree, parsePath, parsePrefix } from './parser.js';
export type { Path } from './path.js';
export { EMPTY_PATH, showPath, utf8Path } from './path.js';
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
