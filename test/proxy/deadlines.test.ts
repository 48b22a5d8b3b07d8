// The shared deadline list (deadlines.ts): entries expire in order at their own deadline, removed
// ones never do, and an emptied list keeps no timer that holds the process open. Time is injected
// for the order; the native timer is awaited as the event itself.

import { describe, expect, it } from 'vitest';
import type { DeadlineEntry } from '../../src/proxy/deadlines.js';
import { DeadlineList } from '../../src/proxy/deadlines.js';

function entry(onExpire: () => void): DeadlineEntry {
  return {
    expire: onExpire,
    deadlineAt: 0,
    deadlinePrev: null,
    deadlineNext: null,
    deadlineList: null,
  };
}

describe('DeadlineList', () => {
  it('expires entries in the order they were added, each at its own deadline, never a removed one', async () => {
    let now = 0;
    const list = new DeadlineList(20, () => now);
    const expired: string[] = [];
    const a = entry(() => expired.push('a'));
    const b = entry(() => expired.push('b'));
    const c = entry(() => expired.push('c'));
    list.add(a);
    now = 5;
    list.add(b);
    list.add(c);
    list.remove(c);
    expect(list.size).toBe(2);
    // The timer fires at a's deadline: only a is due (b's is 5 ms later on the injected clock).
    now = 20;
    await until(() => expired.length === 1);
    expect(expired).toEqual(['a']);
    expect(list.size).toBe(1);
    // Re-armed for b; once the clock passes it, b expires, c (removed) never does.
    now = 25;
    await until(() => expired.length === 2);
    expect(expired).toEqual(['a', 'b']);
    expect(list.size).toBe(0);
    expect(c.deadlineList).toBeNull();
  });

  it('removes an entry from the middle, the head and the tail, and tolerates removing twice', () => {
    const list = new DeadlineList(60_000);
    const es = [0, 1, 2, 3].map(() => entry(() => undefined));
    for (const e of es) list.add(e);
    list.remove(es[1]!);
    list.remove(es[0]!);
    list.remove(es[3]!);
    list.remove(es[3]!);
    expect(list.size).toBe(1);
    expect(es[2]!.deadlinePrev).toBeNull();
    expect(es[2]!.deadlineNext).toBeNull();
    list.remove(es[2]!);
    expect(list.size).toBe(0);
  });
});

/** Waits for a condition the list's own timer brings about (bounded, so a hang fails). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(done()).toBe(true);
}
