// Without a terminal (CI logs, a pipe) a live view cannot redraw itself: printing the whole view
// again on every change repeats every unchanged line. Instead the first view is printed whole and
// each later one as the lines that were not in the view before it — a log a person can read
// from top to bottom.

/** The lines of `next` that `prev` did not have, in `next`'s order (repeated lines counted). */
export function changedLines(prev: readonly string[], next: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const line of prev) left.set(line, (left.get(line) ?? 0) + 1);
  const out: string[] = [];
  for (const line of next) {
    const n = left.get(line) ?? 0;
    if (n > 0) left.set(line, n - 1);
    else out.push(line);
  }
  return out;
}
