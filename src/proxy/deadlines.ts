// Deadlines without a native timer each: every attempt of a proxy waits for its response headers
// with the same timeout, so deadlines fall due in the order they were set. One list per timeout
// value, in that order, and one timer for its head serve them all: adding and removing a deadline
// allocates nothing (a `setTimeout` per attempt cost a Timeout object, its async-hooks ids and a
// timer-list insert on every request). The timer is re-armed at most once per head that is still
// waiting when it fires, so about once per timeout under steady traffic.

/** Something with a deadline: the list links it in place (no wrapper object per entry). */
export interface DeadlineEntry {
  /** Called once if the deadline passes before the entry is removed. */
  expire(): void;
  deadlineAt: number;
  deadlinePrev: DeadlineEntry | null;
  deadlineNext: DeadlineEntry | null;
  deadlineList: DeadlineList | null;
}

export class DeadlineList {
  private head: DeadlineEntry | null = null;
  private tail: DeadlineEntry | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts `entry`'s deadline: `timeoutMs` from `now` (this list's clock, read if not given). */
  add(entry: DeadlineEntry, now = this.now()): void {
    if (entry.deadlineList !== null) entry.deadlineList.remove(entry);
    entry.deadlineAt = now + this.timeoutMs;
    entry.deadlinePrev = this.tail;
    entry.deadlineNext = null;
    entry.deadlineList = this;
    if (this.tail === null) this.head = entry;
    else this.tail.deadlineNext = entry;
    this.tail = entry;
    if (this.timer === null) this.arm(this.timeoutMs);
  }

  /** Ends `entry`'s deadline without expiring it (a no-op when it has none here). */
  remove(entry: DeadlineEntry): void {
    if (entry.deadlineList !== this) return;
    const { deadlinePrev: prev, deadlineNext: next } = entry;
    if (prev === null) this.head = next;
    else prev.deadlineNext = next;
    if (next === null) this.tail = prev;
    else next.deadlinePrev = prev;
    entry.deadlinePrev = null;
    entry.deadlineNext = null;
    entry.deadlineList = null;
  }

  /** Entries waiting (for tests). */
  get size(): number {
    let n = 0;
    for (let e = this.head; e !== null; e = e.deadlineNext) n++;
    return n;
  }

  private arm(ms: number): void {
    // Unreferenced: a waiting attempt's sockets keep the process alive, an empty list must not.
    this.timer = setTimeout(this.fire, ms);
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    const now = this.now();
    while (this.head !== null && this.head.deadlineAt <= now) {
      const due = this.head;
      this.remove(due);
      due.expire();
    }
    if (this.head !== null) this.arm(Math.max(1, Math.ceil(this.head.deadlineAt - now)));
  };
}

const lists = new Map<number, DeadlineList>();

/** The shared list for one timeout value (a proxy uses one or two). */
export function deadlinesFor(timeoutMs: number): DeadlineList {
  let list = lists.get(timeoutMs);
  if (list === undefined) {
    list = new DeadlineList(timeoutMs);
    lists.set(timeoutMs, list);
  }
  return list;
}
