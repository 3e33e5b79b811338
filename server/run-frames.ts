/**
 * A run's debug frames in the run manager: each one a source reports is kept for the next commit and streamed (or
 * dropped, past the single-frame limit), and reads merge the frames still pending with the stored ones, so a frame
 * is readable from the moment it arrives.
 */
import { ApiError } from './errors';
import { decodeFrameBlob, frameBytes, toWireFrame } from './frame-codec';
import type { LiveRun } from './live-run';
import type { WireFrame } from './protocol/frames';
import type { Storage } from './storage';
import type { PackedFrame } from './worker/messages';

/** The iterations of a run's frames, stored or pending, in order. */
export function frameIterations(storage: Storage, live: LiveRun): number[] {
  const pending = live.pending.frameIterations();
  const stored = storage.frameIterations(live.run.id);
  if (pending.length === 0) return stored;
  return [...new Set([...stored, ...pending])].sort((a, b) => a - b);
}

/** One frame of a run, pending or stored. */
export function storedFrame(storage: Storage, live: LiveRun, iteration: number): PackedFrame {
  const runId = live.run.id;
  const pending = live.pending.frame(iteration);
  if (pending !== null) return pending;
  const blob = storage.getFrame(runId, iteration);
  if (blob === null) throw new ApiError('not_found', `run ${runId} has no stored frame at iteration ${iteration}`);
  return decodeFrameBlob(blob);
}

/** The newest frame of a run: the live one, or after a restart the newest stored one. */
export function latestFrame(storage: Storage, live: LiveRun): WireFrame | null {
  if (live.latestFrame !== null) return live.latestFrame;
  const iterations = frameIterations(storage, live);
  if (iterations.length === 0) return null;
  live.latestFrame = toWireFrame(live.run.id, storedFrame(storage, live, iterations[iterations.length - 1]));
  return live.latestFrame;
}

/** Frames of a run dropped for exceeding the single-frame limit (since this server started). */
export function oversizeFrames(
  storage: Storage,
  live: LiveRun,
): { count: number; largestBytes: number; limitBytes: number } | null {
  if (live.oversizeFrames === 0) return null;
  return {
    count: live.oversizeFrames,
    largestBytes: live.largestOversizeFrame,
    limitBytes: storage.maxFrameBytes,
  };
}

/** Keep a frame a source reported for the next commit and stream it to `listener`; `pinned` survives thinning. */
export function recordFrame(
  storage: Storage,
  listener: { frame(runId: string, frame: WireFrame): void },
  live: LiveRun,
  frame: PackedFrame,
  pinned: boolean,
): void {
  const bytes = frameBytes(frame);
  if (bytes > storage.maxFrameBytes) {
    // Neither stored nor streamed: one such frame would cost every download and every viewer that much.
    if (live.oversizeFrames === 0)
      console.warn(
        `[engram] run ${live.run.id}: a frame of ${megabytes(bytes)} exceeds the single-frame limit of ` +
          `${megabytes(storage.maxFrameBytes)} (ENGRAM_FRAME_LIMIT_MB); its frames are dropped`,
      );
    live.oversizeFrames++;
    live.largestOversizeFrame = Math.max(live.largestOversizeFrame, bytes);
    live.source?.frameConsumed();
    return;
  }
  try {
    const wire = toWireFrame(live.run.id, frame);
    if (live.latestFrame === null || frame.iteration >= live.latestFrame.iteration) live.latestFrame = wire;
    live.pending.addFrame(frame, pinned);
    live.framesDirty = true;
    listener.frame(live.run.id, wire);
  } finally {
    // Whatever happened to it, the frame left the worker: its in-flight count must not leak.
    live.source?.frameConsumed();
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
