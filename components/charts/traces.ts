/**
 * Curve data for the loss and metric charts, derived from metric history with pure helpers: pick the x axis
 * (iteration or wall time), downsample with min/max buckets, and add an EMA-smoothed line over a faint raw one.
 */
import type { MetricPoint } from '../../server/protocol';
import { minMaxDownsample } from '../lib/downsample';
import { emaSmooth } from '../lib/smoothing';

export type XAxisMode = 'iteration' | 'wall';

export interface CurveOptions {
  xAxis: XAxisMode;
  /** EMA weight in [0, 1); 0 shows only the raw curve. */
  smoothing: number;
  /** Display budget per curve. */
  maxPoints: number;
}

export interface Curve {
  x: number[];
  raw: number[];
  /** Smoothed values on the same x, or null when smoothing is off. */
  smooth: number[] | null;
}

/** What a curve plots: the loss, the task metric, or one of an external run's named scalars (`scalar:NAME`). */
export type MetricField = 'loss' | 'metric' | `scalar:${string}`;

/** The value of `field` at one point (NaN where the point lacks it, which leaves a gap). */
export function metricValue(point: MetricPoint, field: MetricField): number {
  if (field === 'loss' || field === 'metric') return point[field];
  return point.scalars?.[field.slice('scalar:'.length)] ?? Number.NaN;
}

/** The named scalars of a history, in order of first appearance: each becomes a curve of its own. */
export function scalarNames(points: readonly MetricPoint[]): string[] {
  const names = new Set<string>();
  for (const p of points) if (p.scalars !== undefined) for (const name of Object.keys(p.scalars)) names.add(name);
  return [...names];
}

/** x values: iteration, or seconds since the first point for wall time. */
function xOf(points: readonly MetricPoint[], mode: XAxisMode): number[] {
  if (mode === 'iteration') return points.map((p) => p.iteration);
  const t0 = points.length ? points[0].t : 0;
  return points.map((p) => (p.t - t0) / 1000);
}

/** A curve for `field` of the history. Smoothing runs on the full series (so it does not depend on zoom or
 *  budget), then both lines are downsampled on the same x positions. */
export function curve(points: readonly MetricPoint[], field: MetricField, options: CurveOptions): Curve {
  const x = xOf(points, options.xAxis);
  const y = points.map((p) => metricValue(p, field));
  const raw = minMaxDownsample(x, y, options.maxPoints);
  if (options.smoothing <= 0) return { x: raw.x, raw: raw.y, smooth: null };
  const smoothed = emaSmooth(y, options.smoothing);
  // Keep the smoothed value at each retained x: index lookup by position in the original x (x is increasing).
  const smooth: number[] = [];
  let j = 0;
  for (const xv of raw.x) {
    while (j < x.length - 1 && x[j] < xv) j++;
    smooth.push(smoothed[j]);
  }
  return { x: raw.x, raw: raw.y, smooth };
}

/**
 * The iterations `(since, until]` behind the x range `[x0, x1]` of a curve drawn from `points`, widened to the held
 * points just outside it, so a finer view fetched for it joins the held points on both sides. Null when the range
 * holds nothing to refine.
 */
export function iterationSpan(
  points: readonly MetricPoint[],
  mode: XAxisMode,
  x0: number,
  x1: number,
): { since: number; until: number } | null {
  if (points.length === 0) return null;
  const x = xOf(points, mode);
  let since = -1;
  let until = points[points.length - 1].iteration;
  for (let i = 0; i < x.length; i++) {
    if (x[i] < x0) since = points[i].iteration;
    if (x[i] > x1) {
      until = points[i].iteration;
      break;
    }
  }
  return until > since ? { since, until } : null;
}

/** Points for a tiny sparkline polyline in a `width × height` box (loss, min/max downsampled). */
export function sparklinePath(points: readonly MetricPoint[], width: number, height: number, log = true): string {
  const finite = points.filter((p) => Number.isFinite(p.loss) && (!log || p.loss > 0));
  if (finite.length < 2) return '';
  const ds = minMaxDownsample(
    finite.map((p) => p.iteration),
    finite.map((p) => (log ? Math.log10(p.loss) : p.loss)),
    Math.max(4, Math.floor(width)),
  );
  const x0 = ds.x[0];
  const x1 = ds.x[ds.x.length - 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of ds.y) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo || 1;
  return ds.x
    .map((xv, i) => {
      const px = ((xv - x0) / (x1 - x0 || 1)) * width;
      const py = height - 1 - ((ds.y[i] - lo) / span) * (height - 2);
      return `${px.toFixed(1)},${py.toFixed(1)}`;
    })
    .join(' ');
}
