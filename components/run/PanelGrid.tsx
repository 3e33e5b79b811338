'use client';
/**
 * The heatmap panels of the shown frame, grouped: the sequence (input, target, output — prominent, beside memory),
 * memory-sized slices at the timestep, over-time views and small strips. Re-renders only when the frame's layout
 * key (tensor names and shapes) changes; the panels themselves draw every frame without React.
 */
import { memo, useMemo } from 'react';
import { panelsForFrame, type PanelGroup, type PanelSpec } from '../lib/panels';
import { HeatmapPanel } from '../heatmap/HeatmapPanel';
import { runViewSelectors, shownFrame } from '../state/store';
import { useDashboardStore, useDashboardStoreApi } from '../state/StoreProvider';

const GROUP_TITLES: Record<PanelGroup, string> = {
  sequence: 'Sequence · batch element 0',
  memory: 'Memory at timestep',
  overTime: 'Weightings over time',
  strip: 'Modes and gates',
};

function Group({ group, panels }: { group: PanelGroup; panels: PanelSpec[] }) {
  if (!panels.length) return null;
  return (
    <section className={`panel-group group-${group}`} data-testid={`group-${group}`}>
      <div className="group-title">{GROUP_TITLES[group]}</div>
      <div className="group-panels">
        {panels.map((p) => (
          <HeatmapPanel key={`${p.key}/${p.shape.join('x')}/${p.axes.join(',')}`} spec={p} />
        ))}
      </div>
    </section>
  );
}

export const PanelGrid = memo(function PanelGrid({ aside }: { aside: React.ReactNode }) {
  const store = useDashboardStoreApi();
  const key = useDashboardStore(runViewSelectors.frameLayoutKey);
  const highlight = useDashboardStore(runViewSelectors.highlightCell);
  const setHighlight = useDashboardStore((s) => s.setHighlightCell);
  const panels = useMemo(() => {
    const frame = shownFrame(store.getState());
    return key && frame ? panelsForFrame(frame.tensors) : [];
  }, [key, store]);
  const by = (g: PanelGroup) => panels.filter((p) => p.group === g);

  return (
    <div className="run-grid">
      <div className="run-grid-top">
        <Group group="sequence" panels={by('sequence')} />
        <Group group="memory" panels={by('memory')} />
        <div className="run-grid-aside">{aside}</div>
      </div>
      {panels.length === 0 ? (
        <div className="empty panels-empty" data-testid="panels-empty">
          Waiting for the first debug frame…
        </div>
      ) : null}
      <div className="run-grid-bottom">
        <Group group="overTime" panels={by('overTime')} />
        <Group group="strip" panels={by('strip')} />
      </div>
      {highlight !== null ? (
        <div className="highlight-pill" data-testid="highlight-pill">
          cell {highlight} highlighted{' '}
          <button type="button" onClick={() => setHighlight(null)}>
            clear
          </button>
        </div>
      ) : null}
    </div>
  );
});
