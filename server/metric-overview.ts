/**
 * Bounded overviews of a metric history. A long run stores one point per iteration (a million after five hours at
 * 54 it/s); a page opening it needs the shape of every curve, not every point. An overview keeps whole stored points
 * (so curves, wall-time axes and CSV code take it as they take raw history) chosen per bucket of equal iteration
 * width: the bucket's first and last point, and for each curve (loss, metric, every named scalar) the point with its
 * smallest and its largest finite value and the first point where it is NaN or infinite. Spikes and NaN markers
 * therefore survive at any zoom, the newest points stay raw so live appends join on, and a history that fits the
 * budget comes back exactly.
 */
import type { MetricPoint } from './protocol';

export interface OverviewOptions {
  /** Most points in the overview, tail included (at least 8). */
  maxPoints: number;
  /** Newest points kept raw after the buckets (0 for none; at most half of maxPoints). */
  tail: number;
}

/** One curve's extremes within a bucket; `min`/`max` stay null while only non-finite values were seen. */
interface Extremes {
  min: MetricPoint | null;
  minValue: number;
  max: MetricPoint | null;
  maxValue: number;
  nonFinite: MetricPoint | null;
}

/** The extremes of one equal-width stretch of iterations; `slot` numbers the stretches from some origin. */
interface Bucket {
  slot: number;
  first: MetricPoint;
  last: MetricPoint;
  curves: Map<string, Extremes>;
}

function newBucket(slot: number, point: MetricPoint): Bucket {
  const bucket: Bucket = { slot, first: point, last: point, curves: new Map() };
  addToBucket(bucket, point);
  return bucket;
}

/** The curves of a point: loss and metric always (NaN where missing), and each named scalar it carries. */
function forEachCurve(point: MetricPoint, visit: (curve: string, value: number) => void): void {
  visit('loss', point.loss);
  visit('metric', point.metric);
  if (point.scalars !== undefined) for (const name in point.scalars) visit(`scalar:${name}`, point.scalars[name]);
}

function addToBucket(bucket: Bucket, point: MetricPoint): void {
  bucket.last = point;
  forEachCurve(point, (curve, value) => {
    let extremes = bucket.curves.get(curve);
    if (extremes === undefined) {
      extremes = { min: null, minValue: Number.NaN, max: null, maxValue: Number.NaN, nonFinite: null };
      bucket.curves.set(curve, extremes);
    }
    if (!Number.isFinite(value)) {
      extremes.nonFinite ??= point;
      return;
    }
    if (extremes.min === null || value < extremes.minValue) {
      extremes.min = point;
      extremes.minValue = value;
    }
    if (extremes.max === null || value > extremes.maxValue) {
      extremes.max = point;
      extremes.maxValue = value;
    }
  });
}

/** `later` folded into `earlier` (adjacent, earlier first): extremes of a union are the extremes of the extremes. */
function mergeBuckets(earlier: Bucket, later: Bucket, slot: number): Bucket {
  const curves = new Map<string, Extremes>();
  for (const [curve, e] of earlier.curves) curves.set(curve, { ...e });
  for (const [curve, e] of later.curves) {
    const into = curves.get(curve);
    if (into === undefined) {
      curves.set(curve, { ...e });
      continue;
    }
    if (e.min !== null && (into.min === null || e.minValue < into.minValue)) {
      into.min = e.min;
      into.minValue = e.minValue;
    }
    if (e.max !== null && (into.max === null || e.maxValue > into.maxValue)) {
      into.max = e.max;
      into.maxValue = e.maxValue;
    }
    into.nonFinite ??= e.nonFinite;
  }
  return { slot, first: earlier.first, last: later.last, curves };
}

/** The distinct points a bucket keeps, in iteration order. */
function bucketPoints(bucket: Bucket): MetricPoint[] {
  const kept = new Set<MetricPoint>([bucket.first, bucket.last]);
  for (const e of bucket.curves.values()) {
    if (e.min !== null) kept.add(e.min);
    if (e.max !== null) kept.add(e.max);
    if (e.nonFinite !== null) kept.add(e.nonFinite);
  }
  return [...kept].sort((a, b) => a.iteration - b.iteration);
}

function checkOptions(options: OverviewOptions): void {
  const { maxPoints, tail } = options;
  if (!Number.isInteger(maxPoints) || maxPoints < 8)
    throw new Error(`metric overview: maxPoints must be an integer ≥ 8, got ${maxPoints}`);
  if (!Number.isInteger(tail) || tail < 0 || tail > maxPoints / 2)
    throw new Error(`metric overview: tail must be an integer in [0, ${maxPoints / 2}], got ${tail}`);
}

/**
 * Builds an overview from points fed in iteration order, holding only per-bucket extremes (and the tail) in memory,
 * so a million stored points can stream through it from the database.
 *
 * @param count how many points will be fed (known beforehand: the buckets are laid out from it)
 * @param firstIteration iteration of the first point fed
 * @param lastIteration iteration of the last point fed
 * @param tailStart iteration of the first point of the raw tail (`Infinity` for no tail)
 */
export class OverviewBuilder {
  private readonly exact: MetricPoint[] | null;
  private readonly buckets: (Bucket | undefined)[];
  private readonly tail: MetricPoint[] = [];
  private readonly bucketWidth: number;

  constructor(
    count: number,
    private readonly firstIteration: number,
    lastIteration: number,
    private readonly tailStart: number,
    private readonly options: OverviewOptions,
  ) {
    checkOptions(options);
    this.exact = count <= options.maxPoints ? [] : null;
    // Fine buckets first (one per budgeted point); finish() merges neighbours until the kept points fit.
    const slots = this.exact === null ? options.maxPoints - options.tail : 0;
    this.buckets = new Array(slots);
    const span = Math.min(tailStart, lastIteration + 1) - firstIteration;
    this.bucketWidth = slots === 0 ? 1 : Math.max(1, span / slots);
  }

  add(point: MetricPoint): void {
    if (this.exact !== null) {
      this.exact.push(point);
      return;
    }
    if (point.iteration >= this.tailStart) {
      this.tail.push(point);
      return;
    }
    const slot = Math.min(
      this.buckets.length - 1,
      Math.max(0, Math.floor((point.iteration - this.firstIteration) / this.bucketWidth)),
    );
    const bucket = this.buckets[slot];
    if (bucket === undefined) this.buckets[slot] = newBucket(slot, point);
    else addToBucket(bucket, point);
  }

  /** The overview: at most `maxPoints` points in iteration order (all of them when they fit). */
  finish(): MetricPoint[] {
    if (this.exact !== null) return this.exact;
    const filled = this.buckets.filter((b): b is Bucket => b !== undefined);
    return fitBuckets(filled, this.options.maxPoints - this.tail.length).concat(this.tail);
  }
}

/**
 * The points kept by `buckets` (ascending slots), neighbours merged `g` slots at a time for the smallest `g` whose
 * points fit `budget`.
 */
function fitBuckets(buckets: readonly Bucket[], budget: number): MetricPoint[] {
  for (let group = 1; ; group++) {
    const merged = groupBuckets(buckets, group);
    const kept = merged.flatMap(bucketPoints);
    if (kept.length <= budget) return kept;
    // One bucket for everything and still too many curves for the budget: an even sample is all that fits.
    if (merged.length === 1) return evenSample(kept, budget);
    // Skip ahead to roughly the grouping that fits (kept points shrink about in proportion to the groups).
    group = Math.max(group, Math.floor((group * kept.length) / budget) - 1);
  }
}

/** Buckets merged by slot, `size` slots at a time: equal-width slots give equal-width groups, gaps and all. */
function groupBuckets(buckets: readonly Bucket[], size: number): Bucket[] {
  if (size === 1) return [...buckets];
  const out: Bucket[] = [];
  for (const bucket of buckets) {
    const slot = Math.floor(bucket.slot / size);
    const last = out.at(-1);
    if (last !== undefined && last.slot === slot) out[out.length - 1] = mergeBuckets(last, bucket, slot);
    else out.push({ ...bucket, slot });
  }
  return out;
}

/** Most buckets a MetricSummary keeps: about four per point of the subscribe overview's budget. */
export const SUMMARY_BUCKETS = 2048;

/**
 * A run's whole history as fine buckets of equal power-of-two width aligned at its multiples, kept current as points
 * are appended (twice as wide, pairs merged, whenever they outnumber `maxBuckets`). An overview of the whole history
 * then groups these few buckets instead of rereading every stored point.
 */
export class MetricSummary {
  private width = 1;
  private buckets: Bucket[] = [];
  /** Points added; the last one's iteration (later points must come after it). */
  count = 0;
  lastIteration = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxBuckets = SUMMARY_BUCKETS) {}

  /** Add the next point (its iteration above every earlier one's; a caller with older points rebuilds instead). */
  add(point: MetricPoint): void {
    if (!(point.iteration > this.lastIteration))
      throw new Error(`MetricSummary.add: iteration ${point.iteration} after ${this.lastIteration}`);
    this.count += 1;
    this.lastIteration = point.iteration;
    const slot = Math.floor(point.iteration / this.width);
    const last = this.buckets.at(-1);
    if (last !== undefined && last.slot === slot) {
      addToBucket(last, point);
      return;
    }
    this.buckets.push(newBucket(slot, point));
    if (this.buckets.length > this.maxBuckets) {
      this.buckets = groupBuckets(this.buckets, 2);
      this.width *= 2;
    }
  }

  /** How many of its buckets lie wholly inside `[from, to)`: what an overview of that range can be built from. */
  bucketsWithin(from: number, to: number): number {
    const lo = Math.ceil(from / this.width);
    const hi = Math.floor(to / this.width);
    return this.buckets.filter((b) => b.slot >= lo && b.slot < hi).length;
  }

  /**
   * The overview of the points in `[from, to)` in at most `budget` points. `between(from, to)` reads the stored
   * points in a stretch: the buckets the range's ends cut are rebuilt from their stored points inside the range.
   */
  overviewBetween(
    from: number,
    to: number,
    budget: number,
    between: (from: number, to: number) => Iterable<MetricPoint>,
  ): MetricPoint[] {
    const lo = Math.ceil(from / this.width);
    const hi = Math.floor(to / this.width);
    const read = (slot: number, start: number, end: number) => {
      let bucket: Bucket | null = null;
      for (const point of between(start, end)) {
        if (bucket === null) bucket = newBucket(slot, point);
        else addToBucket(bucket, point);
      }
      return bucket === null ? [] : [bucket];
    };
    if (lo > hi) return fitBuckets(read(hi, from, to), budget); // the whole range inside one bucket
    const head = from < lo * this.width ? read(lo - 1, from, lo * this.width) : [];
    const whole = this.buckets.filter((b) => b.slot >= lo && b.slot < hi);
    const tail = hi * this.width < to ? read(hi, hi * this.width, to) : [];
    return fitBuckets([...head, ...whole, ...tail], budget);
  }
}

/** `count` points of `points` spread evenly, the first and the last included. */
function evenSample(points: readonly MetricPoint[], count: number): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (let i = 0; i < count; i++) out.push(points[Math.round((i * (points.length - 1)) / (count - 1))]);
  return out;
}

/**
 * The overview of `points` (ascending iterations): all of them when they fit in `maxPoints`, otherwise bucket
 * extremes of the older points followed by the newest `tail` points unchanged.
 *
 * @example metricOverview(history, { maxPoints: 3000, tail: 300 }) // ≤ 3000 points, the last 300 raw
 */
export function metricOverview(points: readonly MetricPoint[], options: OverviewOptions): MetricPoint[] {
  checkOptions(options);
  const n = points.length;
  if (n === 0) return [];
  const tailStart = options.tail > 0 && n > options.maxPoints ? points[n - options.tail].iteration : Infinity;
  const builder = new OverviewBuilder(n, points[0].iteration, points[n - 1].iteration, tailStart, options);
  for (const p of points) builder.add(p);
  return builder.finish();
}
