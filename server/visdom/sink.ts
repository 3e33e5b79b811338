/**
 * Where the Visdom layer puts what scripts send: one small interface, so the protocol (routes, window semantics,
 * title grouping) is written and tested once, over memory in tests and over Engram's runs in the server.
 *
 * Heatmap windows become named float32 tensors of a frame (one frame per iteration holding the latest value of
 * every heatmap window of the env); numbers found in grouped titles become metric points; every other window
 * (lines, scatters, bars, text, images, any other plotly figure) is a `VisdomPanel`, drawn as data, never as HTML.
 */
import type { TraceAppend, VisdomPanel } from '../protocol/visdom';

export type { ImageItem, PlotPanel, PlotTrace, TraceAppend, VisdomPanel } from '../protocol/visdom';

/** One heatmap window's value in a frame: `[rows, cols]` row-major. */
export interface VisdomTensor {
  name: string;
  shape: [number, number];
  /** Row axis and column axis labels (the window's `ylabel`, `xlabel`). */
  axes: [string, string];
  data: Float32Array;
  /** The call's full title (`"Memory, t: 100, loss: 0.5312"`). */
  description: string;
}

/** A metric point of an env: the numbers a grouped title carried besides its iteration. */
export interface VisdomMetricPoint {
  iteration: number;
  values: Record<string, number>;
}

/** What an env holds after a restart. */
export interface RestoredEnv {
  eid: string;
  panels: VisdomPanel[];
  /** The newest frame's tensors, so heatmap windows (and updates to them) survive. */
  tensors: VisdomTensor[];
  /** The newest frame's iteration, or -1 when the env has none. */
  iteration: number;
}

export interface VisdomSink {
  /** Make sure the env exists (as a run); idempotent. */
  ensureEnv(eid: string): void;
  /** Forget the env and everything in it. */
  deleteEnv(eid: string): void;
  /** The env's frame at `iteration` now holds exactly these tensors (the latest of every heatmap window). */
  putFrame(eid: string, iteration: number, tensors: readonly VisdomTensor[]): void;
  appendMetrics(eid: string, points: readonly VisdomMetricPoint[]): void;
  /** A panel was created or changed; `appended` says when the change was only points appended to traces. */
  putPanel(eid: string, panel: VisdomPanel, appended?: readonly TraceAppend[]): void;
  closePanel(eid: string, win: string): void;
  /** Envs stored before this process started. */
  restore(): RestoredEnv[];
}
