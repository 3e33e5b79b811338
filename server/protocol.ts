/**
 * The wire protocol between the Engram server and its clients (dashboard, scripts): the single source of
 * truth for socket.io event names and payloads, HTTP shapes, error codes and typed-array codecs.
 * This file holds the version, error codes, runs, metrics and events; each other area has its module in
 * `protocol/` (frames and their codecs, `.npy` files, ingest, HTTP routes, transport, Visdom). Together they import
 * nothing else from the project; they are the only server code the UI may import.
 *
 * Events are lowercase `domain:verb`. Commands (client → server) are imperative and answered through their
 * ack with `Ack<T>`. Pushes (server → client) are nouns or past tense.
 */

import type { WireFrame } from './protocol/frames';
import type { ExternalRunCreate, IngestClientEvents, IngestServerEvents } from './protocol/ingest';
import type { VisdomClientEvents, VisdomServerEvents } from './protocol/visdom';

export type * from './protocol/visdom';

/**
 * Version of this wire protocol. A client sends it in its socket handshake (`auth.protocolVersion`); the server
 * refuses a different one with `protocol_mismatch`, so an old page open across an upgrade says why it cannot connect.
 */
export const PROTOCOL_VERSION = 1;
/** Most iterations one `training:step` may ask for. */
export const MAX_STEP_ITERATIONS = 100_000;
/** Version of exported snapshot files. */
export const SNAPSHOT_SCHEMA_VERSION = 1;

// ---------------------------------------------------------------------------------------------- errors

export const ERROR_CODES = [
  'bad_request', // payload failed validation; message names the field
  'not_found', // no such run / frame
  'invalid_state', // command not allowed in the run's current state
  'payload_too_large',
  'unauthorized',
  'forbidden_origin',
  'forbidden_host', // no token is set and the Host header is not a loopback name (DNS rebinding)
  'protocol_mismatch', // the client speaks another PROTOCOL_VERSION
  'frame_too_large', // a stored frame too large for the JSON download; the message points to the .npy one
  'storage_failed', // a write to the data dir failed (disk full, I/O error); the message names the error
  'over_budget', // the run's estimated memory alone exceeds the server's memory budget; the message says both
  'timeout', // a run's training worker did not answer the command in time (it is inside a long iteration)
  'internal', // sanitised; details are logged on the server only
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ProtocolError {
  code: ErrorCode;
  message: string;
  /** For a bad ingested frame or metric: the tensor (or metric) and the field that was wrong. */
  details?: { tensor?: string; field?: string };
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: ProtocolError };

// ---------------------------------------------------------------------------------------------- runs

/** `queued`: an engine run waiting for a training slot or memory budget (it starts in FIFO order). */
export const RUN_STATES = ['queued', 'running', 'paused', 'finished', 'failed', 'stopped', 'interrupted'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** A run config as sent by clients: the `train` command's flag names; omitted fields take defaults. */
export type RunConfigInput = Record<string, unknown>;

/** Fully resolved run config (every field present). Mirrors the engine's TrainConfig. */
export interface RunConfig {
  task: string;
  rnn_type: string;
  nhid: number;
  dropout: number;
  memory_type: string;
  nlayer: number;
  nhlayer: number;
  lr: number;
  optim: string;
  clip: number;
  batch_size: number;
  mem_size: number;
  mem_slot: number;
  read_heads: number;
  sparse_reads: number;
  temporal_reads: number;
  sequence_max_length: number;
  curriculum_increment: number;
  curriculum_freq: number;
  iterations: number;
  summarize_freq: number;
  check_freq: number;
  seed: number;
  [extra: string]: unknown;
}

export interface RunFailure {
  /** Why the run failed or paused: 'nan' | 'worker_error' | 'out_of_memory' | 'over_budget' | … */
  reason: string;
  message: string;
  /** For NaN: the tensor and the iteration/timestep where it appeared; the offending frame is stored at `iteration`. */
  tensor?: string;
  iteration?: number;
  timestep?: number | null;
}

/** Who trains a run: the server's engine in a worker, or an external client that streams into it. */
export const RUN_SOURCES = ['engine', 'external'] as const;
export type RunSourceKind = (typeof RUN_SOURCES)[number];

/** The controls an external client may honour; it declares them when it creates (or reattaches to) its run. */
export const EXTERNAL_CONTROLS = ['pause', 'step', 'stop', 'lr'] as const;
export type ExternalControl = (typeof EXTERNAL_CONTROLS)[number];

/** Liveness of an external run's client, as the run page shows it. */
export interface ExternalClientInfo {
  /** Heard from within the heartbeat timeout, or holding a socket or a wait open. */
  connected: boolean;
  /** Server time (ms since epoch) of the client's last call. */
  lastSeen: number | null;
  /** Blocked in a wait (paused, or between the iterations of a step). */
  waiting: boolean;
  controls: ExternalControl[];
}

/**
 * Where a run's engine computes: the tfjs backend and, on webgpu, the GPU adapter. Reported by the training worker
 * when it starts; absent for a run without a live worker (not persisted).
 */
export interface EngineInfo {
  /** `webgpu`, `wasm`, `cpu`, `tensorflow`, `tensorflow-gpu`, or `synthetic` for the synthetic trainer. */
  backend: string;
  adapter?: {
    vendor: string;
    architecture: string;
    description: string;
    /** A CPU implementation of WebGPU (lavapipe, SwiftShader): works, but no faster than wasm. */
    software: boolean;
    /** Selected WebGPU limits (bytes, invocations). */
    limits: Record<string, number>;
  };
}

export interface RunSummary {
  id: string;
  name: string;
  state: RunState;
  iteration: number;
  config: RunConfig;
  createdAt: number;
  updatedAt: number;
  /** Latest loss and metric, if any iteration completed. */
  loss: number | null;
  metric: number | null;
  metricName: string;
  itPerSec: number | null;
  failure: RunFailure | null;
  source: RunSourceKind;
  /** External runs only (null for engine runs). */
  client: ExternalClientInfo | null;
  /** The backend (and GPU adapter) of the live worker, once it reported ready. */
  engine?: EngineInfo;
}

/**
 * `GET /api/storage`: what the data dir's database holds against the global storage budget (`--storage-budget-mb`),
 * in total and per run. Past the budget the oldest runs' stored frames are thinned first; metrics never are.
 */
export interface StorageUsage {
  /** Bytes of the database's pages in use (what the budget limits; freed pages are reused, not counted). */
  usedBytes: number;
  /** Bytes on disk: the database, its write-ahead log and shared-memory index. */
  fileBytes: number;
  /** Null: no budget (a Storage opened without one, e.g. by a script). */
  budgetBytes: number | null;
  /** True when thinning frames cannot bring usage under the budget (metrics and checkpoints are never dropped). */
  overBudget: boolean;
  perRun: { runId: string; frames: number; frameBytes: number; metricPoints: number; checkpointBytes: number }[];
}

// ---------------------------------------------------------------------------------------------- metrics

/** One iteration's metrics. `t` is wall-clock ms since epoch when the iteration ended. */
export interface MetricPoint {
  iteration: number;
  loss: number;
  metric: number;
  itPerSec: number;
  t: number;
  sequenceLength?: number;
  /** Further named scalars (external runs): each name is a curve of its own. */
  scalars?: Record<string, number>;
}

/**
 * Bounds on metric history replies (docs/protocol.md, "Metric history"). `run:subscribe` answers with an overview of
 * at most METRIC_OVERVIEW_POINTS points whose newest METRIC_OVERVIEW_TAIL are raw; `metrics:get` and the HTTP metrics
 * route answer pages of at most `limit` points (METRICS_PAGE_POINTS unless asked, MAX_METRICS_PAGE_POINTS at most) or,
 * with `max_points`, an overview of the asked range.
 */
export const METRIC_OVERVIEW_POINTS = 3_000;
export const METRIC_OVERVIEW_TAIL = 300;
export const METRICS_PAGE_POINTS = 10_000;
export const MAX_METRICS_PAGE_POINTS = 50_000;
export const MIN_OVERVIEW_POINTS = 16;
export const MAX_OVERVIEW_POINTS = 20_000;

/**
 * `metrics:get` (and `GET /api/runs/:id/metrics?…` with the same names): points with `since < iteration ≤ until`,
 * ascending. Without `max_points` a page of at most `limit` points (a full page may have more after it: ask again
 * from its last iteration); with `max_points` an overview of the whole range in at most that many points (exact when
 * the range holds no more).
 */
export interface MetricsQuery {
  since?: number;
  until?: number;
  limit?: number;
  max_points?: number;
}

export interface MetricsBatch {
  runId: string;
  points: MetricPoint[];
}

// ---------------------------------------------------------------------------------------------- events

export interface RunIdPayload {
  runId: string;
}

/** Sent by `run:subscribe`'s ack: everything a late joiner needs at once. */
export interface RunSnapshot {
  run: RunSummary;
  /** The metric history after `since`: all of it while it fits METRIC_OVERVIEW_POINTS, else an overview (stored
   *  points keeping each bucket's first, last, extremes and NaN markers) ending in the newest raw points. */
  metrics: MetricPoint[];
  /** How many points are stored after `since`: more than `metrics.length` when `metrics` is an overview. */
  metricCount: number;
  /** Iterations that have stored frames, ascending. */
  frameIterations: number[];
}

export interface ClientToServerEvents extends IngestClientEvents, VisdomClientEvents {
  'run:list': (payload: Record<string, never>, ack: (res: Ack<RunSummary[]>) => void) => void;
  'run:create': (
    payload: { config: RunConfigInput; name?: string } | ExternalRunCreate,
    ack: (res: Ack<RunSummary>) => void,
  ) => void;
  /** Join a run's live stream; the ack carries the run, its metric history and stored frame iterations; the newest
   *  frame follows as `memory:frame`. */
  'run:subscribe': (payload: RunIdPayload, ack: (res: Ack<RunSnapshot>) => void) => void;
  'run:unsubscribe': (payload: RunIdPayload, ack: (res: Ack<null>) => void) => void;
  /** Delete a run that is not training, with everything stored for it; every client then gets `run:deleted`. */
  'run:delete': (payload: RunIdPayload, ack: (res: Ack<RunIdPayload>) => void) => void;
  'training:pause': (payload: RunIdPayload, ack: (res: Ack<RunSummary>) => void) => void;
  'training:resume': (payload: RunIdPayload, ack: (res: Ack<RunSummary>) => void) => void;
  /** Run exactly `n` more iterations (each with its debug frame), then pause. Acked when accepted. */
  'training:step': (payload: RunIdPayload & { n: number }, ack: (res: Ack<RunSummary>) => void) => void;
  'training:stop': (payload: RunIdPayload, ack: (res: Ack<RunSummary>) => void) => void;
  /** Change lr and/or summarize_freq while running. */
  'training:configure': (
    payload: RunIdPayload & { lr?: number; summarize_freq?: number },
    ack: (res: Ack<RunSummary>) => void,
  ) => void;
  /** Capture a debug frame at the next iteration regardless of summarize_freq. */
  'frame:capture': (payload: RunIdPayload, ack: (res: Ack<null>) => void) => void;
  /** Acknowledge that the last `memory:frame` was rendered; the server may then send the next (newest wins). */
  'frame:ack': (payload: RunIdPayload & { iteration: number }) => void;
  /** Fetch one stored frame (for scrubbing history). */
  'frame:get': (payload: RunIdPayload & { iteration: number }, ack: (res: Ack<WireFrame>) => void) => void;
  /** A page or an overview of a run's stored metric history (MetricsQuery). */
  'metrics:get': (payload: RunIdPayload & MetricsQuery, ack: (res: Ack<MetricPoint[]>) => void) => void;
}

export interface ServerToClientEvents extends IngestServerEvents, VisdomServerEvents {
  /** A run was created or changed state/iteration (throttled). Sent to every client. */
  'run:updated': (run: RunSummary) => void;
  /** A run was deleted. Sent to every client. */
  'run:deleted': (payload: RunIdPayload) => void;
  /** New metric points for a subscribed run, in order, reliable. */
  'metrics:batch': (batch: MetricsBatch) => void;
  /** The newest debug frame of a subscribed run (flow-controlled: next only after `frame:ack`). */
  'memory:frame': (frame: WireFrame) => void;
  /** The iterations that now have stored frames changed (new frame stored or old ones thinned). */
  'frames:stored': (payload: { runId: string; frameIterations: number[] }) => void;
}
