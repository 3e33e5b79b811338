/**
 * The wire side of external runs (part of the protocol; imports nothing from the project): what a trainer sends to
 * create a run, stream metrics and frames into it and ask whether it may go on, and what the server answers.
 */
import type { Ack, ExternalControl, RunIdPayload, RunState, RunSummary } from '../protocol';

/**
 * External runs: any trainer creates a run with `POST /api/runs {external: true, name?, config?, controls?}` (or
 * `run:create` with the same fields), then streams metrics and frames into it and asks before each iteration
 * whether it may go on. docs/protocol.md describes the routes, the binary frame body and the control loop.
 */
export interface ExternalRunCreate {
  external: true;
  name?: string;
  /** Free-form JSON describing the model; shown with the run and kept in exports. */
  config?: Record<string, unknown>;
  /** The controls the client obeys (default: all). A client that never asks declares `[]`. */
  controls?: ExternalControl[];
}

/** One metric point as a client sends it: `iteration`, optional `loss` and `t` (ms since epoch), and any other
 *  numeric field as a named scalar (a new name becomes a new curve). */
export type IngestPoint = { iteration: number; loss?: number; t?: number } & Record<string, number>;

/** What the client should do next: `run` freely, `wait` (ask `ingest:wait` before every iteration), or `stop`. */
export interface ControlState {
  action: 'run' | 'wait' | 'stop';
  state: RunState;
  /** The learning rate set from the browser, or null while nobody changed it. */
  lr: number | null;
}

/** The answer to every ingest call. */
export interface IngestReply {
  control: ControlState;
}

/** The answer to a wait: `go` is true when the client may run exactly one more iteration. */
export interface WaitReply extends IngestReply {
  go: boolean;
}

export const INGEST_DTYPES = ['float32', 'float64', 'float16', 'uint8', 'int32'] as const;
export type IngestDtype = (typeof INGEST_DTYPES)[number];

/** One tensor of an ingested frame, in the order of its bytes in the body. */
export interface IngestTensorHeader {
  name: string;
  /** Required for `raw`; for `npy` taken from the blob (and checked against this when given). */
  shape?: number[];
  /** One label per dimension (default `dim0`, `dim1`, …); a leading `time` axis feeds the timestep slider. */
  axes?: string[];
  /** Raw buffers only (default float32); `.npy` blobs carry their own. Stored as float32. */
  dtype?: IngestDtype;
  format?: 'raw' | 'npy';
  layer?: number;
  range?: [number, number];
  description?: string;
}

/** The JSON header of an ingested frame. */
export interface IngestFrameHeader {
  iteration: number;
  /** Timesteps T of per-step tensors (default: the first dimension of the first tensor whose first axis is
   *  `time`, else 1). */
  timesteps?: number;
  tensors: IngestTensorHeader[];
}

/**
 * Largest ingested frame, counted as the float32 bytes it is stored as (a frame is also bounded by the transport:
 * MAX_PAYLOAD_BYTES per socket.io message, MAX_INGEST_BODY_BYTES per HTTP body).
 */
export const MAX_INGEST_FRAME_BYTES = 16 * 1024 * 1024;
/** Largest HTTP body of `POST /api/runs/:id/frames` (a float64 frame at the limit is twice its stored size). */
export const MAX_INGEST_BODY_BYTES = 2 * MAX_INGEST_FRAME_BYTES + 65_536;
/** Header carrying a frame's JSON header when the HTTP body holds only the tensor bytes (handy from curl). */
export const FRAME_HEADER_HEADER = 'x-engram-frame';
/** Longest wait a client may ask for; it then asks again. */
export const MAX_WAIT_MS = 30_000;

/** Events of an external client (the trainer), answered through acks like every command. */
export interface IngestClientEvents {
  /** Become the run's connected client (while this socket lives) and receive `training:control` pushes. */
  'ingest:attach': (
    payload: RunIdPayload & { controls?: ExternalControl[] },
    ack: (res: Ack<IngestReply>) => void,
  ) => void;
  'ingest:metrics': (payload: RunIdPayload & { points: IngestPoint[] }, ack: (res: Ack<IngestReply>) => void) => void;
  /** `data` holds the tensors' bytes back to back, in header order (raw little-endian or .npy blobs). */
  'ingest:frame': (
    payload: RunIdPayload & { header: IngestFrameHeader; data: ArrayBuffer | Uint8Array },
    ack: (res: Ack<IngestReply>) => void,
  ) => void;
  'ingest:wait': (payload: RunIdPayload & { timeoutMs?: number }, ack: (res: Ack<WaitReply>) => void) => void;
  'ingest:heartbeat': (payload: RunIdPayload, ack: (res: Ack<IngestReply>) => void) => void;
  /** A clean end: the run becomes `finished` (or `failed` with `message`). */
  'ingest:close': (
    payload: RunIdPayload & { state?: 'finished' | 'failed'; message?: string },
    ack: (res: Ack<RunSummary>) => void,
  ) => void;
}

export interface IngestServerEvents {
  /** Sent to a run's attached client whenever what it should do changes. */
  'training:control': (payload: { runId: string } & ControlState) => void;
}
