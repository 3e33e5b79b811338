/**
 * The global storage budget over every run: the database's bytes in use, frames thinned across runs (oldest run
 * first) when they pass the budget, and the usage report against it per run.
 */
import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import type { StorageUsage } from './protocol';
import type { FrameStore } from './storage-frames';

/** The global budget's reads and thinning (server/storage.ts delegates to it). */
export class GlobalBudget {
  private readonly statements;
  /** The global budget's "cannot thin further" state, so it is logged once per episode. */
  private overBudget = false;

  /** `budgetBytes`: the global storage budget over all runs (frames are thinned oldest run first past it). */
  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly frames: FrameStore,
    readonly budgetBytes: number,
  ) {
    this.statements = {
      runsByAge: db.prepare('SELECT id FROM runs ORDER BY created_at, id'),
      metricCounts: db.prepare('SELECT run_id, COUNT(*) AS n FROM metrics GROUP BY run_id'),
      checkpointSizes: db.prepare('SELECT run_id, length(data) AS bytes FROM checkpoints'),
    };
  }

  /** Bytes of the database's pages in use: the pages of the file (and its log) less the free list. */
  usedBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /**
   * Bring the database under the global budget by thinning stored frames across runs, oldest run first (by
   * creation): a run is thinned (every other frame of its oldest half, as the per-run budget does) until it is down
   * to its first and newest unpinned frames before the next run is touched. Pinned frames (NaN, captures) stay and
   * metrics and checkpoints are never dropped; when nothing is left to thin the database stays over budget, logged
   * once. Returns the runs whose frames were thinned.
   */
  enforce(): string[] {
    if (this.usedBytes() <= this.budgetBytes) {
      this.overBudget = false;
      return [];
    }
    const thinned: string[] = [];
    const runIds = (this.statements.runsByAge.all() as { id: string }[]).map((r) => r.id);
    for (const runId of runIds) {
      const index = this.frames.index(runId);
      for (;;) {
        const unpinned = index.iterations.filter((it) => !index.pinned.has(it));
        if (unpinned.length < 3) break;
        this.db.transaction(() => this.frames.thinOldestHalf(runId, index, unpinned))();
        if (thinned[thinned.length - 1] !== runId) thinned.push(runId);
        if (this.usedBytes() <= this.budgetBytes) {
          this.overBudget = false;
          return thinned;
        }
      }
    }
    if (!this.overBudget)
      console.warn(
        `[engram] storage uses ${megabytes(this.usedBytes())}, over its budget of ${megabytes(this.budgetBytes)} ` +
          '(ENGRAM_STORAGE_BUDGET_MB), with no frame left to thin: metrics and checkpoints are kept',
      );
    this.overBudget = true;
    return thinned;
  }

  /** Usage against the global budget, in total and per run (frames from the index, metric points counted). */
  usage(): StorageUsage {
    const metricCounts = new Map(
      (this.statements.metricCounts.all() as { run_id: string; n: number }[]).map((r) => [r.run_id, r.n]),
    );
    const checkpointSizes = new Map(
      (this.statements.checkpointSizes.all() as { run_id: string; bytes: number }[]).map((r) => [r.run_id, r.bytes]),
    );
    const runIds = (this.statements.runsByAge.all() as { id: string }[]).map((r) => r.id);
    let fileBytes = 0;
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        fileBytes += statSync(this.path + suffix).size;
      } catch {
        // The log and index exist only while the database is open in WAL mode.
      }
    }
    return {
      usedBytes: this.usedBytes(),
      fileBytes,
      budgetBytes: Number.isFinite(this.budgetBytes) ? this.budgetBytes : null,
      overBudget: this.overBudget,
      perRun: runIds.map((runId) => {
        const index = this.frames.index(runId);
        return {
          runId,
          frames: index.iterations.length,
          frameBytes: index.totalBytes,
          metricPoints: metricCounts.get(runId) ?? 0,
          checkpointBytes: checkpointSizes.get(runId) ?? 0,
        };
      }),
    };
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
