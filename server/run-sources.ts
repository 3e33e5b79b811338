/**
 * Giving a run its source and commanding it. An engine run gets a worker thread (server/engine-source.ts), fresh or,
 * when it comes back after a restart or a stop, rolled back with its storage to its last checkpoint and paused; an
 * external run's source stands for its client (server/external-source.ts). Each source reports through the run's
 * sink (server/run-sink.ts), which ignores it once it is replaced.
 */
import { EngineSource, type EngineTraining } from './engine-source';
import { ApiError } from './errors';
import { ExternalSource } from './external-source';
import type { LiveRun } from './live-run';
import type { ExternalControl } from './protocol';
import type { RunAdmission } from './run-admission';
import { storageError } from './run-flush';
import { runSink, type SinkHost } from './run-sink';
import type { RunSink, RunSource } from './run-source';
import type { Storage } from './storage';
import type { WorkerCommand } from './worker/messages';

/** The run manager's options that sources take (RunManagerOptions documents each). */
export interface SourceSettings {
  checkpointIntervalMs: number;
  workerMaxOldGenerationMb: number;
  workerEnv: Readonly<Record<string, string>>;
  commandTimeoutMs: number;
  stopGraceMs: number;
  clientTimeoutMs: number;
}

export class RunSources {
  constructor(
    private readonly storage: Storage,
    private readonly settings: SourceSettings,
    private readonly training: EngineTraining,
    private readonly admission: RunAdmission,
    private readonly sinkHost: SinkHost,
  ) {}

  /** Give a run without a source (an engine run restored after a restart, or stopped) a worker, rolled back to its
   *  last checkpoint, paused. An external run always has its source. */
  ensureSource(live: LiveRun): void {
    if (live.source !== null) return;
    this.admission.assertBudgetFor(live);
    const checkpoint = this.storage.getCheckpoint(live.run.id);
    const iteration = checkpoint?.iteration ?? 0;
    try {
      this.storage.rollBack(live.run.id, iteration);
    } catch (error) {
      throw storageError(`cannot restore run ${live.run.id} from its checkpoint`, error);
    }
    live.latestFrame = null;
    live.pending.clear();
    live.framesDirty = true; // frames after the checkpoint are gone: tell subscribers
    live.run.iteration = iteration;
    this.spawn(live, checkpoint?.bytes ?? null, true);
  }

  /** Start an engine run's worker, from `checkpoint` (null: from scratch), paused or training. */
  spawn(live: LiveRun, checkpoint: Uint8Array | null, startPaused: boolean): void {
    const sink = this.sinkFor(live, () => live.source === source);
    const source: RunSource = new EngineSource(
      {
        runId: live.run.id,
        config: live.run.config,
        checkpoint,
        startPaused,
        checkpointIntervalMs: this.settings.checkpointIntervalMs,
        maxOldGenerationMb: this.settings.workerMaxOldGenerationMb,
        workerEnv: this.settings.workerEnv,
        worker: this.training.worker(live.run.id),
        commandTimeoutMs: this.settings.commandTimeoutMs,
        stopGraceMs: this.settings.stopGraceMs,
      },
      sink,
    );
    live.source = source;
  }

  /** The source of an external run, standing for its client (connected now or not yet). */
  externalSource(live: LiveRun, controls: ExternalControl[], connected: boolean, paused: boolean): ExternalSource {
    const sink = this.sinkFor(live, () => live.source === source);
    const source = new ExternalSource(
      { runId: live.run.id, controls, clientTimeoutMs: this.settings.clientTimeoutMs, connected, paused },
      sink,
      () => live.run.state,
    );
    return source;
  }

  /** Send a command to the run's source; refused when the run has none. */
  command(live: LiveRun, command: WorkerCommand): Promise<void> {
    const source = live.source;
    if (source === null)
      return Promise.reject(new ApiError('invalid_state', `run ${live.run.id} has no training worker`));
    return source.command(command);
  }

  /** A command the manager gives on its own (no one awaits it): a refusal (no client connected) is not an error. */
  commandQuietly(live: LiveRun, command: WorkerCommand): void {
    try {
      this.command(live, command).catch(() => undefined);
    } catch {
      // A source that refuses synchronously: the run stays as it is.
    }
  }

  /** The one place a source's reports become state, storage and broadcasts. `current` ignores a replaced source. */
  private sinkFor(live: LiveRun, current: () => boolean): RunSink {
    return runSink(live, current, this.sinkHost);
  }
}
