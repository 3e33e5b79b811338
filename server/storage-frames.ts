/**
 * The `frames` table: a run's stored debug frames (blobs), with an in-memory index of each run's frames so that
 * thinning needs no query. Past the per-run budget every other frame of the oldest half goes, so the history stays
 * scrubbable from the first iteration to the last; pinned frames (a NaN's, captures) always stay.
 */
import type Database from 'better-sqlite3';

export interface FrameBudget {
  /** Most frames kept per run (pinned frames, e.g. a NaN's, are not counted). */
  maxFrames: number;
  /** Most frame bytes kept per run. */
  maxBytes: number;
  /** Largest single frame kept or streamed; a bigger one is dropped (and counted) so one download stays bounded. */
  maxFrameBytes: number;
}

/** In-memory index of one run's stored frames, oldest first, so thinning needs no query. */
export interface FrameIndex {
  iterations: number[];
  bytes: Map<number, number>;
  pinned: Set<number>;
  totalBytes: number;
}

/** The frames table's statements and each run's frame index (server/storage.ts delegates a run's frames to it). */
export class FrameStore {
  private readonly frameIndexes = new Map<string, FrameIndex>();
  private readonly statements;

  constructor(
    db: Database.Database,
    private readonly budget: FrameBudget,
  ) {
    this.statements = {
      insertFrame: db.prepare(
        'INSERT OR REPLACE INTO frames (run_id, iteration, bytes, pinned, data) VALUES (?, ?, ?, ?, ?)',
      ),
      frameIndex: db.prepare('SELECT iteration, bytes, pinned FROM frames WHERE run_id = ? ORDER BY iteration'),
      getFrame: db.prepare('SELECT data FROM frames WHERE run_id = ? AND iteration = ?'),
      deleteFrame: db.prepare('DELETE FROM frames WHERE run_id = ? AND iteration = ?'),
    };
  }

  /** Store one frame and index it (inside the caller's transaction). */
  insert(runId: string, index: FrameIndex, iteration: number, blob: Buffer, pinned: boolean): void {
    this.statements.insertFrame.run(runId, iteration, blob.length, pinned ? 1 : 0, blob);
    const previous = index.bytes.get(iteration);
    if (previous === undefined) {
      const at = sortedInsertPosition(index.iterations, iteration);
      index.iterations.splice(at, 0, iteration);
    } else {
      index.totalBytes -= previous;
    }
    index.bytes.set(iteration, blob.length);
    index.totalBytes += blob.length;
    if (pinned) index.pinned.add(iteration);
  }

  /** Thin the run's oldest unpinned frames until it is within the per-run budget. Returns whether it thinned. */
  thin(runId: string, index: FrameIndex): boolean {
    let thinned = false;
    for (;;) {
      const unpinned = index.iterations.filter((it) => !index.pinned.has(it));
      const unpinnedBytes = unpinned.reduce((sum, it) => sum + (index.bytes.get(it) ?? 0), 0);
      if (unpinned.length <= this.budget.maxFrames && unpinnedBytes <= this.budget.maxBytes) return thinned;
      if (unpinned.length < 3) return thinned; // keep the first and the newest whatever the budget says
      this.thinOldestHalf(runId, index, unpinned);
      thinned = true;
    }
  }

  /** Drop every other frame of the oldest half of `unpinned` (at least 3 frames: the first and newest stay). */
  thinOldestHalf(runId: string, index: FrameIndex, unpinned: readonly number[]): void {
    const oldestHalf = unpinned.slice(0, Math.max(2, Math.floor(unpinned.length / 2)));
    const drop = new Set(oldestHalf.filter((_, i) => i % 2 === 1));
    for (const it of drop) {
      this.statements.deleteFrame.run(runId, it);
      index.totalBytes -= index.bytes.get(it) ?? 0;
      index.bytes.delete(it);
    }
    index.iterations = index.iterations.filter((it) => !drop.has(it));
  }

  /** Drop the unpinned frames after `iteration` (inside the caller's transaction). */
  dropAfter(runId: string, index: FrameIndex, iteration: number): void {
    for (const it of index.iterations.filter((i) => i > iteration && !index.pinned.has(i))) {
      this.statements.deleteFrame.run(runId, it);
      index.totalBytes -= index.bytes.get(it) ?? 0;
      index.bytes.delete(it);
    }
    index.iterations = index.iterations.filter((i) => i <= iteration || index.pinned.has(i));
  }

  iterations(runId: string): number[] {
    return [...this.index(runId).iterations];
  }

  get(runId: string, iteration: number): Buffer | null {
    const row = this.statements.getFrame.get(runId, iteration) as { data: Buffer } | undefined;
    return row === undefined ? null : row.data;
  }

  /** The run's frame index, read from the table on first use. */
  index(runId: string): FrameIndex {
    let index = this.frameIndexes.get(runId);
    if (index === undefined) {
      const rows = this.statements.frameIndex.all(runId) as { iteration: number; bytes: number; pinned: number }[];
      index = { iterations: [], bytes: new Map(), pinned: new Set(), totalBytes: 0 };
      for (const r of rows) {
        index.iterations.push(r.iteration);
        index.bytes.set(r.iteration, r.bytes);
        index.totalBytes += r.bytes;
        if (r.pinned === 1) index.pinned.add(r.iteration);
      }
      this.frameIndexes.set(runId, index);
    }
    return index;
  }

  /** Drop the run's in-memory index (the run is gone, or the index may hold a rolled-back transaction's writes). */
  forget(runId: string): void {
    this.frameIndexes.delete(runId);
  }
}

function sortedInsertPosition(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
