/**
 * Committing what each run has pending (server/run-persistence.ts), and what follows a commit: metric points and
 * frame lists for subscribers, the storage budget, and the run's summary at most every SUMMARY_INTERVAL_MS while
 * only its iteration changes. A failed commit keeps the data pending, pauses the run with `failure.reason =
 * 'storage'` and retries with backoff; the first commit that succeeds clears the failure and resumes a run that only
 * the failure paused. A storage failure episode (any run failing) is logged once, not per attempt.
 */
import { ApiError } from './errors';
import { type LiveRun, summary } from './live-run';
import type { MetricPoint, RunSummary } from './protocol';
import { RETRY_FIRST_MS, RETRY_MAX_MS } from './run-persistence';
import type { Storage } from './storage';
import { shortText } from './validate';
import type { WorkerCommand } from './worker/messages';

/** Summaries are rebroadcast at most this often while only the iteration changes (state changes go at once). */
const SUMMARY_INTERVAL_MS = 250;

/** What a flush tells the socket layer (the run manager's RunListener). */
export interface FlushListener {
  runUpdated(run: RunSummary): void;
  metrics(runId: string, points: MetricPoint[]): void;
  framesStored(runId: string, iterations: number[]): void;
}

/** What the flusher asks of the run manager. */
export interface FlushHost {
  /** The run's frame iterations, stored and pending. */
  frameIterations(runId: string): number[];
  /** A command no one awaits (pause on a storage failure, resume on recovery). */
  commandQuietly(live: LiveRun, command: WorkerCommand): void;
}

export class RunFlusher {
  /** Start of the current storage failure episode (any run failing), so it is logged once, not per attempt. */
  private storageDownSince: number | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly listener: FlushListener,
    private readonly runs: ReadonlyMap<string, LiveRun>,
    private readonly host: FlushHost,
  ) {}

  /** Flush every run (the flush timer). */
  flushAll(): void {
    for (const live of this.runs.values()) {
      try {
        this.flushRun(live);
      } catch (error) {
        console.error(`[engram] run ${live.run.id}: flushing failed:`, error);
      }
    }
  }

  /**
   * Commit what the run has pending (unless a failed commit's backoff is still running; `force` ignores it) and
   * tell subscribers.
   */
  flushRun(live: LiveRun, force = false): void {
    const failure = live.storageFailure;
    if (!live.pending.empty && (failure === null || force || Date.now() >= failure.nextRetryAt)) {
      if (live.pending.pointCount > 0) live.run.updatedAt = Date.now();
      try {
        const committed = live.pending.commit(this.storage, live.run);
        if (committed.frames > 0) this.enforceBudget();
        if (committed.thinned) live.framesDirty = true;
        if (live.storageFailure !== null) this.storageRecovered(live);
        if (committed.points.length > 0) this.listener.metrics(live.run.id, committed.points);
      } catch (error) {
        this.storageFailed(live, error);
      }
    }
    if (live.framesDirty) {
      live.framesDirty = false;
      this.listener.framesStored(live.run.id, this.host.frameIterations(live.run.id));
    }
    if (live.summaryDirty && Date.now() - live.lastBroadcast >= SUMMARY_INTERVAL_MS) this.broadcast(live);
  }

  /** Frames were stored: keep the data dir within its global budget, thinning the oldest runs' frames first. */
  private enforceBudget(): void {
    try {
      for (const runId of this.storage.enforceBudget()) {
        const thinned = this.runs.get(runId);
        if (thinned !== undefined) thinned.framesDirty = true;
      }
    } catch (error) {
      console.error('[engram] thinning frames for the storage budget failed:', error);
    }
  }

  /** A commit failed: keep the data pending, pause the run with a storage failure, retry with backoff. */
  private storageFailed(live: LiveRun, error: unknown): void {
    const now = Date.now();
    const failure = live.storageFailure;
    if (failure !== null) {
      failure.retryDelayMs = Math.min(failure.retryDelayMs * 2, RETRY_MAX_MS);
      failure.nextRetryAt = now + failure.retryDelayMs;
      return;
    }
    const running = live.run.state === 'running' && live.source !== null;
    const message =
      `storage write failed (${errorText(error)}); unsaved metrics and frames are kept in memory and retried` +
      (running ? ', and the run goes on by itself once writes succeed' : '');
    if (this.storageDownSince === null) {
      this.storageDownSince = now;
      console.error(`[engram] run ${live.run.id}: ${message}`);
    }
    live.storageFailure = {
      retryDelayMs: RETRY_FIRST_MS,
      nextRetryAt: now + RETRY_FIRST_MS,
      resumeOnRecovery: running,
    };
    if (live.run.failure === null) live.run.failure = { reason: 'storage', message, iteration: live.run.iteration };
    if (running) this.host.commandQuietly(live, { command: 'pause' });
    this.broadcast(live);
  }

  /** A commit succeeded after failures: clear the failure and resume a run that only the failure paused. */
  private storageRecovered(live: LiveRun): void {
    const failure = live.storageFailure;
    if (failure === null) return;
    live.storageFailure = null;
    const dropped = live.pending.takeDropped();
    if (live.run.failure?.reason === 'storage') {
      live.run.failure = null;
      live.pending.markRun(); // the row just committed still says 'storage'; the next flush clears it on disk
    }
    if (this.storageDownSince !== null && [...this.runs.values()].every((l) => l.storageFailure === null)) {
      console.warn(
        `[engram] storage writes succeed again after ${((Date.now() - this.storageDownSince) / 1000).toFixed(1)} s` +
          (dropped > 0 ? `; ${dropped} pending frames of run ${live.run.id} were dropped to bound memory` : '') +
          '; no metric point was lost',
      );
      this.storageDownSince = null;
    }
    // Sent even if the run still shows running: the source applies commands in order, so this follows the pause.
    if (failure.resumeOnRecovery && live.source !== null) this.host.commandQuietly(live, { command: 'resume' });
    this.broadcast(live);
  }

  /** A run was deleted: when no run left fails, the failure episode is over. */
  runDeleted(): void {
    if ([...this.runs.values()].every((l) => l.storageFailure === null)) this.storageDownSince = null;
  }

  /** Send the run's summary now. */
  broadcast(live: LiveRun): void {
    live.summaryDirty = false;
    live.lastBroadcast = Date.now();
    this.listener.runUpdated(summary(live.run));
  }
}

/** A user's command or a NaN pause: after a storage failure the run then stays as it was left. */
export function keepStateAfterRecovery(live: LiveRun): void {
  if (live.storageFailure !== null) live.storageFailure.resumeOnRecovery = false;
}

/** Refuse a command that would train a run while its storage fails. */
export function assertStorageHealthy(live: LiveRun, command: string): void {
  if (live.storageFailure === null) return;
  throw new ApiError(
    'storage_failed',
    `cannot ${command} run ${live.run.id} while storage fails (${live.run.failure?.message ?? 'write failed'})`,
  );
}

/** A storage error as the answer to a command: its code (SQLITE_FULL, ENOSPC, …) and message, nothing more. */
export function storageError(what: string, error: unknown): ApiError {
  console.error(`[engram] ${what}: storage write failed (${errorText(error)})`);
  return new ApiError('storage_failed', `${what}: storage write failed (${errorText(error)})`);
}

function errorText(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : null;
  const message = error instanceof Error ? error.message : String(error);
  return shortText(code === null || message.includes(code) ? message : `${code}: ${message}`, 200);
}
