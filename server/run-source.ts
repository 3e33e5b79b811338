/**
 * A run's source: what produces its iterations. The engine source trains it in a worker thread; the external source
 * is fed by a client over HTTP or socket.io. The run manager owns the state machine, persistence and broadcast once
 * for every source: a source takes commands and reports through a `RunSink`, and knows nothing of storage or sockets.
 */
import type { EngineInfo, MetricPoint, RunFailure, RunSourceKind } from './protocol';
import type { PackedFrame, WorkerCommand, WorkerState } from './worker/messages';

/** What a source reports; the run manager implements it once per run. */
export interface RunSink {
  /** The engine reported its backend (and GPU adapter) once its worker was ready. */
  ready(engine: EngineInfo): void;
  /** One finished iteration, with its debug frame when one was captured. */
  iteration(point: MetricPoint, metricName: string, frame: PackedFrame | null): void;
  /** A frame on its own (an external client sends frames and metrics separately). */
  frame(frame: PackedFrame): void;
  /** A non-finite value stopped an iteration: the run pauses with `failure`, keeping the offending frame pinned. */
  nonFinite(failure: RunFailure, frame: PackedFrame | null): void;
  checkpoint(iteration: number, bytes: Uint8Array): void;
  /** The source moved to a new state at `iteration` (null: the iteration did not change). */
  state(state: WorkerState, iteration: number | null): void;
  /** The source failed for good (`reason` is a RunFailure reason). */
  fail(reason: string, message: string): void;
  /** The source went away: a worker that exited unexpectedly fails the run; an external client that went silent
   *  leaves it interrupted. Either applies only to a running or paused run. */
  gone(message: string, outcome: 'failed' | 'interrupted'): void;
  /** Something shown with the run changed (an external client's liveness). */
  changed(): void;
}

export interface RunSource {
  readonly kind: RunSourceKind;
  /** Apply a control; resolves once the source accepted it (an engine worker: at its next safe point). */
  command(command: WorkerCommand): Promise<void>;
  /** The manager stored and dispatched one frame of this source (flow control). */
  frameConsumed(): void;
  /** Checkpoint if the source can (bounded wait), then let go of it. */
  close(): Promise<void>;
}
