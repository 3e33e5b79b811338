/**
 * The dashboard's zustand store: small slices composed into one vanilla store, created once per client tree
 * (see StoreProvider). High-frequency data (frames) lives here too, but is read through transient
 * subscriptions (`store.subscribe`) by the heatmap panels, so React never re-renders per frame; React components
 * select narrow, slowly changing fields through the selector bundles below.
 */
import { createStore, type StateCreator, type StoreApi } from 'zustand/vanilla';
import type { MetricPoint, MetricsBatch, RunSnapshot, RunSummary } from '../../server/protocol';
import type { DecodedFrame } from '../../server/protocol/frames';
import { clampTimestep, layoutKey } from '../lib/panels';
import { createVisdomSlice, type VisdomSlice } from './visdom-slice';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

export interface ConnectionSlice {
  connection: ConnectionStatus;
  /** Message of the last connection error, if any. */
  connectionError: string | null;
  setConnection(status: ConnectionStatus, error?: string | null): void;
}

export interface RunsSlice {
  runs: Record<string, RunSummary>;
  /** Run ids, newest first. */
  runOrder: string[];
  /** Loss history per run for sparklines and the compare overlay (fetched incrementally). */
  runMetrics: Record<string, MetricPoint[]>;
  /** Runs whose loss curves are overlaid on the runs page. */
  compare: string[];
  setRuns(runs: readonly RunSummary[]): void;
  upsertRun(run: RunSummary): void;
  /** Forget a deleted run; the open run page then says there is no such run. */
  removeRun(runId: string): void;
  appendRunMetrics(runId: string, points: readonly MetricPoint[]): void;
  toggleCompare(runId: string): void;
}

export type ViewMode = 'live' | 'history';

export interface RunViewSlice {
  /** The run the run page shows, or null on the runs page. */
  runId: string | null;
  /** The open run's metric history as held here: all of it, or (for a long run) the server's overview, refined
   *  wherever a range was fetched in detail. */
  metrics: MetricPoint[];
  /** How many points the server stores for the open run (grows with live batches): more than `metrics.length`
   *  while `metrics` is an overview. */
  metricCount: number;
  frameIterations: number[];
  liveFrame: DecodedFrame | null;
  historyFrame: DecodedFrame | null;
  mode: ViewMode;
  /** Iteration the scrubber asked for (history mode); the frame may still be loading. */
  scrubIteration: number | null;
  timestep: number;
  highlightCell: number | null;
  /** Changes only when the shown frame's tensor names/shapes do, so the panel grid re-renders rarely. */
  frameLayoutKey: string;
  /** Newest iteration seen in a frame, for the "live" badge. */
  liveIteration: number | null;
  frameError: string | null;
  /** The open run does not exist on the server (unknown id, or deleted): the page says so instead of loading. */
  runMissing: boolean;
  openRun(runId: string | null, restore?: { timestep?: number; scrubIteration?: number | null }): void;
  applySnapshot(snapshot: RunSnapshot): void;
  appendMetrics(batch: MetricsBatch): void;
  /** Replace the held points of `(since, until]` with `points` (a finer view of that range from `metrics:get`). */
  mergeMetricRange(runId: string, since: number, until: number, points: readonly MetricPoint[]): void;
  receiveFrame(frame: DecodedFrame): void;
  setFrameIterations(runId: string, iterations: readonly number[]): void;
  /** Leave live mode and show the stored frame at `iteration` (loaded separately into historyFrame). */
  scrubTo(iteration: number): void;
  setHistoryFrame(frame: DecodedFrame): void;
  setFrameError(message: string | null): void;
  setRunMissing(runId: string): void;
  goLive(): void;
  setTimestep(timestep: number): void;
  setHighlightCell(cell: number | null): void;
}

export type XAxisMode = 'iteration' | 'wall';

export interface ChartSlice {
  /** EMA weight in [0, 1). */
  smoothing: number;
  logScale: boolean;
  xAxis: XAxisMode;
  setSmoothing(weight: number): void;
  setLogScale(on: boolean): void;
  setXAxis(mode: XAxisMode): void;
}

export interface PanelSettingsSlice {
  /** Panel key → locked colour range. Panels without an entry scale automatically per frame. */
  lockedRanges: Record<string, [number, number]>;
  lockRange(panelKey: string, range: [number, number]): void;
  unlockRange(panelKey: string): void;
}

export type DashboardState = ConnectionSlice & RunsSlice & RunViewSlice & ChartSlice & PanelSettingsSlice & VisdomSlice;
type Slice<T> = StateCreator<DashboardState, [], [], T>;

export const createConnectionSlice: Slice<ConnectionSlice> = (set) => ({
  connection: 'connecting',
  connectionError: null,
  setConnection: (connection, error = null) => set({ connection, connectionError: error }),
});

function sortRunIds(runs: Record<string, RunSummary>): string[] {
  return Object.values(runs)
    .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
    .map((r) => r.id);
}

/** Append points newer than the last one held (reconnects and snapshots overlap with live batches). */
function appendNewer(held: readonly MetricPoint[], points: readonly MetricPoint[]): MetricPoint[] {
  const last = held.length ? held[held.length - 1].iteration : -Infinity;
  const fresh = points.filter((p) => p.iteration > last);
  return fresh.length ? [...held, ...fresh] : (held as MetricPoint[]);
}

/** `held` with its points in `(since, until]` replaced by `points` (all of them inside that range, ascending). */
export function mergeRange(
  held: readonly MetricPoint[],
  since: number,
  until: number,
  points: readonly MetricPoint[],
): MetricPoint[] {
  const before = held.filter((p) => p.iteration <= since);
  const after = held.filter((p) => p.iteration > until);
  return [...before, ...points.filter((p) => p.iteration > since && p.iteration <= until), ...after];
}

export const createRunsSlice: Slice<RunsSlice> = (set, get) => ({
  runs: {},
  runOrder: [],
  runMetrics: {},
  compare: [],
  setRuns: (list) => {
    const runs: Record<string, RunSummary> = {};
    for (const r of list) runs[r.id] = r;
    set({ runs, runOrder: sortRunIds(runs) });
  },
  upsertRun: (run) => {
    const prev = get().runs[run.id];
    // Throttled pushes can arrive out of order with command acks; never move a run's iteration backwards.
    if (prev && prev.updatedAt > run.updatedAt) return;
    const runs = { ...get().runs, [run.id]: run };
    set({ runs, runOrder: prev ? get().runOrder : sortRunIds(runs) });
  },
  removeRun: (runId) => {
    const { [runId]: _gone, ...runs } = get().runs;
    const { [runId]: _metrics, ...runMetrics } = get().runMetrics;
    set({
      runs,
      runMetrics,
      runOrder: get().runOrder.filter((id) => id !== runId),
      compare: get().compare.filter((id) => id !== runId),
    });
    get().setRunMissing(runId);
  },
  appendRunMetrics: (runId, points) => {
    const held = get().runMetrics[runId] ?? [];
    const next = appendNewer(held, points);
    if (next !== held || !(runId in get().runMetrics)) set({ runMetrics: { ...get().runMetrics, [runId]: next } });
  },
  toggleCompare: (runId) => {
    const compare = get().compare;
    set({ compare: compare.includes(runId) ? compare.filter((id) => id !== runId) : [...compare, runId] });
  },
});

function frameState(frame: DecodedFrame | null, timestep: number): { frameLayoutKey?: string; timestep: number } {
  if (!frame) return { timestep };
  return { frameLayoutKey: layoutKey(frame.tensors), timestep: clampTimestep(timestep, frame.timesteps) };
}

export const createRunViewSlice: Slice<RunViewSlice> = (set, get) => ({
  runId: null,
  metrics: [],
  metricCount: 0,
  frameIterations: [],
  liveFrame: null,
  historyFrame: null,
  mode: 'live',
  scrubIteration: null,
  timestep: 0,
  highlightCell: null,
  frameLayoutKey: '',
  liveIteration: null,
  frameError: null,
  runMissing: false,
  openRun: (runId, restore = {}) => {
    const scrub = restore.scrubIteration ?? null;
    set({
      runId,
      metrics: [],
      metricCount: 0,
      frameIterations: [],
      liveFrame: null,
      historyFrame: null,
      mode: scrub === null ? 'live' : 'history',
      scrubIteration: scrub,
      timestep: restore.timestep ?? 0,
      highlightCell: null,
      frameLayoutKey: '',
      liveIteration: null,
      frameError: null,
      runMissing: false,
    });
  },
  applySnapshot: (snapshot) => {
    if (snapshot.run.id !== get().runId) return;
    if (get().runMissing) set({ runMissing: false });
    get().upsertRun(snapshot.run);
    // A snapshot is the whole truth after a (re)subscribe: replace, then live batches append.
    set({
      metrics: snapshot.metrics.slice(),
      metricCount: Math.max(snapshot.metricCount, snapshot.metrics.length),
      frameIterations: snapshot.frameIterations.slice(),
    });
  },
  appendMetrics: (batch) => {
    if (batch.runId !== get().runId) return;
    const held = get().metrics;
    const next = appendNewer(held, batch.points);
    if (next !== held) set({ metrics: next, metricCount: get().metricCount + next.length - held.length });
  },
  mergeMetricRange: (runId, since, until, points) => {
    if (runId !== get().runId) return;
    set({ metrics: mergeRange(get().metrics, since, until, points) });
  },
  receiveFrame: (frame) => {
    const s = get();
    if (frame.runId !== s.runId) return;
    const frameIterations = s.frameIterations.includes(frame.iteration)
      ? s.frameIterations
      : [...s.frameIterations, frame.iteration].sort((a, b) => a - b);
    if (s.mode === 'live') {
      const fs = frameState(frame, s.timestep);
      set({
        liveFrame: frame,
        liveIteration: frame.iteration,
        frameIterations,
        ...(fs.frameLayoutKey === s.frameLayoutKey ? { timestep: fs.timestep } : fs),
      });
    } else {
      set({ liveFrame: frame, liveIteration: frame.iteration, frameIterations });
    }
  },
  setFrameIterations: (runId, iterations) => {
    if (runId !== get().runId) return;
    set({ frameIterations: iterations.slice() });
  },
  scrubTo: (iteration) => set({ mode: 'history', scrubIteration: iteration }),
  setHistoryFrame: (frame) => {
    const s = get();
    if (frame.runId !== s.runId || s.mode !== 'history' || frame.iteration !== s.scrubIteration) return;
    set({ historyFrame: frame, frameError: null, ...frameState(frame, s.timestep) });
  },
  setFrameError: (frameError) => set({ frameError }),
  setRunMissing: (runId) => {
    if (runId === get().runId) set({ runMissing: true });
  },
  goLive: () => {
    const s = get();
    set({
      mode: 'live',
      scrubIteration: null,
      historyFrame: null,
      frameError: null,
      ...frameState(s.liveFrame, s.timestep),
    });
  },
  setTimestep: (timestep) => {
    const frame = shownFrame(get());
    set({ timestep: frame ? clampTimestep(timestep, frame.timesteps) : Math.max(0, Math.round(timestep)) });
  },
  setHighlightCell: (highlightCell) => set({ highlightCell }),
});

export const createChartSlice: Slice<ChartSlice> = (set) => ({
  smoothing: 0.6,
  logScale: false,
  xAxis: 'iteration',
  setSmoothing: (weight) => {
    if (!(weight >= 0 && weight < 1)) throw new Error(`setSmoothing: weight must be in [0, 1), got ${weight}`);
    set({ smoothing: weight });
  },
  setLogScale: (logScale) => set({ logScale }),
  setXAxis: (xAxis) => set({ xAxis }),
});

export const createPanelSettingsSlice: Slice<PanelSettingsSlice> = (set, get) => ({
  lockedRanges: {},
  lockRange: (key, range) => {
    if (!(range[1] > range[0]))
      throw new Error(`lockRange(${key}): max must exceed min, got [${range[0]}, ${range[1]}]`);
    set({ lockedRanges: { ...get().lockedRanges, [key]: range } });
  },
  unlockRange: (key) => {
    const { [key]: _dropped, ...rest } = get().lockedRanges;
    set({ lockedRanges: rest });
  },
});

export type DashboardStore = StoreApi<DashboardState>;

export function createDashboardStore(): DashboardStore {
  return createStore<DashboardState>()((...a) => ({
    ...createConnectionSlice(...a),
    ...createRunsSlice(...a),
    ...createRunViewSlice(...a),
    ...createChartSlice(...a),
    ...createPanelSettingsSlice(...a),
    ...createVisdomSlice(...a),
  }));
}

/** The frame the run page shows: the newest in live mode, the fetched stored one while scrubbing. */
export function shownFrame(s: Pick<DashboardState, 'mode' | 'liveFrame' | 'historyFrame'>): DecodedFrame | null {
  return s.mode === 'live' ? s.liveFrame : s.historyFrame;
}

export const runViewSelectors = {
  runId: (s: DashboardState) => s.runId,
  run: (s: DashboardState) => (s.runId ? (s.runs[s.runId] ?? null) : null),
  mode: (s: DashboardState) => s.mode,
  timestep: (s: DashboardState) => s.timestep,
  scrubIteration: (s: DashboardState) => s.scrubIteration,
  frameIterations: (s: DashboardState) => s.frameIterations,
  frameLayoutKey: (s: DashboardState) => s.frameLayoutKey,
  liveIteration: (s: DashboardState) => s.liveIteration,
  metrics: (s: DashboardState) => s.metrics,
  metricCount: (s: DashboardState) => s.metricCount,
  highlightCell: (s: DashboardState) => s.highlightCell,
  frameError: (s: DashboardState) => s.frameError,
  runMissing: (s: DashboardState) => s.runMissing,
  /** Timesteps of the shown frame (0 before the first frame). */
  timesteps: (s: DashboardState) => shownFrame(s)?.timesteps ?? 0,
  shownIteration: (s: DashboardState) => shownFrame(s)?.iteration ?? null,
};

export const runsSelectors = {
  runOrder: (s: DashboardState) => s.runOrder,
  runs: (s: DashboardState) => s.runs,
  runMetrics: (s: DashboardState) => s.runMetrics,
  compare: (s: DashboardState) => s.compare,
};

export const chartSelectors = {
  smoothing: (s: DashboardState) => s.smoothing,
  logScale: (s: DashboardState) => s.logScale,
  xAxis: (s: DashboardState) => s.xAxis,
};

export const connectionSelectors = {
  connection: (s: DashboardState) => s.connection,
  connectionError: (s: DashboardState) => s.connectionError,
};
