/**
 * Opt-in frame timing probe for `npm run bench:ui`: when the page defines `window.__engramFrameTimings` (the
 * benchmark does so before any script runs), each drawn live frame appends when it was captured on the server,
 * received here and drawn (the animation frame after the synchronous draw). Otherwise it costs one property read.
 */
export interface FrameTiming {
  iteration: number;
  capturedAt: number;
  receivedAt: number;
  drawnAt: number;
}

declare global {
  interface Window {
    __engramFrameTimings?: FrameTiming[];
  }
}

/** Cap so a forgotten probe cannot grow without bound. */
const MAX_TIMINGS = 200_000;

export function recordFrameTiming(timing: FrameTiming): void {
  const sink = typeof window === 'undefined' ? undefined : window.__engramFrameTimings;
  if (sink && sink.length < MAX_TIMINGS) sink.push(timing);
}
