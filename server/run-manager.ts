/**
 * The run manager: creates runs, gives each live run a source (an engine worker that trains it, or an external
 * client that feeds it; server/run-source.ts), applies controls, persists metrics, frames and checkpoints, and tells
 * its listener (the socket layer) what changed. Sources never wait for it: it gathers metric points, frames and
 * checkpoints per run (server/run-persistence.ts) and commits them with the run's summary every `flushIntervalMs`
 * (server/run-flush.ts). A failed commit pauses the run with `failure.reason = 'storage'`, keeps the data in memory
 * and retries; when a commit succeeds again the failure clears and a run the failure paused resumes by itself.
 *
 * States: running → paused ⇄ running → finished | stopped; failed when the worker throws, dies or runs out of
 * memory; a NaN pauses the run with `failure` set; runs that were running when the server died come back
 * `interrupted` and resume from their last checkpoint, as do stopped engine runs. Every command is answered within
 * a bound, and stop always wins (server/engine-source.ts). An engine run that would start (create, resume) beyond
 * the training cap or the memory budget waits `queued` and starts in FIFO order when a slot frees (admission.ts
 * holds the estimate, run-queue.ts the order, run-admission.ts when a run starts); a queued run stays queued across
 * a restart.
 *
 * This file holds the state machine and the API its callers use; the live run record is in live-run.ts, a run's
 * sources in run-sources.ts, their reports in run-sink.ts, its frames in run-frames.ts and an external client's
 * ingest in external-ingest.ts.
 */
import { estimateRunMemory, overBudgetMessage } from './admission';
import { ENGINE_TRAINING, type EngineTraining } from './engine-source';
import { ApiError } from './errors';
import { externalRun, ingestPoints } from './external-ingest';
import { ExternalSource, type ControlListener } from './external-source';
import { externalConfig, type LiveRun, liveRun, newRun, newRunId, summary } from './live-run';
import {
  type ExternalControl,
  MAX_STEP_ITERATIONS,
  type MetricPoint,
  type RunConfig,
  type RunConfigInput,
  type RunFailure,
  type RunState,
  type RunSummary,
  type StorageUsage,
} from './protocol';
import type { ControlState, WaitReply } from './protocol/ingest';
import type { WireFrame } from './protocol/frames';
import type { MetricStore } from './metric-query';
import { RunAdmission } from './run-admission';
import { assertStorageHealthy, keepStateAfterRecovery, RunFlusher, storageError } from './run-flush';
import { frameIterations, latestFrame, oversizeFrames, recordFrame, storedFrame } from './run-frames';
import type { SinkHost } from './run-sink';
import { RunSources } from './run-sources';
import type { Storage } from './storage';
import type { StoredRun } from './storage-runs';
import { describe } from './validate';
import type { PackedFrame } from './worker/messages';
import { ConfigError } from './worker/trainer-source';

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
  /** How long a command waits for a run's worker before it is answered `timeout` (ENGRAM_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs: number;
  /** How long stop waits for a run's worker before terminating it (ENGRAM_STOP_GRACE_MS). */
  stopGraceMs: number;
  /** How engine runs resolve their configs and start their workers (default: the engine's, ENGINE_TRAINING). */
  training?: EngineTraining;
  /** An external run whose client is silent this long (no call, socket or wait) becomes interrupted. */
  clientTimeoutMs: number;
  /** Set in each worker's environment on top of the server's (e.g. ENGRAM_BACKEND). */
  workerEnv: Readonly<Record<string, string>>;
  /** Sum of the memory estimates of engine runs holding a worker; a run whose estimate alone exceeds it is refused. */
  memoryBudgetBytes: number;
  /** Engine runs training at once; further starts wait `queued`. External runs do not count. */
  maxTraining: number;
}

/** What an external client sends to create its run (validated by the ingest layer). */
export interface ExternalRunInput {
  name?: string;
  config: Record<string, unknown>;
  controls: ExternalControl[];
}

export class RunManager {
  private readonly runs = new Map<string, LiveRun>();
  private readonly flushTimer: NodeJS.Timeout;
  private readonly training: EngineTraining;
  private readonly admission: RunAdmission;
  private readonly flusher: RunFlusher;
  private readonly sources: RunSources;
  private closed = false;

  constructor(
    private readonly storage: Storage,
    private readonly listener: RunListener,
    private readonly options: RunManagerOptions,
  ) {
    this.flusher = new RunFlusher(storage, listener, this.runs, {
      frameIterations: (runId) => this.frameIterations(runId),
      commandQuietly: (live, command) => this.sources.commandQuietly(live, command),
    });
    const sinkHost: SinkHost = {
      flusher: this.flusher,
      memoryBudgetBytes: options.memoryBudgetBytes,
      setState: (live, state) => this.setState(live, state),
      fail: (live, reason, message) => this.fail(live, reason, message),
      admitQueued: () => this.admission.admitQueued(),
      recordFrame: (live, frame, pinned) => this.onFrame(live, frame, pinned),
    };
    this.training = options.training ?? ENGINE_TRAINING;
    this.admission = new RunAdmission(
      this.runs,
      options.memoryBudgetBytes,
      options.maxTraining,
      () => this.closed,
      (live) => this.startQueued(live),
    );
    this.sources = new RunSources(storage, options, this.training, this.admission, sinkHost);
    const queued: LiveRun[] = [];
    for (const run of storage.allRuns()) {
      // No worker or client survives a server restart: a run that was training is now interrupted, and so is an
      // external one that was paused (its client is gone until it calls again).
      const wasPaused = run.state === 'paused';
      if (run.state === 'running' || (run.source === 'external' && wasPaused)) {
        run.state = 'interrupted';
        run.itPerSec = null;
        storage.updateRun(run);
      }
      const live = liveRun(run);
      this.runs.set(run.id, live);
      if (run.source === 'external') {
        live.source = this.sources.externalSource(live, run.client?.controls ?? [], false, wasPaused);
        run.client = (live.source as ExternalSource).info();
      }
      if (run.state === 'queued') queued.push(live);
    }
    // Queued runs wait again in the order they were queued; one this budget can never hold fails saying so.
    for (const live of queued.sort((a, b) => a.run.updatedAt - b.run.updatedAt)) {
      if (live.estimate !== null && live.estimate.bytes > options.memoryBudgetBytes)
        this.fail(live, 'over_budget', overBudgetMessage(live.estimate, options.memoryBudgetBytes));
      else this.admission.queue.enqueue(live.run.id);
    }
    this.admission.admitQueued();
    this.flushTimer = setInterval(() => this.flusher.flushAll(), options.flushIntervalMs);
    this.flushTimer.unref();
  }

  // ------------------------------------------------------------------------------------------ queries

  list(): RunSummary[] {
    return [...this.runs.values()].map((l) => summary(l.run));
  }

  get(runId: string): RunSummary {
    return summary(this.require(runId).run);
  }

  /**
   * The run's stored metric history, its pending points committed first (server/metric-query.ts reads it). While
   * storage fails, points not yet written are held in memory and appear here once they are.
   */
  metricStore(runId: string): MetricStore {
    this.flusher.flushRun(this.require(runId));
    return this.storage;
  }

  frameIterations(runId: string): number[] {
    return frameIterations(this.storage, this.require(runId));
  }

  /** Usage of the data dir against the global storage budget, with each run's share. */
  storageUsage(): StorageUsage {
    return this.storage.usage();
  }

  storedFrame(runId: string, iteration: number): PackedFrame {
    return storedFrame(this.storage, this.require(runId), iteration);
  }

  /** Frames of a run dropped for exceeding the single-frame limit (since this server started). */
  oversizeFrames(runId: string): { count: number; largestBytes: number; limitBytes: number } | null {
    return oversizeFrames(this.storage, this.require(runId));
  }

  /** The newest frame of a run: the live one, or after a restart the newest stored one. */
  latestFrame(runId: string): WireFrame | null {
    return latestFrame(this.storage, this.require(runId));
  }

  // ------------------------------------------------------------------------------------------ commands

  async create(input: RunConfigInput, name: string | undefined): Promise<RunSummary> {
    this.assertOpen();
    const id = newRunId();
    let config: RunConfig;
    try {
      config = await this.training.resolveConfig(id, input);
    } catch (error) {
      if (error instanceof ConfigError) throw new ApiError('bad_request', `config.${error.message}`);
      throw error;
    }
    const estimate = estimateRunMemory(config);
    if (estimate.bytes > this.options.memoryBudgetBytes)
      throw new ApiError('over_budget', `config: ${overBudgetMessage(estimate, this.options.memoryBudgetBytes)}`);
    const run = newRun(id, { name: name ?? `${config.task}-${this.runs.size + 1}`, config, source: 'engine' });
    const startNow = this.admission.mayStart(estimate.bytes, false);
    if (!startNow) run.state = 'queued';
    this.insertRun(run);
    const live = liveRun(run);
    this.runs.set(id, live);
    if (startNow) this.sources.spawn(live, null, false);
    else this.admission.queue.enqueue(id);
    this.flusher.broadcast(live);
    return summary(run);
  }

  /** Create a run fed by an external client; its client counts as connected from now on. */
  createExternal(input: ExternalRunInput): RunSummary {
    this.assertOpen();
    const id = newRunId();
    const run = newRun(id, {
      name: input.name ?? `external-${this.runs.size + 1}`,
      config: externalConfig(input.config),
      source: 'external',
    });
    const live = liveRun(run);
    const source = this.sources.externalSource(live, input.controls, true, false);
    live.source = source;
    run.client = source.info();
    this.insertRun(run);
    this.runs.set(id, live);
    this.flusher.broadcast(live);
    return summary(run);
  }

  // ------------------------------------------------------------------------------------------ ingest

  /** Store metric points an external client sent (in iteration order); returns what the client should do. */
  ingestMetrics(runId: string, points: readonly MetricPoint[]): ControlState {
    const { live, source } = this.requireExternal(runId);
    ingestPoints(live, points);
    return source.control();
  }

  /** Store one frame an external client sent; returns what the client should do. */
  ingestFrame(runId: string, frame: PackedFrame): ControlState {
    const { live, source } = this.requireExternal(runId);
    this.onFrame(live, frame, false);
    return source.control();
  }

  heartbeat(runId: string, controls?: ExternalControl[]): ControlState {
    const { source } = this.requireExternal(runId, controls);
    return source.control();
  }

  /** Block until the external client may run one more iteration, must stop, or `timeoutMs` passes. */
  waitForGo(runId: string, timeoutMs: number): { reply: Promise<WaitReply>; cancel: () => void } {
    const { source } = this.requireExternal(runId);
    return source.wait(timeoutMs);
  }

  /** Keep an external run's client connected while its socket lives, pushing control changes to it. */
  attachClient(
    runId: string,
    controls: ExternalControl[] | undefined,
    listener: ControlListener,
  ): { control: ControlState; detach: () => void } {
    const { source } = this.requireExternal(runId, controls);
    return { control: source.control(), detach: source.attach(listener) };
  }

  /** A clean end from the client: the run is finished (or failed with the client's message). */
  closeExternal(runId: string, outcome: 'finished' | 'failed', message: string | undefined): RunSummary {
    const { live, source } = this.requireExternal(runId);
    this.flusher.flushRun(live);
    source.end();
    if (outcome === 'failed')
      live.run.failure = { reason: 'client', message: message ?? 'the client reported a failure' };
    this.setState(live, outcome);
    return summary(live.run);
  }

  async pause(runId: string): Promise<RunSummary> {
    const live = this.require(runId);
    keepStateAfterRecovery(live);
    if (live.run.state === 'paused') return summary(live.run);
    if (this.admission.queue.remove(runId)) {
      // It never started (or waited with its paused worker): it waits paused now, outside the queue.
      this.setState(live, 'paused');
      return summary(live.run);
    }
    this.assertState(live, ['running'], 'pause');
    await this.sources.command(live, { command: 'pause' });
    this.flusher.flushRun(live);
    return summary(live.run);
  }

  async resume(runId: string): Promise<RunSummary> {
    const live = this.require(runId);
    if (live.run.state === 'running' || live.run.state === 'queued') return summary(live.run);
    this.assertState(live, this.restartable(live, ['paused', 'interrupted']), 'resume');
    assertStorageHealthy(live, 'resume');
    const estimate = live.estimate;
    if (estimate !== null && !this.admission.mayStart(estimate.bytes, live.source !== null)) {
      if (estimate.bytes > this.options.memoryBudgetBytes)
        throw new ApiError(
          'over_budget',
          `run ${runId}: ${overBudgetMessage(estimate, this.options.memoryBudgetBytes)}`,
        );
      this.admission.queue.enqueue(runId);
      this.setState(live, 'queued');
      return summary(live.run);
    }
    this.sources.ensureSource(live);
    live.run.failure = null;
    await this.sources.command(live, { command: 'resume' });
    this.flusher.flushRun(live);
    return summary(live.run);
  }

  async step(runId: string, n: number): Promise<RunSummary> {
    if (!Number.isInteger(n) || n < 1 || n > MAX_STEP_ITERATIONS)
      throw new ApiError('bad_request', `n must be an integer in [1, ${MAX_STEP_ITERATIONS}], got ${describe(n)}`);
    const live = this.require(runId);
    this.assertState(live, this.restartable(live, ['running', 'paused', 'interrupted']), 'step');
    assertStorageHealthy(live, 'step');
    this.sources.ensureSource(live);
    await this.sources.command(live, { command: 'step', n });
    this.flusher.flushRun(live);
    return summary(live.run);
  }

  async stop(runId: string): Promise<RunSummary> {
    const live = this.require(runId);
    keepStateAfterRecovery(live);
    if (live.run.state === 'stopped') return summary(live.run);
    this.assertState(live, ['running', 'paused', 'interrupted', 'queued'], 'stop');
    this.admission.queue.remove(runId);
    if (live.source === null) {
      this.setState(live, 'stopped');
    } else {
      await this.sources.command(live, { command: 'stop' });
      this.flusher.flushRun(live);
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
    this.admission.queue.remove(runId);
    this.runs.delete(runId);
    const source = live.source;
    live.source = null;
    if (source !== null) await source.close();
    live.pending.clear();
    try {
      this.storage.deleteRun(runId);
    } catch (error) {
      this.runs.set(runId, live);
      throw storageError(`cannot delete run ${runId}`, error);
    }
    this.flusher.runDeleted();
    this.listener.runDeleted(runId);
    this.admission.admitQueued();
    return { runId };
  }

  async configure(runId: string, lr: number | undefined, summarizeFreq: number | undefined): Promise<RunSummary> {
    const live = this.require(runId);
    if (lr === undefined && summarizeFreq === undefined)
      throw new ApiError('bad_request', 'configure needs lr and/or summarize_freq');
    this.assertState(live, ['running', 'paused', 'interrupted'], 'configure');
    this.sources.ensureSource(live);
    await this.sources.command(live, { command: 'configure', lr, summarizeFreq });
    this.flusher.flushRun(live);
    // The stored config reflects the current values so a restart and the dashboard show what is in effect.
    if (lr !== undefined) live.run.config = { ...live.run.config, lr };
    if (summarizeFreq !== undefined) live.run.config = { ...live.run.config, summarize_freq: summarizeFreq };
    live.pending.markRun();
    // An interrupted run that was given a worker to configure now waits, paused, at its checkpoint.
    if (live.run.state === 'interrupted') this.setState(live, 'paused');
    else {
      this.flusher.flushRun(live);
      this.flusher.broadcast(live);
    }
    return summary(live.run);
  }

  async capture(runId: string): Promise<void> {
    const live = this.require(runId);
    this.assertState(live, ['running', 'paused'], 'capture');
    this.sources.ensureSource(live);
    await this.sources.command(live, { command: 'capture' });
    this.flusher.flushRun(live);
  }

  /** Checkpoint live runs (bounded wait), stop the workers, and leave running runs to come back interrupted. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.flushTimer);
    const lives = [...this.runs.values()];
    await Promise.all(
      lives.map(async (live) => {
        const source = live.source;
        if (source === null) return;
        await source.close();
        live.source = null;
        if (live.run.state === 'running' || (source.kind === 'external' && live.run.state === 'paused'))
          live.run.state = 'interrupted';
        live.pending.markRun();
      }),
    );
    for (const live of lives) {
      this.flusher.flushRun(live, true);
      if (!live.pending.empty)
        console.error(
          `[engram] run ${live.run.id}: storage still fails at shutdown; ${live.pending.pointCount} metric points ` +
            `and ${live.pending.frameCount} frames could not be saved`,
        );
    }
  }

  // ------------------------------------------------------------------------------------------ state

  /** The states a command that restarts training is allowed in: a stopped engine run also resumes or steps from
   *  its last checkpoint (an external run's client decides whether it goes on). */
  private restartable(live: LiveRun, allowed: RunState[]): RunState[] {
    return live.run.source === 'engine' ? [...allowed, 'stopped'] : allowed;
  }

  private onFrame(live: LiveRun, frame: PackedFrame, pinned: boolean): void {
    recordFrame(this.storage, this.listener, live, frame, pinned);
  }

  private fail(live: LiveRun, reason: string, message: string): void {
    live.source = null;
    this.flusher.flushRun(live);
    live.run.failure = { reason, message, iteration: live.run.iteration } satisfies RunFailure;
    this.setState(live, 'failed');
  }

  private setState(live: LiveRun, state: RunState): void {
    live.run.state = state;
    if (state === 'running' && live.run.failure?.reason === 'nan') live.run.failure = null;
    if (state !== 'running') live.run.itPerSec = null;
    live.run.updatedAt = Date.now();
    if (live.source instanceof ExternalSource) live.run.client = live.source.info();
    live.pending.markRun();
    this.flusher.flushRun(live);
    this.flusher.broadcast(live);
    if (state !== 'running') this.admission.admitQueued();
  }

  /** A queued run's turn: a worker at its checkpoint (or its paused one), told to resume. */
  private startQueued(live: LiveRun): void {
    try {
      this.sources.ensureSource(live);
    } catch (error) {
      this.fail(live, 'worker_error', error instanceof Error ? error.message : String(error));
      return;
    }
    live.run.failure = null;
    this.setState(live, 'running');
    this.sources.command(live, { command: 'resume' }).catch((error: unknown) => {
      console.warn(`[engram] run ${live.run.id}: starting it from the queue failed:`, error);
    });
  }

  private insertRun(run: StoredRun): void {
    try {
      this.storage.insertRun(run);
    } catch (error) {
      throw storageError('cannot create the run', error);
    }
  }

  private requireExternal(runId: string, controls?: ExternalControl[]): { live: LiveRun; source: ExternalSource } {
    return externalRun(this.require(runId), controls);
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
