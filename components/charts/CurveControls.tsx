'use client';
/** Smoothing, log-scale and x-axis controls shared by every curve chart (state in the chart slice). */
import { chartSelectors } from '../state/store';
import { useDashboardStore } from '../state/StoreProvider';

export function CurveControls() {
  const smoothing = useDashboardStore(chartSelectors.smoothing);
  const logScale = useDashboardStore(chartSelectors.logScale);
  const xAxis = useDashboardStore(chartSelectors.xAxis);
  const setSmoothing = useDashboardStore((s) => s.setSmoothing);
  const setLogScale = useDashboardStore((s) => s.setLogScale);
  const setXAxis = useDashboardStore((s) => s.setXAxis);
  return (
    <div className="curve-controls">
      <label title="exponential moving average weight">
        smoothing
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={smoothing}
          onChange={(e) => setSmoothing(Number(e.target.value))}
          data-testid="smoothing"
        />
        <span className="num">{smoothing.toFixed(2)}</span>
      </label>
      <label>
        <input
          type="checkbox"
          checked={logScale}
          onChange={(e) => setLogScale(e.target.checked)}
          data-testid="log-scale"
        />{' '}
        log y
      </label>
      {/* biome-ignore lint/a11y/useSemanticElements: a segmented button pair (no fieldset frame) */}
      <span className="seg" role="group" aria-label="x axis">
        <button type="button" className={xAxis === 'iteration' ? 'on' : ''} onClick={() => setXAxis('iteration')}>
          iteration
        </button>
        <button type="button" className={xAxis === 'wall' ? 'on' : ''} onClick={() => setXAxis('wall')}>
          wall time
        </button>
      </span>
    </div>
  );
}
