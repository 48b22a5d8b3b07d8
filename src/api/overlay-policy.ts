// What a releaser may write in a lane overlay. An overlay is a dtab, and a dtab can name any
// address (`/$/inet/127.0.0.1/<port>`): a releaser's lane once served the proxy's admin pages
// through the public edge that way. So a releaser may bind only names of the product's own
// modules, which the mesh resolves to registered versions; raw addresses and anything else need
// an admin. Pure: the caller gives the product's modules and decides who is exempt.

import { TurnoutError } from '../errors.js';
import type { Dentry } from '../routing/dtab.js';
import { parseDtab } from '../routing/parser.js';
import type { Path } from '../routing/path.js';
import { showPath } from '../routing/path.js';
import type { NameTree } from '../routing/tree.js';

/** Why a releaser may not use `leaf` as a destination, or null when it may. */
function leafProblem(leaf: Path, product: string, modules: ReadonlySet<string>): string | null {
  const [root, module] = leaf;
  const own = module !== undefined && modules.has(module);
  // `/v/<module>/<version>`: a version of one of the product's modules.
  if (root === 'v' && leaf.length === 3 && own) return null;
  // `/svc/<module>`: re-delegation to one of the product's services, resolved by the same dtabs.
  if (root === 'svc' && leaf.length === 2 && own) return null;
  const shown = showPath(leaf);
  if (root === '$')
    return `${shown} is a raw address (/$/…); only an admin may route a lane to an address`;
  if ((root === 'v' || root === 'svc') && module !== undefined && !own)
    return `${shown}: module "${module}" is not one of product ${product}'s modules (${[...modules].sort().join(', ')})`;
  return `${shown}: a releaser's overlay may bind only /v/<module>/<version> or /svc/<module> of product ${product}'s modules, and ~, ! or $`;
}

function leaves(tree: NameTree<Path>, out: Path[] = []): Path[] {
  if (tree.kind === 'leaf') out.push(tree.value);
  else if (tree.kind === 'alt') for (const t of tree.trees) leaves(t, out);
  else if (tree.kind === 'union') for (const b of tree.branches) leaves(b.tree, out);
  return out;
}

/**
 * Throws `forbidden` naming `overlay[<index>]` (the dentry, counted from 0) and the reason when a
 * releaser may not write `overlay` for `product`. The overlay has been parsed by the body schema.
 */
export function checkReleaserOverlay(
  overlay: string,
  product: string,
  modules: ReadonlySet<string>,
): void {
  const dtab: readonly Dentry[] = parseDtab(overlay);
  dtab.forEach((d, index) => {
    for (const leaf of leaves(d.dst)) {
      const problem = leafProblem(leaf, product, modules);
      if (problem !== null)
        throw new TurnoutError('forbidden', `overlay[${index}]: ${problem}`, `overlay[${index}]`);
    }
  });
}
