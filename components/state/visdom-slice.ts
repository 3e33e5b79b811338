/**
 * The Visdom panels of the open run (a Visdom env): every window that is not a heatmap (heatmaps are frame
 * tensors and go through the panel grid like any run's). Appends change only the trace they extend, so a line that
 * grows by one point per iteration costs one array copy of that trace, not a rebuild of the panel list.
 */
import type { StateCreator } from 'zustand/vanilla';
import type { TraceAppend, VisdomPanel } from '../../server/protocol/visdom';

export interface VisdomSlice {
  /** Run whose panels these are (null: none loaded). */
  visdomRunId: string | null;
  /** Window ids in creation order. */
  visdomOrder: string[];
  visdomPanels: Record<string, VisdomPanel>;
  setVisdomPanels(runId: string, panels: readonly VisdomPanel[]): void;
  upsertVisdomPanel(runId: string, panel: VisdomPanel): void;
  appendVisdomTraces(runId: string, win: string, version: number, appends: readonly TraceAppend[]): void;
  closeVisdomPanel(runId: string, win: string): void;
}

/** The slice over any store that also knows the open run id. */
export function createVisdomSlice<S extends VisdomSlice & { runId: string | null }>(
  ...[set, get]: Parameters<StateCreator<S, [], [], VisdomSlice>>
): VisdomSlice {
  const current = (runId: string) => runId === get().runId;
  return {
    visdomRunId: null,
    visdomOrder: [],
    visdomPanels: {},
    setVisdomPanels: (runId, panels) => {
      if (!current(runId)) return;
      const visdomPanels: Record<string, VisdomPanel> = {};
      for (const p of panels) visdomPanels[p.win] = p;
      set({ visdomRunId: runId, visdomOrder: panels.map((p) => p.win), visdomPanels } as Partial<S>);
    },
    upsertVisdomPanel: (runId, panel) => {
      if (!current(runId)) return;
      const s = get();
      const visdomOrder = panel.win in s.visdomPanels ? s.visdomOrder : [...s.visdomOrder, panel.win];
      set({ visdomRunId: runId, visdomOrder, visdomPanels: { ...s.visdomPanels, [panel.win]: panel } } as Partial<S>);
    },
    appendVisdomTraces: (runId, win, version, appends) => {
      if (!current(runId)) return;
      const panel = get().visdomPanels[win];
      // A panel we do not hold (or not as a plot) is fetched whole on the next subscribe; skip the points.
      if (panel === undefined || panel.kind !== 'plot') return;
      const traces = panel.traces.slice();
      for (const { trace, x, y } of appends) {
        const old = traces[trace];
        if (old === undefined) continue;
        const oldX = Array.isArray(old.x) ? (old.x as number[]) : [];
        const oldY = Array.isArray(old.y) ? (old.y as number[]) : [];
        traces[trace] = { ...old, x: oldX.concat(x), y: oldY.concat(y) };
      }
      set({ visdomPanels: { ...get().visdomPanels, [win]: { ...panel, traces, version } } } as Partial<S>);
    },
    closeVisdomPanel: (runId, win) => {
      if (!current(runId)) return;
      const { [win]: _closed, ...rest } = get().visdomPanels;
      set({ visdomOrder: get().visdomOrder.filter((w) => w !== win), visdomPanels: rest } as Partial<S>);
    },
  };
}

export const visdomSelectors = {
  order: (s: VisdomSlice) => s.visdomOrder,
  panel: (win: string) => (s: VisdomSlice) => s.visdomPanels[win],
};
