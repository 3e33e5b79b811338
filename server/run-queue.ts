/**
 * The queue of engine runs waiting to train: first in, first out, under two limits: at most `maxTraining` runs
 * training at once, and the summed memory estimates of the runs that hold a worker within `budgetBytes`. The run
 * manager owns the runs; this module only keeps their order and says which may start now. Strict FIFO: a run that
 * does not fit holds back the ones behind it, so a big run is never starved by a stream of small ones.
 */

export interface QueueLimits {
  /** Sum of memory estimates (bytes) of runs holding a worker. */
  budgetBytes: number;
  /** Engine runs training at once. */
  maxTraining: number;
}

/** What the manager reports about the runs that are not waiting. */
export interface QueueUsage {
  /** Engine runs training (or starting) now. */
  training: number;
  /** Memory estimates (bytes) of the runs that hold a worker now. */
  heldBytes: number;
}

/** One waiting run as the queue needs it. */
export interface QueuedRun {
  estimateBytes: number;
  /** It already holds a worker (a paused run asked to resume): its memory is in `heldBytes` already. */
  holdsWorker: boolean;
}

export class RunQueue {
  private readonly waiting: string[] = [];

  constructor(readonly limits: QueueLimits) {}

  get size(): number {
    return this.waiting.length;
  }

  has(runId: string): boolean {
    return this.waiting.includes(runId);
  }

  /** Position (0: next to start) of a waiting run, or -1. */
  position(runId: string): number {
    return this.waiting.indexOf(runId);
  }

  enqueue(runId: string): void {
    if (!this.has(runId)) this.waiting.push(runId);
  }

  /** Take a run out of the queue (stopped, paused or deleted while waiting); false when it was not there. */
  remove(runId: string): boolean {
    const index = this.waiting.indexOf(runId);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  /** Whether a run may start now beside the current usage (a run not queued, or the head of the queue). */
  fits(run: QueuedRun, usage: QueueUsage): boolean {
    return (
      usage.training < this.limits.maxTraining &&
      usage.heldBytes + (run.holdsWorker ? 0 : run.estimateBytes) <= this.limits.budgetBytes
    );
  }

  /**
   * Take from the head of the queue every run that fits, in order, counting each as training (and holding its
   * memory) before the next is tried. `describe` returns null for an id the manager no longer knows (dropped).
   */
  admit(usage: QueueUsage, describe: (runId: string) => QueuedRun | null): string[] {
    const admitted: string[] = [];
    let { training, heldBytes } = usage;
    while (this.waiting.length > 0) {
      const runId = this.waiting[0];
      const run = describe(runId);
      if (run === null) {
        this.waiting.shift();
        continue;
      }
      if (!this.fits(run, { training, heldBytes })) break;
      this.waiting.shift();
      admitted.push(runId);
      training += 1;
      if (!run.holdsWorker) heldBytes += run.estimateBytes;
    }
    return admitted;
  }
}
