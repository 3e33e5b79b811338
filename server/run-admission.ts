/**
 * Admission of engine runs to training: whether a run may start now, the queue it waits in otherwise
 * (server/run-queue.ts keeps the order), and starting the queued runs that fit whenever a slot or memory frees. The
 * usage the queue weighs (runs training, memory held by workers) is counted here from the live runs.
 */
import { formatMegabytes } from './admission';
import { ApiError } from './errors';
import type { LiveRun } from './live-run';
import { type QueueUsage, RunQueue } from './run-queue';

export class RunAdmission {
  readonly queue: RunQueue;
  private admitting = false;

  constructor(
    private readonly runs: ReadonlyMap<string, LiveRun>,
    private readonly memoryBudgetBytes: number,
    maxTraining: number,
    /** Whether the manager is shutting down: nothing starts then. */
    private readonly closed: () => boolean,
    /** A queued run's turn: the manager gives it a worker and tells it to resume. */
    private readonly startQueued: (live: LiveRun) => void,
  ) {
    this.queue = new RunQueue({ budgetBytes: memoryBudgetBytes, maxTraining });
  }

  /** Training engine runs and the memory held by engine workers (the queue's view of the other runs). */
  private usage(): QueueUsage {
    let training = 0;
    let heldBytes = 0;
    for (const live of this.runs.values()) {
      if (live.estimate === null) continue;
      if (live.run.state === 'running') training += 1;
      if (live.run.state === 'running' || live.source !== null) heldBytes += live.estimate.bytes;
    }
    return { training, heldBytes };
  }

  /** Whether a run may start training now: nobody waits before it, and it fits the training cap and the budget. */
  mayStart(estimateBytes: number, holdsWorker: boolean): boolean {
    return this.queue.size === 0 && this.queue.fits({ estimateBytes, holdsWorker }, this.usage());
  }

  /** Refuse to give a run a worker (step or configure of an interrupted run) that the budget cannot hold now. */
  assertBudgetFor(live: LiveRun): void {
    const estimate = live.estimate;
    if (estimate === null) return;
    const { heldBytes } = this.usage();
    if (heldBytes + estimate.bytes <= this.memoryBudgetBytes) return;
    throw new ApiError(
      'over_budget',
      `run ${live.run.id} needs an estimated ${formatMegabytes(estimate.bytes)}, but workers hold ` +
        `${formatMegabytes(heldBytes)} of the ${formatMegabytes(this.memoryBudgetBytes)} memory budget; ` +
        'stop a run or resume this one (it then waits queued)',
    );
  }

  /** Start the queued runs that fit now, in FIFO order. Called whenever a slot or memory may have freed. */
  admitQueued(): void {
    if (this.admitting || this.closed() || this.queue.size === 0) return;
    this.admitting = true;
    try {
      const admitted = this.queue.admit(this.usage(), (runId) => {
        const live = this.runs.get(runId);
        if (live === undefined || live.run.state !== 'queued' || live.estimate === null) return null;
        return { estimateBytes: live.estimate.bytes, holdsWorker: live.source !== null };
      });
      for (const runId of admitted) {
        const live = this.runs.get(runId);
        if (live !== undefined) this.startQueued(live);
      }
    } finally {
      this.admitting = false;
    }
  }
}
