/**
 * Messages between the run manager (main thread) and one run's training worker. Internal to the server: the
 * wire protocol for clients is `server/protocol.ts`. Every command carries an `id` and is answered by exactly one
 * `reply` with that id, sent at a safe point between iterations, after every `iteration` message it precedes.
 */
import type { EngineInfo, MetricPoint, RunConfig, RunFailure } from '../protocol';
import type { TensorInfo } from '../protocol/frames';

/** A debug frame whose tensors live in one transferable buffer. Offsets are in bytes and 4-byte aligned. */
export interface PackedFrame {
  iteration: number;
  timesteps: number;
  capturedAt: number;
  tensors: PackedTensorInfo[];
  buffer: ArrayBuffer;
}

export interface PackedTensorInfo extends TensorInfo {
  byteOffset: number;
  byteLength: number;
}

export type WorkerCommand =
  | { command: 'pause' }
  | { command: 'resume' }
  | { command: 'step'; n: number }
  | { command: 'stop' }
  | { command: 'configure'; lr?: number; summarizeFreq?: number }
  | { command: 'capture' }
  | { command: 'checkpoint' };

export type ToWorker =
  | {
      type: 'init';
      runId: string;
      config: RunConfig;
      /** Restore from this checkpoint instead of starting fresh. */
      checkpoint: Uint8Array | null;
      /** Start paused (restored runs wait for resume/step). */
      startPaused: boolean;
      checkpointIntervalMs: number;
    }
  | ({ type: 'command'; id: number } & WorkerCommand)
  /** The main thread has stored and dispatched one frame: the worker may have one more in flight. */
  | { type: 'frame-consumed' };

/** The state the worker reports; the manager maps it onto the run's RunState. */
export type WorkerState = 'running' | 'paused' | 'finished' | 'stopped';

export type FromWorker =
  | { type: 'ready'; iteration: number; engine: EngineInfo }
  | { type: 'iteration'; point: MetricPoint; metricName: string; frame: PackedFrame | null }
  | { type: 'state'; state: WorkerState; iteration: number }
  | { type: 'checkpoint'; iteration: number; bytes: Uint8Array }
  | { type: 'nonfinite'; failure: RunFailure; frame: PackedFrame | null; iteration: number }
  | { type: 'reply'; id: number; ok: true; iteration: number }
  | { type: 'reply'; id: number; ok: false; code: 'invalid_state' | 'bad_request'; message: string; iteration: number }
  | { type: 'fatal'; reason: string; message: string; stack?: string };
