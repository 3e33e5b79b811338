/**
 * The engine source: one worker thread that trains the run (server/worker/run-worker.ts). Commands go to the worker
 * with an id and resolve on its reply, sent at the worker's next safe point; everything else it posts is reported to
 * the run's sink.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ApiError } from './errors';
import { isOutOfMemory } from './out-of-memory';
import type { RunConfig } from './protocol';
import type { RunSink, RunSource } from './run-source';
import type { FromWorker, RunHooks, ToWorker, WorkerCommand } from './worker/messages';

export interface EngineSourceOptions {
  runId: string;
  config: RunConfig;
  hooks: RunHooks;
  /** Restore from this checkpoint instead of starting fresh. */
  checkpoint: Uint8Array | null;
  startPaused: boolean;
  checkpointIntervalMs: number;
  /** V8 old-generation limit of the worker; past it the run fails with reason `out_of_memory`. */
  maxOldGenerationMb: number;
  /** Set in the worker's environment on top of the server's (e.g. ENGRAM_BACKEND). */
  workerEnv: Readonly<Record<string, string>>;
}

interface PendingReply {
  resolve: () => void;
  reject: (error: ApiError) => void;
}

const WORKER_BOOTSTRAP = join(__dirname, 'worker', 'run-worker.mjs');
/** How long close() waits for the worker's last checkpoint. */
const CLOSE_CHECKPOINT_MS = 3000;
/** A finished or stopped worker closes its port and exits; terminate covers one that lingers. */
const LINGER_MS = 2000;

export class EngineSource implements RunSource {
  readonly kind = 'engine';
  private worker: Worker | null;
  private readonly pendingReplies = new Map<number, PendingReply>();
  private nextCommandId = 1;

  constructor(
    private readonly options: EngineSourceOptions,
    private readonly sink: RunSink,
  ) {
    const worker = new Worker(WORKER_BOOTSTRAP, {
      env: { ...process.env, ...options.workerEnv },
      resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenerationMb },
    });
    this.worker = worker;
    const init: ToWorker = {
      type: 'init',
      runId: options.runId,
      config: options.config,
      hooks: options.hooks,
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
    return new Promise<void>((resolve, reject) => {
      this.pendingReplies.set(id, { resolve, reject });
      const message: ToWorker = { type: 'command', id, ...command };
      worker.postMessage(message);
    });
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
    if (worker !== null) await worker.terminate();
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        this.sink.ready(message.engine);
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

  private rejectPending(reason: string): void {
    for (const pending of this.pendingReplies.values())
      pending.reject(new ApiError('invalid_state', `run ${this.options.runId}: ${reason}`));
    this.pendingReplies.clear();
  }
}

function outOfMemoryMessage(cause: string): string {
  return `the training worker ran out of memory (${cause.length > 120 ? `${cause.slice(0, 117)}...` : cause})`;
}
