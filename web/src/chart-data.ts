// What the traffic charts draw, without React or uPlot: series of several keys aligned on one time
// axis, and the time axis's ticks. Pure (and self-contained, so unit tests import it from Node).
//
// - A bucket no proxy sample landed in (`sampled: false`, a late scrape) is missing: null, drawn
//   as a line across, never as a drop to 0. A sampled bucket without requests is a real 0.
// - The newest bucket is the second still running: left out of every series rather than drawn
//   as a false drop. Keys are fetched one by one, so the axis is the union of their buckets.
// - Time ticks are spaced by the width a label needs, so two labels never print over each other.

export interface ChartPoint {
  atMs: number;
  requests: number;
  rps: number;
  errorRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** false: no sample landed in this bucket; absent (an older API): taken as sampled. */
  sampled?: boolean;
}

export interface AlignedSeries {
  /** Seconds (uPlot's time unit), ascending. */
  x: number[];
  /** Per key, one value per x (null: nothing to draw there). */
  values: (number | null)[][];
}

/** Every key's points on one axis (each key's `pick` per bucket), the running bucket left out. */
export function alignSeries(
  keys: readonly (readonly ChartPoint[])[],
  pick: (p: ChartPoint) => number | null,
): AlignedSeries {
  const times = new Set<number>();
  for (const points of keys) for (const p of points) times.add(p.atMs);
  const sorted = [...times].sort((a, b) => a - b);
  const axis = sorted.slice(0, -1); // the newest bucket is still filling
  const values = keys.map((points) => {
    const at = new Map(points.map((p) => [p.atMs, p]));
    return axis.map((t) => {
      const p = at.get(t);
      return p === undefined || p.sampled === false ? null : pick(p);
    });
  });
  return { x: axis.map((t) => t / 1000), values };
}

/** Tick steps a time axis may use, in seconds. */
export const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600] as const;
/** The width a `HH:MM:SS` label needs with room either side, in CSS pixels. */
export const TIME_LABEL_PX = 80;

/**
 * Tick positions (seconds, multiples of the step) between min and max for an axis `widthPx` wide:
 * the smallest step whose ticks are at least `labelPx` apart.
 */
export function timeTicks(
  minS: number,
  maxS: number,
  widthPx: number,
  labelPx = TIME_LABEL_PX,
): number[] {
  if (!(maxS > minS) || !(widthPx > 0)) return [];
  const range = maxS - minS;
  const step =
    TIME_STEPS.find((s) => (s / range) * widthPx >= labelPx) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const out: number[] = [];
  for (let t = Math.ceil(minS / step) * step; t <= maxS; t += step) out.push(t);
  return out;
}

/** `HH:MM:SS` in the viewer's time zone. */
export function timeLabel(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
