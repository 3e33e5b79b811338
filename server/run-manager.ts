/**
 * The run manager: creates runs, owns one training worker per live run, applies controls, persists metrics, frames
 * and checkpoints, and tells its listener (the socket layer) what changed. Workers never wait for it: it batches
 * metric points and writes them with the run's summary every `flushIntervalMs`.
 *
 * States: running → paused ⇄ running → finished | stopped; failed when the worker throws, dies or runs out of
 * memory; a NaN pauses the run with `failure` set; runs that were running when the server died come back
 * `interrupted` and resume from their last checkpoint.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ApiError } from './errors';
import { decodeFrameBlob, encodeFrameBlob, frameBytes, toWireFrame } from './frame-codec';
import {
  MAX_STEP_ITERATIONS,
  type MetricPoint,
  type RunConfig,
  type RunConfigInput,
  type RunFailure,
  type RunState,
  type RunSummary,
  type WireFrame,
} from './protocol';
import type { Storage, StoredRun } from './storage';
import { describe, shortText } from './validate';
import type { FromWorker, PackedFrame, RunHooks, ToWorker, WorkerCommand } from './worker/messages';
import { ConfigError, resolveRunConfig } from './worker/trainer-source';

export interface RunListener {
  runUpdated(run: RunSummary): void;
  metrics(runId: string, points: MetricPoint[]): void;
  frame(runId: string, frame: WireFrame): void;
  framesStored(runId: string, iterations: number[]): void;
  runDeleted(runId: string): void;
}

export interface RunManagerOptions {
  checkpointIntervalMs: number;
  flushIntervalMs: number;
  /** V8 old-generation limit per worker; a run that exceeds it fails with reason `out_of_memory`. */
  workerMaxOldGenerationMb: number;
  /** Accept `_`-prefixed hook fields in run configs (tests and benchmarks only). */
  testHooks: boolean;
  /** Set in each worker's environment on top of the server's (e.g. ENGRAM_BACKEND). */
  workerEnv: Readonly<Record<string, string>>;
}

interface PendingReply {
  resolve: () => void;
  reject: (error: ApiError) => void;
}

interface LiveRun {
  run: StoredRun;
  worker: Worker | null;
  pendingReplies: Map<number, PendingReply>;
  pendingMetrics: MetricPoint[];
  summaryDirty: boolean;
  framesDirty: boolean;
  latestFrame: WireFrame | null;
  lastBroadcast: number;
  /** Frames dropped for exceeding the single-frame limit, and the largest of them in bytes. */
  oversizeFrames: number;
  largestOversizeFrame: number;
}

/** Summaries are rebroadcast at most this often while only the iteration changes (state changes go at once). */
const SUMMARY_INTERVAL_MS = 250;

const HOOK_FIELDS: Record<string, keyof RunHooks> = {
  _trainer: 'trainer',
  _frame_cells: 'frameCells',
  _frame_width: 'frameWidth',
  _frame_steps: 'frameSteps',
  _step_ms: 'stepMs',
  _throw_at: 'throwAt',
  _nan_at: 'nanAt',
  _oom_at: 'oomAt',
};

const WORKER_BOOTSTRAP = join(__dirname, 'worker', 'run-worker.mjs');

export class RunManager {
  private readonly runs = new Map<string, LiveRun>();
  private readonly flushTimer: NodeJS.Timeout;
  private nextCommandId = 1;
  private closed = false;

  constructor(
    private readonly storage: Storage,
    private readonly listener: RunListener,
    private readonly options: RunManagerOptions,
  ) {
    for (const run of storage.allRuns()) {
      // No worker survives a server restart: a run that was training is now interrupted.
      if (run.state === 'running') {
        run.state = 'interrupted';
        run.itPerSec = null;
        storage.updateRun(run);
      }
      this.runs.set(run.id, this.live(run));
    }
    this.flushTimer = setInterval(() => this.flush(), options.flushIntervalMs);
    this.flushTimer.unref();
  }

  private live(run: StoredRun): LiveRun {
    return {
      run,
      worker: null,
      pendingReplies: new Map(),
      pendingMetrics: [],
      summaryDirty: false,
      framesDirty: false,
      oversizeFrames: 0,
      largestOversizeFrame: 0,
      latestFrame: null,
      lastBroadcast: 0,
    };
  }

  // ------------------------------------------------------------------------------------------ queries

  list(): RunSummary[] {
    return [...this.runs.values()].map((l) => summary(l.run));
  }

  get(runId: string): RunSummary {
    return summary(this.require(runId).run);
  }

  metrics(runId: string, since: number): MetricPoint[] {
    const live = this.require(runId);
    this.flushRun(live);
    return this.storage.metricsSince(runId, since);
  }

  frameIterations(runId: string): number[] {
    this.require(runId);
    return this.storage.frameIterations(runId);
  }

  storedFrame(runId: string, iteration: number): PackedFrame {
    this.require(runId);
    const blob = this.storage.getFrame(runId, iteration);
    if (blob === null) throw new ApiError('not_found', `run ${runId} has no stored frame at iteration ${iteration}`);
    return decodeFrameBlob(blob);
  }

  /** Frames of a run dropped for exceeding the single-frame limit (since this server started). */
  oversizeFrames(runId: string): { count: number; largestBytes: number; limitBytes: number } | null {
    const live = this.require(runId);
    if (live.oversizeFrames === 0) return null;
    return {
      count: live.oversizeFrames,
      largestBytes: live.largestOversizeFrame,
      limitBytes: this.storage.maxFrameBytes,
    };
  }

  /** The newest frame of a run: the live one, or after a restart the newest stored one. */
  latestFrame(runId: string): WireFrame | null {
    const live = this.require(runId);
    if (live.latestFrame !== null) return live.latestFrame;
    const iterations = this.storage.frameIterations(runId);
    if (iterations.length === 0) return null;
    live.latestFrame = toWireFrame(runId, this.storedFrame(runId, iterations[iterations.length - 1]));
    return live.latestFrame;
  }

  // ------------------------------------------------------------------------------------------ commands

  async create(input: RunConfigInput, name: string | undefined): Promise<RunSummary> {
    this.assertOpen();
    const { config: configInput, hooks } = this.splitHooks(input);
    let config: RunConfig;
    try {
      config = await resolveRunConfig(configInput);
    } catch (error) {
      if (error instanceof ConfigError) throw new ApiError('bad_request', `config.${error.message}`);
      throw error;
    }
    const now = Date.now();
    const id = randomUUID().replace(/-/g, '').slice(0, 12);
    const run: StoredRun = {
      id,
      name: name ?? `${config.task}-${this.runs.size + 1}`,
      state: 'running',
      iteration: 0,
      config,
      createdAt: now,
      updatedAt: now,
      loss: null,
      metric: null,
      metricName: '',
      itPerSec: null,
      failure: null,
      hooks,
    };
    this.storage.insertRun(run);
    const live = this.live(run);
    this.runs.set(id, live);
    this.spawn(live, null, false);
    this.broadcast(live);
    return summary(run);
  }

  async pause(runId: string): Promise<RunSummary> {
    const live = this.require(runId);
    if (live.run.state === 'paused') return summary(live.run);
    this.assertState(live, ['running'], 'pause');
    await this.command(live, { command: 'pause' });
    return summary(live.run);
  }

  async resume(runId: string): Promise<RunSummary> {
    const live = this.require(runId);
    if (live.run.state === 'running') return summary(live.run);
    this.assertState(live, ['paused', 'interrupted'], 'resume');
    this.ensureWorker(live);
    live.run.failure = null;
    await this.command(live, { command: 'resume' });
    return summary(live.run);
  }

  async step(runId: string, n: number): Promise<RunSummary> {
    if (!Number.isInteger(n) || n < 1 || n > MAX_STEP_ITERATIONS)
      throw new ApiError('bad_request', `n must be an integer in [1, ${MAX_STEP_ITERATIONS}], got ${describe(n)}`);
    const live = this.require(runId);
    this.assertState(live, ['running', 'paused', 'interrupted'], 'step');
    this.ensureWorker(live);
    await this.command(live, { command: 'step', n });
    return summary(live.run);
  }

  async stop(runId: string): Promise<RunSummary> {
    const live = this.require(runId);
    if (live.run.state === 'stopped') return summary(live.run);
    this.assertState(live, ['running', 'paused', 'interrupted'], 'stop');
    if (live.worker === null) {
      this.setState(live, 'stopped');
    } else {
      await this.command(live, { command: 'stop' });
    }
    return summary(live.run);
  }

  /**
   * Delete a run and its storage. A training run is refused (pause or stop it first: deleting must never be what
   * ends a run by surprise); any other run's worker is ended without a checkpoint, since nothing of it is kept.
   */
  async delete(runId: string): Promise<{ runId: string }> {
    const live = this.require(runId);
    if (live.run.state === 'running')
      throw new ApiError('invalid_state', `run ${runId} is training; pause or stop it first, then delete it`);
    this.runs.delete(runId);
    const worker = live.worker;
    live.worker = null;
    this.rejectPending(live, `run ${runId} was deleted`);
    if (worker !== null) await worker.terminate();
    this.storage.deleteRun(runId);
    this.listener.runDeleted(runId);
    return { runId };
  }

  async configure(runId: string, lr: number | undefined, summarizeFreq: number | undefined): Promise<RunSummary> {
    const live = this.require(runId);
    if (lr === undefined && summarizeFreq === undefined)
      throw new ApiError('bad_request', 'configure needs lr and/or summarize_freq');
    this.assertState(live, ['running', 'paused', 'interrupted'], 'configure');
    this.ensureWorker(live);
    await this.command(live, { command: 'configure', lr, summarizeFreq });
    // The stored config reflects the current values so a restart and the dashboard show what is in effect.
    if (lr !== undefined) live.run.config = { ...live.run.config, lr };
    if (summarizeFreq !== undefined) live.run.config = { ...live.run.config, summarize_freq: summarizeFreq };
    this.storage.updateRunConfig(live.run.id, live.run.config);
    // An interrupted run that was given a worker to configure now waits, paused, at its checkpoint.
    if (live.run.state === 'interrupted') this.setState(live, 'paused');
    else this.broadcast(live);
    return summary(live.run);
  }

  async capture(runId: string): Promise<void> {
    const live = this.require(runId);
    this.assertState(live, ['running', 'paused'], 'capture');
    this.ensureWorker(live);
    await this.command(live, { command: 'capture' });
  }

  /** Checkpoint live runs (bounded wait), stop the workers, and leave running runs to come back interrupted. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.flushTimer);
    const lives = [...this.runs.values()];
    await Promise.all(
      lives.map(async (live) => {
        if (live.worker === null) return;
        await Promise.race([
          this.command(live, { command: 'checkpoint' }).catch(() => undefined),
          new Promise((r) => setTimeout(r, 3000)),
        ]);
        const worker = live.worker;
        live.worker = null;
        if (worker !== null) await worker.terminate();
        if (live.run.state === 'running') live.run.state = 'interrupted';
        this.flushRun(live);
        this.storage.updateRun(live.run);
      }),
    );
    for (const live of lives) this.flushRun(live);
  }

  // ------------------------------------------------------------------------------------------ workers

  private splitHooks(input: RunConfigInput): { config: RunConfigInput; hooks: RunHooks } {
    const config: RunConfigInput = {};
    const hooks: RunHooks = {};
    for (const [key, value] of Object.entries(input)) {
      if (!key.startsWith('_')) {
        config[key] = value;
        continue;
      }
      const hook = HOOK_FIELDS[key];
      if (!this.options.testHooks || hook === undefined)
        throw new ApiError('bad_request', `config.${shortText(key)}: unknown field`);
      if (hook === 'trainer') {
        if (value !== 'engine' && value !== 'synthetic')
          throw new ApiError('bad_request', `config.${key}: expected "engine" or "synthetic", got ${describe(value)}`);
        hooks.trainer = value;
      } else {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
          throw new ApiError('bad_request', `config.${key}: expected a non-negative integer, got ${describe(value)}`);
        hooks[hook] = value;
      }
    }
    return { config, hooks };
  }

  /** Give a run without a worker (restored after a restart) one, rolled back to its last checkpoint, paused. */
  private ensureWorker(live: LiveRun): void {
    if (live.worker !== null) return;
    const checkpoint = this.storage.getCheckpoint(live.run.id);
    const iteration = checkpoint?.iteration ?? 0;
    this.storage.rollBack(live.run.id, iteration);
    live.latestFrame = null;
    live.pendingMetrics = [];
    live.framesDirty = true; // frames after the checkpoint are gone: tell subscribers
    live.run.iteration = iteration;
    this.spawn(live, checkpoint?.bytes ?? null, true);
  }

  private spawn(live: LiveRun, checkpoint: Uint8Array | null, startPaused: boolean): void {
    const worker = new Worker(WORKER_BOOTSTRAP, {
      env: { ...process.env, ...this.options.workerEnv },
      resourceLimits: { maxOldGenerationSizeMb: this.options.workerMaxOldGenerationMb },
    });
    live.worker = worker;
    const init: ToWorker = {
      type: 'init',
      runId: live.run.id,
      config: live.run.config,
      hooks: live.run.hooks,
      checkpoint,
      startPaused,
      checkpointIntervalMs: this.options.checkpointIntervalMs,
    };
    worker.postMessage(init);
    worker.on('message', (message: FromWorker) => {
      if (live.worker !== worker) return;
      try {
        this.onWorkerMessage(live, message);
      } catch (error) {
        console.error(`[engram] run ${live.run.id}: handling worker message ${message.type} failed:`, error);
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (live.worker !== worker) return;
      const oom = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      console.error(`[engram] run ${live.run.id}: worker ${oom ? 'ran out of memory' : 'failed'}:`, error);
      this.fail(
        live,
        oom ? 'out_of_memory' : 'worker_error',
        oom ? 'the training worker ran out of memory' : error.message,
      );
    });
    worker.on('exit', (code) => {
      if (live.worker !== worker) return;
      live.worker = null;
      this.rejectPending(live, `the training worker exited (code ${code})`);
      if (live.run.state === 'running' || live.run.state === 'paused') {
        this.fail(live, 'worker_exit', `the training worker exited unexpectedly (code ${code})`);
      }
    });
  }

  private onWorkerMessage(live: LiveRun, message: FromWorker): void {
    const run = live.run;
    switch (message.type) {
      case 'ready':
        run.engine = message.engine;
        this.broadcast(live);
        break;
      case 'iteration': {
        run.iteration = message.point.iteration;
        run.loss = message.point.loss;
        run.metric = message.point.metric;
        run.metricName = message.metricName;
        run.itPerSec = message.point.itPerSec;
        live.pendingMetrics.push(message.point);
        live.summaryDirty = true;
        if (message.frame !== null) this.onFrame(live, message.frame, false);
        break;
      }
      case 'nonfinite':
        this.flushRun(live);
        run.failure = message.failure;
        if (message.frame !== null) this.onFrame(live, message.frame, true);
        console.warn(`[engram] run ${run.id}: ${message.failure.message}; paused`);
        break;
      case 'checkpoint':
        this.storage.putCheckpoint(run.id, message.iteration, message.bytes);
        break;
      case 'state':
        this.flushRun(live);
        run.iteration = message.iteration;
        this.setState(live, message.state);
        break;
      case 'reply': {
        this.flushRun(live);
        const pending = live.pendingReplies.get(message.id);
        live.pendingReplies.delete(message.id);
        if (pending === undefined) break;
        if (message.ok) pending.resolve();
        else pending.reject(new ApiError(message.code, message.message));
        break;
      }
      case 'fatal':
        console.error(`[engram] run ${run.id}: worker error: ${message.stack ?? message.message}`);
        this.fail(live, message.reason, message.message);
        break;
    }
  }

  private onFrame(live: LiveRun, frame: PackedFrame, pinned: boolean): void {
    const bytes = frameBytes(frame);
    if (bytes > this.storage.maxFrameBytes) {
      // Neither stored nor streamed: one such frame would cost every download and every viewer that much.
      if (live.oversizeFrames === 0)
        console.warn(
          `[engram] run ${live.run.id}: a frame of ${megabytes(bytes)} exceeds the single-frame limit of ` +
            `${megabytes(this.storage.maxFrameBytes)} (ENGRAM_FRAME_LIMIT_MB); its frames are dropped`,
        );
      live.oversizeFrames++;
      live.largestOversizeFrame = Math.max(live.largestOversizeFrame, bytes);
      live.worker?.postMessage({ type: 'frame-consumed' } satisfies ToWorker);
      return;
    }
    const wire = toWireFrame(live.run.id, frame);
    live.latestFrame = wire;
    this.storage.putFrame(live.run.id, frame.iteration, encodeFrameBlob(frame), pinned);
    live.framesDirty = true;
    this.listener.frame(live.run.id, wire);
    const consumed: ToWorker = { type: 'frame-consumed' };
    live.worker?.postMessage(consumed);
  }

  private command(live: LiveRun, command: WorkerCommand): Promise<void> {
    const worker = live.worker;
    if (worker === null)
      return Promise.reject(new ApiError('invalid_state', `run ${live.run.id} has no training worker`));
    const id = this.nextCommandId++;
    return new Promise<void>((resolve, reject) => {
      live.pendingReplies.set(id, { resolve, reject });
      const message: ToWorker = { type: 'command', id, ...command };
      worker.postMessage(message);
    });
  }

  private rejectPending(live: LiveRun, reason: string): void {
    for (const pending of live.pendingReplies.values())
      pending.reject(new ApiError('invalid_state', `run ${live.run.id}: ${reason}`));
    live.pendingReplies.clear();
  }

  private fail(live: LiveRun, reason: string, message: string): void {
    const worker = live.worker;
    live.worker = null;
    this.flushRun(live);
    live.run.failure = { reason, message, iteration: live.run.iteration } satisfies RunFailure;
    this.rejectPending(live, `failed: ${message}`);
    this.setState(live, 'failed');
    if (worker !== null) void worker.terminate();
  }

  private setState(live: LiveRun, state: RunState): void {
    live.run.state = state;
    if (state === 'running' && live.run.failure?.reason === 'nan') live.run.failure = null;
    if (state !== 'running') live.run.itPerSec = null;
    if ((state === 'finished' || state === 'stopped') && live.worker !== null) {
      // The worker still sends its reply, then closes its port and exits (the exit handler forgets it);
      // terminate covers one that lingers.
      const worker = live.worker;
      setTimeout(() => void worker.terminate(), 2000).unref();
    }
    live.run.updatedAt = Date.now();
    this.storage.updateRun(live.run);
    this.broadcast(live);
  }

  // ------------------------------------------------------------------------------------------ batching

  private flush(): void {
    for (const live of this.runs.values()) {
      try {
        this.flushRun(live);
      } catch (error) {
        console.error(`[engram] run ${live.run.id}: flushing metrics failed:`, error);
      }
    }
  }

  private flushRun(live: LiveRun): void {
    const points = live.pendingMetrics;
    if (points.length > 0) {
      live.pendingMetrics = [];
      live.run.updatedAt = Date.now();
      this.storage.appendMetrics(live.run.id, points, live.run);
      this.listener.metrics(live.run.id, points);
    }
    if (live.framesDirty) {
      live.framesDirty = false;
      this.listener.framesStored(live.run.id, this.storage.frameIterations(live.run.id));
    }
    if (live.summaryDirty && Date.now() - live.lastBroadcast >= SUMMARY_INTERVAL_MS) this.broadcast(live);
  }

  private broadcast(live: LiveRun): void {
    live.summaryDirty = false;
    live.lastBroadcast = Date.now();
    this.listener.runUpdated(summary(live.run));
  }

  private require(runId: string): LiveRun {
    const live = this.runs.get(runId);
    if (live === undefined) throw new ApiError('not_found', `no run with id ${describe(runId)}`);
    return live;
  }

  private assertState(live: LiveRun, allowed: RunState[], command: string): void {
    if (!allowed.includes(live.run.state)) {
      throw new ApiError(
        'invalid_state',
        `cannot ${command} run ${live.run.id}: it is ${live.run.state} (allowed when ${allowed.join(' or ')})`,
      );
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ApiError('invalid_state', 'the server is shutting down');
  }
}

function summary(run: StoredRun): RunSummary {
  const { hooks: _hooks, ...rest } = run;
  return { ...rest, config: { ...run.config }, failure: run.failure === null ? null : { ...run.failure } };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
