// A lane overlay may only send traffic to versions that exist: `/v/orders/9.9.9` for a version
// never registered routes lane traffic nowhere, and was once accepted silently. Pure: the caller
// says which versions exist (the store in a request, the store plus the documents in an apply).

import { TurnoutError } from '../errors.js';
import { parseDtab } from '../routing/parser.js';
import type { Path } from '../routing/path.js';
import type { NameTree } from '../routing/tree.js';

export interface NamedVersion {
  /** The dentry, counted from 0, as `overlay[<index>]` names it. */
  index: number;
  module: string;
  version: string;
}

function leaves(tree: NameTree<Path>, out: Path[] = []): Path[] {
  if (tree.kind === 'leaf') out.push(tree.value);
  else if (tree.kind === 'alt') for (const t of tree.trees) leaves(t, out);
  else if (tree.kind === 'union') for (const b of tree.branches) leaves(b.tree, out);
  return out;
}

/** Every `/v/<module>/<version>…` destination of an overlay, in order (unparseable text: none). */
export function overlayVersions(overlay: string): NamedVersion[] {
  let dtab: ReturnType<typeof parseDtab>;
  try {
    dtab = parseDtab(overlay);
  } catch {
    return []; // the body schema reports a bad dtab itself
  }
  return dtab.flatMap((d, index) =>
    leaves(d.dst)
      .filter((p) => p.length >= 3 && p[0] === 'v')
      .map((p) => ({ index, module: String(p[1]), version: String(p[2]) })),
  );
}

/**
 * Throws `invalid_argument` naming `overlay[<index>]` (with `prefix`, e.g. for an apply document)
 * and the missing version when the overlay routes to a version `exists` does not know.
 */
export async function checkOverlayVersions(
  overlay: string,
  exists: (module: string, version: string) => boolean | Promise<boolean>,
): Promise<void> {
  for (const v of overlayVersions(overlay)) {
    if (await exists(v.module, v.version)) continue;
    throw missingVersion(v);
  }
}

export function missingVersion(v: NamedVersion): TurnoutError {
  const field = `overlay[${v.index}]`;
  return new TurnoutError(
    'invalid_argument',
    `${field}: /v/${v.module}/${v.version}: module ${v.module} has no version ${v.version} (register it first, e.g. with turnout apply)`,
    field,
  );
}
