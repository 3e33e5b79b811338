/**
 * Where the Visdom layer puts what scripts send: one small interface, so the protocol (routes, window semantics,
 * title grouping) is written and tested once, over memory in tests and over Engram's runs in the server.
 *
 * Heatmap windows become named float32 tensors of a frame (one frame per iteration holding the latest value of
 * every heatmap window of the env); numbers found in grouped titles become metric points; every other window
 * (lines, scatters, bars, text, images, any other plotly figure) is a `VisdomPanel`, drawn as data, never as HTML.
 */

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

/** A plotly trace as the client sent it; `x`, `y` (and `z` for non-heatmap 3-D traces) are plain number arrays. */
export type PlotTrace = Record<string, unknown> & { name?: string; type?: string };

export interface ImageItem {
  /** A `data:image/…;base64,` URL (checked on the way in). */
  src: string;
  caption: string;
}

interface PanelBase {
  win: string;
  title: string;
  /** Bumped on every change, so a client can tell which version it holds. */
  version: number;
}

/** Lines, scatters, bars and any other plotly figure, drawn from its traces and layout as sent. */
export interface PlotPanel extends PanelBase {
  kind: 'plot';
  traces: PlotTrace[];
  layout: Record<string, unknown>;
}

/** Text shown as text: markup is never interpreted. */
export interface TextPanel extends PanelBase {
  kind: 'text';
  text: string;
}

/** `image`, `images` (one grid image) and `image_history` (a scrubbable list). */
export interface ImagePanel extends PanelBase {
  kind: 'image';
  images: ImageItem[];
  selected: number;
}

export type VisdomPanel = PlotPanel | TextPanel | ImagePanel;

/** Points appended to existing traces of a plot panel: what a `line(update='append')` call adds. */
export interface TraceAppend {
  trace: number;
  x: number[];
  y: number[];
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
