/**
 * Persistent state in `<dataDir>/engram.sqlite` (better-sqlite3, WAL): runs and their configs, every metric point,
 * stored debug frames (blobs, thinned within a per-run budget and a global storage budget) and each run's latest
 * checkpoint. Every write is a transaction, so a `kill -9` at any moment leaves the last committed state; `commit`
 * writes a run's metrics, frames, checkpoint and summary together, so a checkpoint is never ahead of its metrics.
 * Its parts live in their own modules, to which Storage delegates: storage-schema.ts opens the database,
 * storage-runs.ts, storage-metrics.ts and storage-frames.ts hold the runs, metric points and frames,
 * storage-metric-summaries.ts the kept overviews, and storage-budget.ts the global budget.
 */
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ExternalClientInfo, MetricPoint, RunConfig, RunSummary, StorageUsage } from './protocol';
import { MetricSummary } from './metric-overview';
import { GlobalBudget } from './storage-budget';
import { type FrameBudget, FrameStore } from './storage-frames';
import { MetricSummaries } from './storage-metric-summaries';
import { type MetricRange, MetricRows } from './storage-metrics';
import { RunRows, type StoredRun } from './storage-runs';
import { openDatabase } from './storage-schema';

/**
 * A frame to store. Its blob is asked for once, inside the transaction, and bound at once (SQLite copies it), so it
 * may live in a buffer that the next frame's blob reuses.
 */
export interface FrameWrite {
  iteration: number;
  pinned: boolean;
  blob: () => Buffer;
}

/** One run's writes since its last commit (server/run-persistence.ts gathers them). */
export interface CommitBatch {
  points: readonly MetricPoint[];
  frames: readonly FrameWrite[];
  checkpoint: { iteration: number; bytes: Uint8Array } | null;
  /** The run's summary row (state, iteration, latest values, config and client), when it changed. */
  run: RunSummary | null;
}

export class Storage {
  private readonly db: Database.Database;
  private readonly summaries = new MetricSummaries();
  private readonly runs: RunRows;
  private readonly metrics: MetricRows;
  private readonly frames: FrameStore;
  private readonly globalBudget: GlobalBudget;
  private readonly statements;

  /** `budgetBytes`: the global storage budget over all runs (frames are thinned oldest run first past it). */
  constructor(
    dataDir: string,
    private readonly budget: FrameBudget,
    readonly budgetBytes = Number.POSITIVE_INFINITY,
  ) {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, 'engram.sqlite');
    this.db = openDatabase(path);
    this.runs = new RunRows(this.db);
    this.metrics = new MetricRows(this.db);
    this.frames = new FrameStore(this.db, budget);
    this.globalBudget = new GlobalBudget(this.db, path, this.frames, budgetBytes);
    this.statements = {
      putCheckpoint: this.db.prepare(
        'INSERT OR REPLACE INTO checkpoints (run_id, iteration, created_at, data) VALUES (?, ?, ?, ?)',
      ),
      getCheckpoint: this.db.prepare('SELECT iteration, data FROM checkpoints WHERE run_id = ?'),
      deleteRun: [
        this.db.prepare('DELETE FROM metrics WHERE run_id = ?'),
        this.db.prepare('DELETE FROM frames WHERE run_id = ?'),
        this.db.prepare('DELETE FROM checkpoints WHERE run_id = ?'),
        this.db.prepare('DELETE FROM runs WHERE id = ?'),
      ],
    };
  }

  /** Remove a run and everything stored for it (metrics, frames, checkpoint) in one transaction. */
  deleteRun(runId: string): void {
    this.db.transaction(() => {
      for (const statement of this.statements.deleteRun) statement.run(runId);
    })();
    this.frames.forget(runId);
    this.summaries.forget(runId);
  }

  /** The single-frame bound of the budget. */
  get maxFrameBytes(): number {
    return this.budget.maxFrameBytes;
  }

  close(): void {
    this.db.close();
  }

  // ------------------------------------------------------------------------------------------ runs

  insertRun(run: StoredRun): void {
    this.runs.insert(run);
    // A new run has no points yet: its summary starts empty and follows appendMetrics, so it is never scanned.
    this.summaries.keep(run.id, new MetricSummary());
  }

  updateRun(run: RunSummary): void {
    this.runs.update(run);
  }

  updateRunConfig(runId: string, config: RunConfig): void {
    this.runs.updateConfig(runId, config);
  }

  /** An external run's declared controls (liveness is not stored: no client is connected after a restart). */
  updateRunClient(runId: string, client: ExternalClientInfo): void {
    this.runs.updateClient(runId, client);
  }

  allRuns(): StoredRun[] {
    return this.runs.all();
  }

  // ------------------------------------------------------------------------------------------ metrics

  /** Append metric points (and the run's summary) in one transaction. */
  readonly appendMetrics = (runId: string, points: readonly MetricPoint[], run: RunSummary | null): void => {
    this.commit(runId, { points, frames: [], checkpoint: null, run });
  };

  /**
   * Write one run's batch in one transaction: metric points, frames (then the run's thinning), its checkpoint and
   * its summary. A checkpoint therefore lands with every metric point gathered before it, never ahead of them. On
   * failure nothing of the batch is stored and the error (SQLITE_FULL, SQLITE_IOERR, …) is thrown to the caller,
   * which keeps the batch. Returns whether frames were thinned.
   */
  commit(runId: string, batch: CommitBatch): boolean {
    let thinned = false;
    try {
      this.db.transaction(() => {
        for (const p of batch.points) this.metrics.insert(runId, p);
        if (batch.frames.length > 0) {
          const index = this.frames.index(runId);
          for (const frame of batch.frames)
            this.frames.insert(runId, index, frame.iteration, frame.blob(), frame.pinned);
          thinned = this.frames.thin(runId, index);
        }
        if (batch.checkpoint !== null) {
          const { iteration, bytes } = batch.checkpoint;
          this.statements.putCheckpoint.run(
            runId,
            iteration,
            Date.now(),
            Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          );
        }
        if (batch.run !== null) this.updateRun(batch.run);
      })();
    } catch (error) {
      // The in-memory frame index may hold what the rolled-back transaction did: reload it from the database.
      this.frames.forget(runId);
      throw error;
    }
    this.summaries.extend(runId, batch.points);
    return thinned;
  }

  /** Points with `since < iteration ≤ until`, ascending, at most `limit` of them. */
  metricsPage(runId: string, since: number, until: number, limit: number): MetricPoint[] {
    return this.metrics.page(runId, since, until, limit);
  }

  /** How many points lie in `(since, until]`, and the first and last iteration among them (null when none). */
  metricsRange(runId: string, since: number, until: number): MetricRange {
    return this.metrics.range(runId, since, until);
  }

  /** The iteration of the point `offset` places before the newest one in `(since, until]`, or null. */
  metricIterationFromEnd(runId: string, since: number, until: number, offset: number): number | null {
    return this.metrics.iterationFromEnd(runId, since, until, offset);
  }

  /**
   * The run's whole history in a few thousand buckets (server/metric-overview.ts): built by one scan on first use
   * (a run stored before this process started), then kept current by commit. Every write to the metrics
   * table goes through commit, rollBack or deleteRun, which keep or drop it.
   */
  metricSummary(runId: string): MetricSummary {
    return this.summaries.summary(runId, () => this.eachMetric(runId, -1, Number.MAX_SAFE_INTEGER));
  }

  /** The run's summary if one is kept (no scan; it then counts as used). */
  keptMetricSummary(runId: string): MetricSummary | undefined {
    return this.summaries.kept(runId);
  }

  /** Points in `(since, until]`, ascending, one at a time (for overviews of histories too long to hold). */
  *eachMetric(runId: string, since: number, until: number): Generator<MetricPoint> {
    yield* this.metrics.each(runId, since, until);
  }

  // ------------------------------------------------------------------------------------------ frames

  /**
   * Store a frame, then thin the run's oldest frames if it is over budget: every other frame of the oldest half
   * goes, so the history stays scrubbable from the first iteration to the last. Returns true if thinning happened.
   */
  putFrame(runId: string, iteration: number, blob: Buffer, pinned: boolean): boolean {
    return this.commit(runId, {
      points: [],
      frames: [{ iteration, pinned, blob: () => blob }],
      checkpoint: null,
      run: null,
    });
  }

  frameIterations(runId: string): number[] {
    return this.frames.iterations(runId);
  }

  getFrame(runId: string, iteration: number): Buffer | null {
    return this.frames.get(runId, iteration);
  }

  // ------------------------------------------------------------------------------------------ global budget

  /** Bytes of the database's pages in use: the pages of the file (and its log) less the free list. */
  usedBytes(): number {
    return this.globalBudget.usedBytes();
  }

  /**
   * Bring the database under the global budget by thinning stored frames across runs, oldest run first
   * (server/storage-budget.ts). Returns the runs whose frames were thinned.
   */
  enforceBudget(): string[] {
    return this.globalBudget.enforce();
  }

  /** Usage against the global budget, in total and per run (frames from the index, metric points counted). */
  usage(): StorageUsage {
    return this.globalBudget.usage();
  }

  // ------------------------------------------------------------------------------------------ checkpoints

  putCheckpoint(runId: string, iteration: number, bytes: Uint8Array): void {
    this.commit(runId, { points: [], frames: [], checkpoint: { iteration, bytes }, run: null });
  }

  getCheckpoint(runId: string): { iteration: number; bytes: Uint8Array } | null {
    const row = this.statements.getCheckpoint.get(runId) as { iteration: number; data: Buffer } | undefined;
    return row === undefined ? null : { iteration: row.iteration, bytes: new Uint8Array(row.data) };
  }

  /** Forget metrics and unpinned frames after `iteration` (a run rolled back to its checkpoint). */
  rollBack(runId: string, iteration: number): void {
    const index = this.frames.index(runId);
    this.summaries.forget(runId);
    this.db.transaction(() => {
      this.metrics.deleteAfter(runId, iteration);
      this.frames.dropAfter(runId, index, iteration);
    })();
  }
}
