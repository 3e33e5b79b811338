/**
 * Reading a run's metric history for the wire, bounded per reply: the overview `run:subscribe` answers with, and the
 * pages and range overviews of `metrics:get` and `GET /api/runs/:id/metrics` (one parser for both, MetricsQuery in
 * protocol.ts). Overviews stream the stored points through server/metric-overview.ts, so even a million-point
 * history never sits in memory whole.
 */
import { ApiError } from './errors';
import { OverviewBuilder, type OverviewOptions } from './metric-overview';
import {
  MAX_METRICS_PAGE_POINTS,
  MAX_OVERVIEW_POINTS,
  METRIC_OVERVIEW_POINTS,
  METRIC_OVERVIEW_TAIL,
  METRICS_PAGE_POINTS,
  MIN_OVERVIEW_POINTS,
  type MetricPoint,
} from './protocol';
import type { Storage } from './storage';
import { integerField, type Fields } from './validate';

/** What metric queries need of storage. */
export type MetricStore = Pick<
  Storage,
  'metricsPage' | 'metricsRange' | 'metricIterationFromEnd' | 'eachMetric' | 'metricSummary' | 'keptMetricSummary'
>;

/** The fields `metrics:get` takes besides `runId` (the HTTP route reads the same names from its query string). */
export const METRICS_QUERY_FIELDS = ['since', 'until', 'limit', 'max_points'] as const;

export type ParsedMetricsQuery =
  | { since: number; until: number; mode: 'page'; limit: number }
  | { since: number; until: number; mode: 'overview'; maxPoints: number };

/** Validate a MetricsQuery: each field's range is named in the error, as is a `limit` given with `max_points`. */
export function parseMetricsQuery(p: Fields): ParsedMetricsQuery {
  const since = integerField(p, 'since', -1, Number.MAX_SAFE_INTEGER, false) ?? -1;
  const until = integerField(p, 'until', 0, Number.MAX_SAFE_INTEGER, false) ?? Number.MAX_SAFE_INTEGER;
  if (until <= since)
    throw new ApiError('bad_request', `until must be greater than since, got since ${since} and until ${until}`, {
      field: 'until',
    });
  const limit = integerField(p, 'limit', 1, MAX_METRICS_PAGE_POINTS, false);
  const maxPoints = integerField(p, 'max_points', MIN_OVERVIEW_POINTS, MAX_OVERVIEW_POINTS, false);
  if (maxPoints === undefined) return { since, until, mode: 'page', limit: limit ?? METRICS_PAGE_POINTS };
  if (limit !== undefined)
    throw new ApiError('bad_request', 'limit and max_points exclude each other: ask for a page or an overview', {
      field: 'limit',
    });
  return { since, until, mode: 'overview', maxPoints };
}

/** The answer to a parsed query. */
export function readMetrics(store: MetricStore, runId: string, query: ParsedMetricsQuery): MetricPoint[] {
  if (query.mode === 'page') return store.metricsPage(runId, query.since, query.until, query.limit);
  return overview(store, runId, query.since, query.until, { maxPoints: query.maxPoints, tail: 0 }).points;
}

/** What `run:subscribe` answers with: the history after `since` (an overview when long) and its size. */
export function metricsSnapshot(
  store: MetricStore,
  runId: string,
  since: number,
): { metrics: MetricPoint[]; metricCount: number } {
  const { points, count } = overview(store, runId, since, Number.MAX_SAFE_INTEGER, {
    maxPoints: METRIC_OVERVIEW_POINTS,
    tail: METRIC_OVERVIEW_TAIL,
  });
  return { metrics: points, metricCount: count };
}

/** About how many points one summary bucket keeps (first, last, and the extremes of loss and metric). */
const SUMMARY_POINTS_PER_BUCKET = 8;

function overview(
  store: MetricStore,
  runId: string,
  since: number,
  until: number,
  options: OverviewOptions,
): { points: MetricPoint[]; count: number } {
  const whole = since === -1 && until === Number.MAX_SAFE_INTEGER;
  // The whole history (a page opening the run) builds the run's summary once; a range uses it when it is kept.
  let summary = store.keptMetricSummary(runId);
  const range = whole && summary !== undefined ? null : store.metricsRange(runId, since, until);
  const count = range === null ? (summary?.count ?? 0) : range.count;
  if (count <= options.maxPoints)
    return { points: count === 0 ? [] : store.metricsPage(runId, since, until, count), count };
  if (whole) summary ??= store.metricSummary(runId);
  const last = range?.last ?? summary?.lastIteration ?? until;
  const tailStart =
    options.tail === 0 ? last + 1 : (store.metricIterationFromEnd(runId, since, until, options.tail - 1) ?? last + 1);
  const from = since + 1;
  // A summary bucket keeps a handful of points: enough of them inside the range give the budget's resolution.
  const enough = (options.maxPoints - options.tail) / SUMMARY_POINTS_PER_BUCKET;
  if (summary !== undefined && (whole || summary.bucketsWithin(from, tailStart) >= enough)) {
    const tail = tailStart > last ? [] : store.metricsPage(runId, tailStart - 1, until, options.tail);
    const older = summary.overviewBetween(from, tailStart, options.maxPoints - tail.length, (start, end) =>
      store.eachMetric(runId, start - 1, end - 1),
    );
    return { points: older.concat(tail), count };
  }
  const builder = new OverviewBuilder(count, range?.first ?? from, last, tailStart, options);
  for (const point of store.eachMetric(runId, since, until)) builder.add(point);
  return { points: builder.finish(), count };
}
