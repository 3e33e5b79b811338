/**
 * What a run has reported but storage has not committed yet: metric points, frames, its newest checkpoint and
 * whether its summary row changed. The run manager gathers them here as they arrive and commits them together every
 * flush (server/storage.ts `commit`), so a checkpoint for iteration k is stored in the same transaction as every
 * metric point up to k, or after them: a `kill -9` never leaves a checkpoint ahead of the stored metrics.
 *
 * When a commit fails (disk full, I/O error) nothing is lost: the batch stays here and is retried with backoff.
 * Memory stays bounded while storage is down: frames past PENDING_FRAME_BYTES are dropped oldest first (pinned ones
 * last); metric points are never dropped, the run is paused instead, and an external client that keeps sending
 * past PENDING_METRIC_POINTS is refused with a typed error.
 */
import { FrameBlobWriter } from './frame-codec';
import type { MetricPoint, RunSummary } from './protocol';
import type { CommitBatch, Storage } from './storage';
import type { PackedFrame } from './worker/messages';

/** Frame bytes a run keeps in memory while storage fails; older unpinned frames go first past it. */
export const PENDING_FRAME_BYTES = 64 * 1024 * 1024;
/** Metric points a run keeps in memory while storage fails (about 20 MB); past it external ingest is refused. */
export const PENDING_METRIC_POINTS = 100_000;

/** First retry delay after a failed commit, doubled per failure up to RETRY_MAX_MS. */
export const RETRY_FIRST_MS = 250;
export const RETRY_MAX_MS = 5000;

interface PendingFrame {
  frame: PackedFrame;
  pinned: boolean;
}

/** Pending frames are serialized only as a commit writes them, one after another into this writer's buffer. */
const blobWriter = new FrameBlobWriter();

/** What one successful commit stored. */
export interface Committed {
  points: MetricPoint[];
  frames: number;
  /** The run's frames were thinned by its per-run budget. */
  thinned: boolean;
}

export class PendingWrites {
  private points: MetricPoint[] = [];
  private frames: PendingFrame[] = [];
  private frameBytes = 0;
  private checkpoint: { iteration: number; bytes: Uint8Array } | null = null;
  private runDirty = false;
  /** Frames dropped for the memory bound while storage failed (reset by `takeDropped`). */
  private droppedFrames = 0;

  constructor(private readonly runId: string) {}

  get empty(): boolean {
    return this.points.length === 0 && this.frames.length === 0 && this.checkpoint === null && !this.runDirty;
  }

  get pointCount(): number {
    return this.points.length;
  }

  get frameCount(): number {
    return this.frames.length;
  }

  addPoint(point: MetricPoint): void {
    this.points.push(point);
  }

  /** Keep a frame for the next commit; past the memory bound the oldest unpinned pending frames are dropped. */
  addFrame(frame: PackedFrame, pinned: boolean): void {
    const existing = this.frames.findIndex((f) => f.frame.iteration === frame.iteration);
    if (existing >= 0) {
      this.frameBytes -= this.frames[existing].frame.buffer.byteLength;
      pinned ||= this.frames[existing].pinned;
      this.frames.splice(existing, 1);
    }
    this.frames.push({ frame, pinned });
    this.frameBytes += frame.buffer.byteLength;
    while (this.frameBytes > PENDING_FRAME_BYTES && this.frames.length > 1) {
      const oldest = this.frames.findIndex((f) => !f.pinned);
      const at = oldest >= 0 && oldest < this.frames.length - 1 ? oldest : 0;
      this.frameBytes -= this.frames[at].frame.buffer.byteLength;
      this.frames.splice(at, 1);
      this.droppedFrames++;
    }
  }

  /** A newer checkpoint replaces a pending older one: only the latest is kept, as in storage. */
  setCheckpoint(iteration: number, bytes: Uint8Array): void {
    this.checkpoint = { iteration, bytes };
  }

  markRun(): void {
    this.runDirty = true;
  }

  /** Pending points after `since`, in iteration order (they are newer than anything stored). */
  metricsSince(since: number): MetricPoint[] {
    return this.points.filter((p) => p.iteration > since);
  }

  frameIterations(): number[] {
    return this.frames.map((f) => f.frame.iteration);
  }

  /** A pending frame as it arrived (shared, not copied: frames are never changed once packed). */
  frame(iteration: number): PackedFrame | null {
    return this.frames.find((f) => f.frame.iteration === iteration)?.frame ?? null;
  }

  takeDropped(): number {
    const dropped = this.droppedFrames;
    this.droppedFrames = 0;
    return dropped;
  }

  /** Forget what is pending (the run rolled back to its checkpoint, or was deleted). */
  clear(): void {
    this.points = [];
    this.frames = [];
    this.frameBytes = 0;
    this.checkpoint = null;
    this.runDirty = false;
  }

  /**
   * Write everything pending in one transaction, with `run` as the summary row. On success the pending state is
   * emptied and what was written returned; on failure the error is thrown and everything stays pending.
   */
  commit(storage: Storage, run: RunSummary): Committed {
    const batch: CommitBatch = {
      points: this.points,
      frames: this.frames.map(({ frame, pinned }) => ({
        iteration: frame.iteration,
        pinned,
        blob: () => blobWriter.encode(frame),
      })),
      checkpoint: this.checkpoint,
      run: this.runDirty || this.points.length > 0 ? run : null,
    };
    const thinned = storage.commit(this.runId, batch);
    const committed = { points: this.points, frames: this.frames.length, thinned };
    this.clear();
    return committed;
  }
}
