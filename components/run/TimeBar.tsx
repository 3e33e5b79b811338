'use client';
/**
 * Time controls: the timestep slider inside the sequence, the iteration scrubber over stored frames (fetched with
 * `frame:get`), and "live", which snaps back to the newest frame.
 */
import { runViewSelectors } from '../state/store';
import { useDashboardStore } from '../state/StoreProvider';

/** Index of the stored iteration closest to `iteration`. */
function nearestIndex(iterations: readonly number[], iteration: number | null): number {
  if (!iterations.length) return 0;
  if (iteration === null) return iterations.length - 1;
  let best = 0;
  for (let i = 1; i < iterations.length; i++)
    if (Math.abs(iterations[i] - iteration) < Math.abs(iterations[best] - iteration)) best = i;
  return best;
}

export function TimeBar() {
  const timestep = useDashboardStore(runViewSelectors.timestep);
  const timesteps = useDashboardStore(runViewSelectors.timesteps);
  const frameIterations = useDashboardStore(runViewSelectors.frameIterations);
  const mode = useDashboardStore(runViewSelectors.mode);
  const scrubIteration = useDashboardStore(runViewSelectors.scrubIteration);
  const liveIteration = useDashboardStore(runViewSelectors.liveIteration);
  const shownIteration = useDashboardStore(runViewSelectors.shownIteration);
  const setTimestep = useDashboardStore((s) => s.setTimestep);
  const scrubTo = useDashboardStore((s) => s.scrubTo);
  const goLive = useDashboardStore((s) => s.goLive);
  const index = nearestIndex(frameIterations, mode === 'live' ? liveIteration : scrubIteration);

  return (
    <div className="time-bar">
      <label className="slider">
        <span>timestep</span>
        <input
          type="range"
          min={0}
          max={Math.max(0, timesteps - 1)}
          step={1}
          value={Math.min(timestep, Math.max(0, timesteps - 1))}
          onChange={(e) => setTimestep(Number(e.target.value))}
          disabled={timesteps <= 1}
          data-testid="timestep-slider"
        />
        <span className="num mono" data-testid="timestep-label">
          {timesteps ? `${timestep} / ${timesteps - 1}` : '—'}
        </span>
      </label>
      <label className="slider slider-wide">
        <span>frame</span>
        <input
          type="range"
          min={0}
          max={Math.max(0, frameIterations.length - 1)}
          step={1}
          value={index}
          onChange={(e) => scrubTo(frameIterations[Number(e.target.value)])}
          disabled={frameIterations.length < 2}
          data-testid="iteration-scrubber"
          data-iteration={mode === 'live' ? (liveIteration ?? '') : (scrubIteration ?? '')}
        />
        <span className="num mono" data-testid="frame-label">
          {shownIteration === null ? (mode === 'history' ? `loading ${scrubIteration}…` : '—') : `it ${shownIteration}`}
          <span className="muted"> · {frameIterations.length} stored</span>
        </span>
      </label>
      <span className="scrub-step">
        <button
          type="button"
          className="btn btn-small"
          disabled={index <= 0}
          onClick={() => scrubTo(frameIterations[index - 1])}
          data-testid="scrub-back"
          title="previous stored frame"
        >
          ◀
        </button>
        <button
          type="button"
          className="btn btn-small"
          disabled={index >= frameIterations.length - 1}
          onClick={() => scrubTo(frameIterations[index + 1])}
          data-testid="scrub-forward"
          title="next stored frame"
        >
          ▶
        </button>
      </span>
      <button
        type="button"
        className={`btn live-btn${mode === 'live' ? ' live-on' : ''}`}
        onClick={goLive}
        data-testid="live-button"
        data-mode={mode}
      >
        <i />
        {mode === 'live' ? 'live' : 'go live'}
      </button>
    </div>
  );
}
