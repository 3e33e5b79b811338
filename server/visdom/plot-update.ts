/**
 * `/update` on a plot window, as Visdom's client expects it: append points to traces (by `name`, or every trace in
 * order), replace their data, add a trace under a new `name`, or delete traces. Appends cost what they add, not
 * what the window already holds; a trace keeps at most MAX_TRACE_POINTS points (the oldest half is thinned, every
 * other point dropped, like stored frames).
 */
import { type Body, numberList, plainJson, VisdomRequestError } from './body';
import type { PlotPanel, PlotTrace, TraceAppend } from './sink';

export const MAX_TRACE_POINTS = 100_000;

/** Turn sent traces into stored ones: x/y as plain number lists, everything else as sent. */
export function toPlotTraces(traces: readonly Body[]): PlotTrace[] {
  return traces.map((trace, i) => {
    const out = plainJson(trace) as PlotTrace;
    for (const axis of ['x', 'y'] as const) {
      if (trace[axis] !== undefined && trace[axis] !== null) out[axis] = numberList(trace[axis], `data[${i}].${axis}`);
    }
    return out;
  });
}

function xs(trace: PlotTrace): number[] {
  return Array.isArray(trace.x) ? (trace.x as number[]) : [];
}

function ys(trace: PlotTrace): number[] {
  return Array.isArray(trace.y) ? (trace.y as number[]) : [];
}

/** Keep a trace within MAX_TRACE_POINTS: drop every other point of the oldest half. Amortised O(1) per point. */
function bound(trace: PlotTrace): void {
  const x = xs(trace);
  const y = ys(trace);
  if (x.length <= MAX_TRACE_POINTS) return;
  const half = x.length >> 1;
  const keep = (_: number, i: number) => i >= half || i % 2 === 0;
  trace.x = x.filter(keep);
  trace.y = y.filter(keep);
}

/**
 * Apply a plot update in place. Returns the appended points when the update only appended (so the sink can send
 * just those), or null when the panel changed otherwise. Throws before changing anything when the body is bad.
 */
export function updatePlot(
  panel: PlotPanel,
  traces: readonly Body[] | null,
  name: string | null,
  append: boolean,
  remove: boolean,
): TraceAppend[] | null {
  const indices = panel.traces.map((_, i) => i).filter((i) => name === null || panel.traces[i].name === name);
  if (remove) {
    panel.traces = panel.traces.filter((_, i) => !indices.includes(i));
    return null;
  }
  if (traces === null || traces.length === 0) return null;
  const incoming = toPlotTraces(traces);
  if (name !== null && incoming.length !== 1)
    throw new VisdomRequestError(`an update by name must send one trace, got ${incoming.length}`);
  if (indices.length === 0) {
    // A new name adds a trace (Visdom's "insert"): it takes the sent trace as it is.
    panel.traces.push({ ...incoming[0], name: name ?? incoming[0].name });
    return null;
  }
  if (!append) {
    indices.forEach((index, n) => {
      const sent = incoming[n];
      // As for appends, Visdom leaves a trace alone when the update's x is all NaN (or empty).
      if (sent === undefined || xs(sent).every((v) => Number.isNaN(v))) return;
      panel.traces[index] = { ...panel.traces[index], x: sent.x ?? [], y: sent.y ?? [] };
    });
    return null;
  }
  const appended: TraceAppend[] = [];
  indices.forEach((index, n) => {
    const sent = incoming[n];
    if (sent === undefined) return;
    const x = xs(sent);
    const y = ys(sent);
    // Visdom ignores an update whose x is all NaN: scripts use it to mask.
    if (x.every((v) => Number.isNaN(v))) return;
    const trace = panel.traces[index];
    if (!Array.isArray(trace.x)) trace.x = [];
    if (!Array.isArray(trace.y)) trace.y = [];
    for (const v of x) xs(trace).push(v);
    for (const v of y) ys(trace).push(v);
    bound(trace);
    appended.push({ trace: index, x, y });
  });
  return appended;
}

/** The plot types `/update` accepts (as in Visdom); others answer with Visdom's message. */
export function updatablePlot(panel: PlotPanel): string | null {
  const type = panel.traces[0]?.type ?? 'scatter';
  return ['scatter', 'scattergl', 'custom', 'heatmap'].includes(type) || panel.traces.length === 0 ? null : type;
}
