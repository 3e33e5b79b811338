/**
 * Whole-history metric summaries (server/metric-overview.ts) of the runs read most recently, kept in memory and
 * current with each commit, so a run's overview scans its metric points once at most.
 */
import { MetricSummary } from './metric-overview';
import type { MetricPoint } from './protocol';

/** Runs whose metric summaries stay in memory (least recently read first out): each is a few MB at most. */
const SUMMARIES_KEPT = 16;

/** The kept summaries, least recently used first (server/storage.ts delegates to it). */
export class MetricSummaries {
  /** Whole-history metric summaries of recently read runs, kept current by commit (in read order). */
  private readonly summaries = new Map<string, MetricSummary>();

  /** The run's kept summary, or one built from `scan` (every point of the run, ascending); it then counts as used. */
  summary(runId: string, scan: () => Iterable<MetricPoint>): MetricSummary {
    let summary = this.summaries.get(runId);
    if (summary === undefined) {
      summary = new MetricSummary();
      for (const point of scan()) summary.add(point);
    }
    this.keep(runId, summary);
    return summary;
  }

  /** The run's summary if one is kept (no scan; it then counts as used). */
  kept(runId: string): MetricSummary | undefined {
    const summary = this.summaries.get(runId);
    if (summary !== undefined) this.keep(runId, summary);
    return summary;
  }

  /** Keep `summary` as the most recently used one, dropping the least recently used beyond SUMMARIES_KEPT. */
  keep(runId: string, summary: MetricSummary): void {
    this.summaries.delete(runId);
    this.summaries.set(runId, summary);
    for (const oldest of this.summaries.keys()) {
      if (this.summaries.size <= SUMMARIES_KEPT) break;
      this.summaries.delete(oldest);
    }
  }

  /** Keep a run's kept metric summary current with points just committed. */
  extend(runId: string, points: readonly MetricPoint[]): void {
    const summary = this.summaries.get(runId);
    if (summary === undefined) return;
    for (const p of points) {
      if (p.iteration > summary.lastIteration) {
        summary.add(p);
      } else {
        // A point rewritten or out of order: the summary no longer matches the table; the next read rebuilds it.
        this.summaries.delete(runId);
        return;
      }
    }
  }

  /** Drop the run's summary (its points were deleted, or rewritten behind the summary's back). */
  forget(runId: string): void {
    this.summaries.delete(runId);
  }
}
