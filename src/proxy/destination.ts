// Which bound version one request goes to: a weighted union's branch is chosen with the version
// warm-up of the balancer, so a freshly deployed version ramps its share in instead of taking it
// cold — slow start that works even when every instance of that version is new.

import { showPath } from '../routing/path.js';
import type { Bound, NameTree } from '../routing/tree.js';
import { pickWeightedBranch } from './balancer.js';

export type DestinationPicker = (
  tree: NameTree<Bound>,
  nowMs: number,
  random: () => number,
) => Bound | null;

export function createDestinationPicker(windowMs: number): DestinationPicker {
  /** When each bound name (version) was first a candidate in a union, by its id path. */
  const firstSeen = new Map<string, number>();

  function seen(tree: NameTree<Bound>, nowMs: number): number {
    if (tree.kind !== 'leaf') return nowMs;
    const key = showPath(tree.value.id);
    let at = firstSeen.get(key);
    if (at === undefined) {
      at = nowMs;
      firstSeen.set(key, at);
    }
    return at;
  }

  function pick(tree: NameTree<Bound>, nowMs: number, random: () => number): Bound | null {
    switch (tree.kind) {
      case 'leaf':
        return tree.value;
      case 'union': {
        const branches = tree.branches.map((b) => ({
          weight: b.weight,
          firstSeenMs: seen(b.tree, nowMs),
        }));
        const i = pickWeightedBranch(branches, nowMs, random, windowMs);
        return i < 0 ? null : pick(tree.branches[i]!.tree, nowMs, random);
      }
      case 'alt':
        return tree.trees.length > 0 ? pick(tree.trees[0]!, nowMs, random) : null;
      default:
        return null;
    }
  }

  return pick;
}
