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
  'metricsPage' | 'metricsRange' | 'metricIterationFromEnd' | 'eachMetric' | 'metricSummary'
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

function overview(
  store: MetricStore,
  runId: string,
  since: number,
  until: number,
  options: OverviewOptions,
): { points: MetricPoint[]; count: number } {
  if (since === -1 && until === Number.MAX_SAFE_INTEGER) return wholeOverview(store, runId, options);
  const { count, first, last } = store.metricsRange(runId, since, until);
  if (count === 0 || first === null || last === null) return { points: [], count: 0 };
  if (count <= options.maxPoints) return { points: store.metricsPage(runId, since, until, count), count };
  const tailStart =
    options.tail === 0 ? Infinity : (store.metricIterationFromEnd(runId, since, until, options.tail - 1) ?? Infinity);
  const builder = new OverviewBuilder(count, first, last, tailStart, options);
  for (const point of store.eachMetric(runId, since, until)) builder.add(point);
  return { points: builder.finish(), count };
}

/** The whole history (what a page opening a run asks for): the run's kept summary grouped, then the raw tail. */
function wholeOverview(store: MetricStore, runId: string, options: OverviewOptions) {
  const all = Number.MAX_SAFE_INTEGER;
  const summary = store.metricSummary(runId);
  const count = summary.count;
  if (count <= options.maxPoints) return { points: store.metricsPage(runId, -1, all, Math.max(1, count)), count };
  const tailStart =
    options.tail === 0
      ? summary.lastIteration + 1
      : (store.metricIterationFromEnd(runId, -1, all, options.tail - 1) ?? summary.lastIteration + 1);
  const tail = options.tail === 0 ? [] : store.metricsPage(runId, tailStart - 1, all, options.tail);
  const older = summary.overviewBefore(tailStart, options.maxPoints - tail.length, (from, to) =>
    store.eachMetric(runId, from - 1, to - 1),
  );
  return { points: older.concat(tail), count };
}
