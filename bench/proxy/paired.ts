// The verdict on issue 15's goals from paired rounds: round i of Turnout against round i of
// node-floor, which ran back to back (the bench puts them next to each other in the interleaved
// order), so a pair saw about the same machine. The median of the pairs is the statistic: the
// lowest round of each, which the bench used before, compares each target's best moment, and on a
// host whose load comes and goes those can be minutes and several host states apart
// (docs/proxy-performance.md, "Eighth pass"). Pure: the bench measures, this judges.

/** One target's figures, one entry per round, in run order. */
export interface RoundFigures {
  /** CPU time per request in the max-rate rounds, µs (NaN: the round served nothing). */
  readonly cpuUsPerReq: readonly number[];
  /**
   * p99 at the fixed rate, ms; NaN for a round that is not clean (errors, unfinished). Both
   * targets' round i had the same direct round beside it, so the difference of their p99s is the
   * difference of their added p99s.
   */
  readonly p99Ms: readonly number[];
  /** RSS with the idle connections, MB; NaN for a round that did not hold them all open. */
  readonly rssMb: readonly number[];
}

export interface Goals {
  readonly cpuRatio: number;
  readonly addedP99Ms: number;
  readonly rssMb: number;
}

export interface PairedGoal {
  /** Each pair's figure, in run order (ratio or difference; ±Infinity: see `pairs`). */
  readonly pairs: readonly number[];
  /** The median of the pairs; NaN when there is no pair. */
  readonly median: number;
  /** A distribution-free 95 % interval for the median; null with fewer than 6 pairs. */
  readonly interval: MedianInterval | null;
  readonly goal: number;
  /** 'n/a' when no pair could be judged. */
  readonly verdict: 'MET' | 'MISSED' | 'n/a';
}

export interface PairedVerdict {
  readonly cpu: PairedGoal;
  readonly p99: PairedGoal;
  readonly rss: PairedGoal;
}

/** The median; the mean of the middle two for an even count; NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Where the median of the population the pairs came from lies, with its stated coverage. */
export interface MedianInterval {
  readonly low: number;
  readonly high: number;
  /** The interval's exact coverage (≥ the level asked for). */
  readonly coverage: number;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n; // P(X = 0)
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * The order-statistic interval for a median: [x(k), x(n−k+1)] of the sorted sample covers the
 * population's median with probability 1 − 2·P(Bin(n, ½) ≤ k−1), whatever the distribution, as
 * long as the pairs are independent. The narrowest such interval with coverage ≥ `level`; null
 * when even [min, max] falls short (n < 6 for 95 %).
 */
export function medianInterval(xs: readonly number[], level = 0.95): MedianInterval | null {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  let best: MedianInterval | null = null;
  for (let k = 1; k <= Math.floor((n + 1) / 2); k++) {
    const coverage = 1 - 2 * binomialHalfCdf(n, k - 1);
    if (coverage < level) break;
    best = { low: s[k - 1]!, high: s[n - k]!, coverage };
  }
  return best;
}

/**
 * Whether a run resolves a goal (printed beside the verdict, not the verdict): the whole interval
 * within the goal, the whole interval beyond it, or the goal inside the interval — the run cannot
 * tell, whatever its median says.
 */
export function resolution(g: PairedGoal): 'within' | 'beyond' | 'unresolved' | 'n/a' {
  if (g.interval === null) return 'n/a';
  if (g.interval.high <= g.goal) return 'within';
  if (g.interval.low > g.goal) return 'beyond';
  return 'unresolved';
}

/**
 * Pairs round i of `turnout` with round i of `floor` (as many pairs as both have rounds). A round
 * Turnout could not be measured in counts against it (+Infinity: a proxy that failed a round did
 * not meet the goal there); a round the floor could not be measured in leaves no reference, and
 * that pair is dropped.
 */
export function pairs(
  turnout: readonly number[],
  floor: readonly number[],
  combine: (t: number, f: number) => number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(turnout.length, floor.length); i++) {
    const t = turnout[i]!;
    const f = floor[i]!;
    if (Number.isNaN(f)) continue;
    out.push(Number.isNaN(t) ? Number.POSITIVE_INFINITY : combine(t, f));
  }
  return out;
}

function judge(ps: number[], goal: number): PairedGoal {
  const m = median(ps);
  return {
    pairs: ps,
    median: m,
    interval: medianInterval(ps),
    goal,
    verdict: Number.isNaN(m) ? 'n/a' : m <= goal ? 'MET' : 'MISSED',
  };
}

/** Issue 15's three goals, each on the median of its paired rounds. */
export function pairedVerdict(
  turnout: RoundFigures,
  floor: RoundFigures,
  goals: Goals,
): PairedVerdict {
  return {
    cpu: judge(
      pairs(turnout.cpuUsPerReq, floor.cpuUsPerReq, (t, f) => t / f),
      goals.cpuRatio,
    ),
    p99: judge(
      pairs(turnout.p99Ms, floor.p99Ms, (t, f) => t - f),
      goals.addedP99Ms,
    ),
    rss: judge(
      pairs(turnout.rssMb, floor.rssMb, (t, f) => t - f),
      goals.rssMb,
    ),
  };
}
