/**
 * The engine source: one worker thread that trains the run (server/worker/run-worker.ts). Commands go to the worker
 * with an id and resolve on its reply, sent at the worker's next safe point; everything else it posts is reported to
 * the run's sink.
 *
 * Every command is answered within a bound. A worker that does not reply within `commandTimeoutMs` (it is inside an
 * iteration that does not end: a huge sequence, a model that does not fit) gets the command answered `timeout`; the
 * command stays queued and applies at the worker's next safe point. Stop always wins: a worker that has not stopped
 * within `stopGraceMs` is terminated, and the run is stopped at its last committed checkpoint.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ApiError } from './errors';
import { isOutOfMemory } from './out-of-memory';
import type { RunConfig } from './protocol';
import type { RunSink, RunSource } from './run-source';
import type { FromWorker, ToWorker, WorkerCommand } from './worker/messages';
import { resolveRunConfig } from './worker/trainer-source';

/**
 * How engine runs are trained: where a client's config is resolved and which worker module trains a run. The
 * server uses `ENGINE_TRAINING`; another implementation (a test double) is injected through the server's options.
 */
export interface EngineTraining {
  /** Resolve the config of new run `runId` (flag names, omitted fields defaulted); throws ConfigError naming the
   *  field. */
  resolveConfig(runId: string, input: Record<string, unknown>): Promise<RunConfig>;
  /** The module a worker of run `runId` runs (an absolute path) and the `workerData` it starts with. */
  worker(runId: string): { entry: string; data?: unknown };
}

/** The engine's own config parser and worker (server/worker/run-worker.mjs). */
export const ENGINE_TRAINING: EngineTraining = {
  resolveConfig: (_runId, input) => resolveRunConfig(input),
  worker: () => ({ entry: join(__dirname, 'worker', 'run-worker.mjs') }),
};

export interface EngineSourceOptions {
  runId: string;
  config: RunConfig;
  /** Restore from this checkpoint instead of starting fresh. */
  checkpoint: Uint8Array | null;
  startPaused: boolean;
  checkpointIntervalMs: number;
  /** V8 old-generation limit of the worker; past it the run fails with reason `out_of_memory`. */
  maxOldGenerationMb: number;
  /** Set in the worker's environment on top of the server's (e.g. ENGRAM_BACKEND). */
  workerEnv: Readonly<Record<string, string>>;
  /** The worker module and its `workerData` (EngineTraining.worker). */
  worker: { entry: string; data?: unknown };
  /** How long a command waits for the worker's reply (once the worker is up) before it is answered `timeout`. */
  commandTimeoutMs: number;
  /** How long stop waits for the worker to stop before terminating it. */
  stopGraceMs: number;
}

interface PendingReply {
  command: WorkerCommand['command'];
  resolve: () => void;
  reject: (error: ApiError) => void;
  timer: NodeJS.Timeout | null;
}

/** How long a new worker may take to load the engine and restore its checkpoint before its commands time out. */
const WORKER_START_MS = 60_000;
/** How long close() waits for the worker's last checkpoint. */
const CLOSE_CHECKPOINT_MS = 3000;
/** A finished or stopped worker closes its port and exits; terminate covers one that lingers. */
const LINGER_MS = 2000;

export class EngineSource implements RunSource {
  readonly kind = 'engine';
  private worker: Worker | null;
  /** The worker reported `ready`: from then on a command's bound is `commandTimeoutMs`. */
  private started = false;
  private readonly startedBy: number;
  private readonly pendingReplies = new Map<number, PendingReply>();
  private nextCommandId = 1;

  constructor(
    private readonly options: EngineSourceOptions,
    private readonly sink: RunSink,
  ) {
    const worker = new Worker(options.worker.entry, {
      env: { ...process.env, ...options.workerEnv },
      resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenerationMb },
      workerData: options.worker.data,
    });
    this.worker = worker;
    this.startedBy = Date.now() + WORKER_START_MS;
    const init: ToWorker = {
      type: 'init',
      runId: options.runId,
      config: options.config,
      checkpoint: options.checkpoint,
      startPaused: options.startPaused,
      checkpointIntervalMs: options.checkpointIntervalMs,
    };
    worker.postMessage(init);
    worker.on('message', (message: FromWorker) => {
      if (this.worker !== worker) return;
      try {
        this.onMessage(message);
      } catch (error) {
        console.error(`[engram] run ${options.runId}: handling worker message ${message.type} failed:`, error);
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (this.worker !== worker) return;
      const oom = isOutOfMemory(error);
      console.error(`[engram] run ${options.runId}: worker ${oom ? 'ran out of memory' : 'failed'}:`, error);
      this.failWith(oom ? 'out_of_memory' : 'worker_error', oom ? outOfMemoryMessage(error.message) : error.message);
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.rejectPending(`the training worker exited (code ${code})`);
      this.sink.gone(`the training worker exited unexpectedly (code ${code})`, 'failed');
    });
  }

  command(command: WorkerCommand): Promise<void> {
    const worker = this.worker;
    if (worker === null)
      return Promise.reject(new ApiError('invalid_state', `run ${this.options.runId} has no training worker`));
    const id = this.nextCommandId++;
    const reply = new Promise<void>((resolve, reject) => {
      const pending: PendingReply = { command: command.command, resolve, reject, timer: null };
      this.pendingReplies.set(id, pending);
      // Stop has its own bound (stopGraceMs, below); every other command is answered `timeout` past its bound.
      if (command.command !== 'stop') this.arm(id, pending);
      const message: ToWorker = { type: 'command', id, ...command };
      worker.postMessage(message);
    });
    if (command.command === 'stop') return this.stopWithin(worker, reply);
    return reply;
  }

  frameConsumed(): void {
    const consumed: ToWorker = { type: 'frame-consumed' };
    this.worker?.postMessage(consumed);
  }

  async close(): Promise<void> {
    if (this.worker === null) return;
    await Promise.race([
      this.command({ command: 'checkpoint' }).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, CLOSE_CHECKPOINT_MS)),
    ]);
    const worker = this.worker;
    this.worker = null;
    this.rejectPending('the server is shutting down');
    if (worker !== null) await worker.terminate();
  }

  /** Answer command `id` with `timeout` once its bound passes: `commandTimeoutMs` after the worker is up (while it
   *  starts, that long after its start bound). */
  private arm(id: number, pending: PendingReply): void {
    if (pending.timer !== null) clearTimeout(pending.timer);
    const startLeft = this.started ? 0 : Math.max(0, this.startedBy - Date.now());
    const timeoutMs = this.options.commandTimeoutMs;
    pending.timer = setTimeout(() => {
      if (this.pendingReplies.get(id) !== pending) return;
      this.pendingReplies.delete(id);
      pending.reject(
        new ApiError(
          'timeout',
          `run ${this.options.runId}: the training worker did not answer ${pending.command} within ` +
            `${timeoutMs} ms (it is inside an iteration that has not ended); the command stays queued and ` +
            'applies when the iteration ends. Stop ends the run at its last checkpoint.',
        ),
      );
    }, startLeft + timeoutMs);
    pending.timer.unref();
  }

  /** Stop always wins: a worker that has not stopped within the grace period is terminated, and the run is stopped
   *  at its last committed checkpoint. */
  private stopWithin(worker: Worker, reply: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | null = null;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (this.worker !== worker) return resolve();
        console.warn(
          `[engram] run ${this.options.runId}: the training worker did not stop within ${this.options.stopGraceMs} ` +
            'ms; terminating it (the run keeps its last checkpoint)',
        );
        this.worker = null;
        this.rejectPending('it was stopped before the training worker answered', 'stop');
        this.sink.state('stopped', null);
        void worker.terminate();
        resolve();
      }, this.options.stopGraceMs);
    });
    return Promise.race([reply, grace]).finally(() => {
      if (timer !== null) clearTimeout(timer);
    });
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.sink.ready(message.engine);
        this.started = true;
        for (const [id, pending] of this.pendingReplies) if (pending.timer !== null) this.arm(id, pending);
        break;
      case 'iteration':
        this.sink.iteration(message.point, message.metricName, message.frame);
        break;
      case 'nonfinite':
        this.sink.nonFinite(message.failure, message.frame);
        break;
      case 'checkpoint':
        this.sink.checkpoint(message.iteration, message.bytes);
        break;
      case 'state':
        this.sink.state(message.state, message.iteration);
        if ((message.state === 'finished' || message.state === 'stopped') && this.worker !== null) {
          const worker = this.worker;
          setTimeout(() => void worker.terminate(), LINGER_MS).unref();
        }
        break;
      case 'reply': {
        const pending = this.pendingReplies.get(message.id);
        this.pendingReplies.delete(message.id);
        if (pending === undefined) break;
        if (pending.timer !== null) clearTimeout(pending.timer);
        if (message.ok) pending.resolve();
        else pending.reject(new ApiError(message.code, message.message));
        break;
      }
      case 'fatal': {
        console.error(`[engram] run ${this.options.runId}: worker error: ${message.stack ?? message.message}`);
        // The engine's allocations fail inside the worker's loop (wasm abort, typed arrays) and reach here.
        const oom = isOutOfMemory(message);
        this.failWith(
          oom ? 'out_of_memory' : message.reason,
          oom ? outOfMemoryMessage(message.message) : message.message,
        );
        break;
      }
    }
  }

  private failWith(reason: string, message: string): void {
    const worker = this.worker;
    this.worker = null;
    this.rejectPending(`failed: ${message}`);
    this.sink.fail(reason, message);
    if (worker !== null) void worker.terminate();
  }

  /** Settle every pending command: `invalid_state` naming `reason`, except those of command `done`, resolved. */
  private rejectPending(reason: string, done?: WorkerCommand['command']): void {
    for (const pending of this.pendingReplies.values()) {
      if (pending.timer !== null) clearTimeout(pending.timer);
      if (pending.command === done) pending.resolve();
      else pending.reject(new ApiError('invalid_state', `run ${this.options.runId}: ${reason}`));
    }
    this.pendingReplies.clear();
  }
}

function outOfMemoryMessage(cause: string): string {
  return `the training worker ran out of memory (${cause.length > 120 ? `${cause.slice(0, 117)}...` : cause})`;
}
