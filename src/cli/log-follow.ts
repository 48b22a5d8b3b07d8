// `turnout logs -f`: the API serves the tail of an instance's log, not a stream, so following is
// polling the tail and printing what is new. Pure: given the tail printed last and the tail now,
// the lines to print.

/**
 * The lines of `next` after the part it shares with `prev`: the longest suffix of `prev` that
 * `next` starts with is what was printed already. Nothing shared (more lines came than a tail
 * holds, or the log started over): all of `next`, and `gap` says lines may have been missed.
 */
export function newLines(
  prev: readonly string[],
  next: readonly string[],
): { lines: string[]; gap: boolean } {
  if (prev.length === 0) return { lines: [...next], gap: false };
  for (let start = 0; start < prev.length; start++) {
    const shared = prev.length - start;
    if (shared > next.length) continue;
    let same = true;
    for (let i = 0; i < shared && same; i++) same = prev[start + i] === next[i];
    if (same) return { lines: next.slice(shared), gap: false };
  }
  return { lines: [...next], gap: true };
}
