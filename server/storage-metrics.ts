/**
 * The `metrics` table: every metric point of a run, one row per iteration, with its named scalars as JSON (non-finite
 * values kept as strings), and the reads over a stretch of a run's history.
 */
import type Database from 'better-sqlite3';
import type { MetricPoint } from './protocol';

/** What a stretch of a run's metric history holds: its size and its first and last iteration. */
export interface MetricRange {
  count: number;
  first: number | null;
  last: number | null;
}

interface MetricRow {
  iteration: number;
  loss: number | null;
  metric: number | null;
  it_per_sec: number | null;
  t: number;
  sequence_length: number | null;
  scalars: string | null;
}

/** The metrics table's statements (server/storage.ts delegates a run's metric points to it). */
export class MetricRows {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insertMetric: db.prepare(
        `INSERT OR REPLACE INTO metrics (run_id, iteration, loss, metric, it_per_sec, t, sequence_length, scalars)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      metricsPage: db.prepare(
        `SELECT iteration, loss, metric, it_per_sec, t, sequence_length, scalars FROM metrics
         WHERE run_id = ? AND iteration > ? AND iteration <= ? ORDER BY iteration LIMIT ?`,
      ),
      metricsRange: db.prepare(
        `SELECT COUNT(*) AS count, MIN(iteration) AS first, MAX(iteration) AS last FROM metrics
         WHERE run_id = ? AND iteration > ? AND iteration <= ?`,
      ),
      metricIterationFromEnd: db
        .prepare(
          `SELECT iteration FROM metrics WHERE run_id = ? AND iteration > ? AND iteration <= ?
           ORDER BY iteration DESC LIMIT 1 OFFSET ?`,
        )
        .pluck(),
      deleteMetricsAfter: db.prepare('DELETE FROM metrics WHERE run_id = ? AND iteration > ?'),
    };
  }

  /** Write one point (inside the caller's transaction); a point at a stored iteration replaces it. */
  insert(runId: string, p: MetricPoint): void {
    this.statements.insertMetric.run(
      runId,
      p.iteration,
      p.loss,
      p.metric,
      p.itPerSec,
      p.t,
      p.sequenceLength ?? null,
      p.scalars === undefined ? null : JSON.stringify(p.scalars, nonFiniteReplacer),
    );
  }

  /** Points with `since < iteration ≤ until`, ascending, at most `limit` of them. */
  page(runId: string, since: number, until: number, limit: number): MetricPoint[] {
    return (this.statements.metricsPage.all(runId, since, until, limit) as MetricRow[]).map(fromMetricRow);
  }

  /** How many points lie in `(since, until]`, and the first and last iteration among them (null when none). */
  range(runId: string, since: number, until: number): MetricRange {
    return this.statements.metricsRange.get(runId, since, until) as MetricRange;
  }

  /** The iteration of the point `offset` places before the newest one in `(since, until]`, or null. */
  iterationFromEnd(runId: string, since: number, until: number, offset: number): number | null {
    return (this.statements.metricIterationFromEnd.get(runId, since, until, offset) as number | undefined) ?? null;
  }

  /** Points in `(since, until]`, ascending, one at a time (for overviews of histories too long to hold). */
  *each(runId: string, since: number, until: number): Generator<MetricPoint> {
    for (const row of this.statements.metricsPage.iterate(runId, since, until, -1) as Iterable<MetricRow>)
      yield fromMetricRow(row);
  }

  /** Forget the points after `iteration` (inside the caller's transaction). */
  deleteAfter(runId: string, iteration: number): void {
    this.statements.deleteMetricsAfter.run(runId, iteration);
  }
}

/** JSON has no NaN or ±Infinity; named scalars keep them as strings in storage. */
function nonFiniteReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

function nonFiniteReviver(_key: string, value: unknown): unknown {
  return value === 'NaN' || value === 'Infinity' || value === '-Infinity' ? Number(value) : value;
}

function fromMetricRow(r: MetricRow): MetricPoint {
  const point: MetricPoint = {
    iteration: r.iteration,
    loss: r.loss ?? Number.NaN,
    metric: r.metric ?? Number.NaN,
    itPerSec: r.it_per_sec ?? 0,
    t: r.t,
  };
  if (r.sequence_length !== null) point.sequenceLength = r.sequence_length;
  if (r.scalars !== null) point.scalars = JSON.parse(r.scalars, nonFiniteReviver) as Record<string, number>;
  return point;
}
