// Namers (reference §6.2): what a path means when no dentry rewrote it. The global `/$/` namers
// are a fixed registry — Turnout never loads code by name — and Turnout's own `/v` namer binds
// `/v/<module>/<version>` to that version's ready endpoints, given as data.

import { TurnoutError } from '../errors.js';
import type { Path } from './path.js';
import { EMPTY_PATH, elemText, showElem, showPath } from './path.js';
import type { Bound, NameTree } from './tree.js';
import { EMPTY, FAIL, NEG } from './tree.js';

/** A name tree mid-binding: leaves are still paths, or already bound names. */
export type Name = Path | Bound;

export type NamerResult =
  | { readonly state: 'ok'; readonly tree: NameTree<Name> }
  | { readonly state: 'pending' }
  | { readonly state: 'failed'; readonly error: TurnoutError };

export interface Namer {
  /** The paths this namer answers for; it receives what follows. */
  readonly prefix: Path;
  /** A short human name for explanations, e.g. `versions`. */
  readonly label: string;
  lookup(residual: Path): NamerResult;
}

export const OK_NEG: NamerResult = Object.freeze({ state: 'ok', tree: NEG });
const OK_FAIL: NamerResult = Object.freeze({ state: 'ok', tree: FAIL });
const OK_EMPTY: NamerResult = Object.freeze({ state: 'ok', tree: EMPTY });

function ok(tree: NameTree<Name>): NamerResult {
  return { state: 'ok', tree };
}

function failed(error: TurnoutError): NamerResult {
  return { state: 'failed', error };
}

/** Java's `String.toInt` as Finagle's IntegerString uses it: optional sign, decimal digits, int range. */
function integerString(text: string | null): number | null {
  if (text === null || !/^[-+]?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= -2147483648 && n <= 2147483647 ? n : null;
}

function inet(kind: string, path: Path): NamerResult {
  const hostPort = integerString(elemText(path[3] ?? ''));
  const bare = integerString(elemText(path[2] ?? ''));
  let host: string;
  let port: number;
  let used: number;
  if (path.length >= 4 && hostPort !== null) {
    const hostText = elemText(path[2]!);
    if (hostText === null) {
      return failed(
        new TurnoutError('invalid_address', `${showPath(path)}: host is not valid UTF-8`),
      );
    }
    host = hostText;
    port = hostPort;
    used = 4;
  } else if (path.length >= 3 && bare !== null) {
    host = '';
    port = bare;
    used = 3;
  } else {
    return failed(
      new TurnoutError(
        'invalid_address',
        `${showPath(path)}: /$/${kind} needs <host>/<port> or <port>`,
      ),
    );
  }
  if (port < 0 || port > 65535) {
    return failed(
      new TurnoutError('invalid_address', `${showPath(path)}: port out of range: ${port}`),
    );
  }
  const bound: Bound = {
    kind: 'bound',
    id: path.slice(0, used),
    addrs: [`${host}:${port}`],
    residual: path.length > used ? path.slice(used) : EMPTY_PATH,
  };
  return ok({ kind: 'leaf', value: bound });
}

/**
 * `Namer.global`: `/$/inet`, `/$/fixedinet`, `/$/fail`, `/$/nil`; any other `/$/x` fails.
 * Every `/$/…` path is the global namer's, whatever its bytes: Finagle decodes elements leniently
 * (bad UTF-8 becomes U+FFFD), so `/$/fail/\xff` is `!` and `/$/\xff` an unknown namer, never `~`.
 */
export function globalLookup(path: Path): NamerResult {
  if (path.length < 2 || path[0] !== '$') return OK_NEG;
  const kind = path[1]!; // byte string: equal to an ASCII name only if its bytes are that name
  switch (kind) {
    case 'inet':
    case 'fixedinet':
      return inet(kind, path);
    case 'fail':
      return OK_FAIL;
    case 'nil':
      return OK_EMPTY;
    default:
      return failed(
        new TurnoutError(
          'unknown_namer',
          `unknown namer /$/${showElem(kind)}: only /$/inet, /$/fixedinet, /$/fail and /$/nil exist (Turnout never loads namers by name)`,
        ),
      );
  }
}

/** Ready endpoints of one version: addresses, or 'pending' when that data is not known yet. */
export type EndpointLookup = (
  module: string,
  version: string,
) => readonly string[] | 'pending' | undefined;

/**
 * Turnout's namer for `/v/<module>/<version>[/residual]`: binds to the version's ready endpoints,
 * and to `~` when it has none, so an alternation (a lane over stable) falls through.
 */
export function versionNamer(endpoints: EndpointLookup, prefix: Path = ['v']): Namer {
  return {
    prefix,
    label: 'versions',
    lookup(residual: Path): NamerResult {
      if (residual.length < 2) return OK_NEG;
      const module = residual[0]!;
      const version = residual[1]!;
      const addrs = endpoints(module, version);
      if (addrs === 'pending') return { state: 'pending' };
      if (addrs === undefined || addrs.length === 0) return OK_NEG;
      const bound: Bound = {
        kind: 'bound',
        id: [...prefix, module, version],
        addrs,
        residual: residual.length > 2 ? residual.slice(2) : EMPTY_PATH,
      };
      return ok({ kind: 'leaf', value: bound });
    },
  };
}

/** Endpoint data as a plain map: `module → version → addresses`. */
export function endpointsFromMap(
  map: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>,
): EndpointLookup {
  return (module, version) => map.get(module)?.get(version);
}
