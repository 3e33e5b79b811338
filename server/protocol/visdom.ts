/**
 * The wire side of Visdom windows (part of the protocol; imports nothing from the project). A Visdom env is an
 * external run: its heatmap windows arrive as frame tensors like any run's; every other window is a `VisdomPanel`
 * the run page draws from data — plotly traces and layout, plain text, inline images — never from HTML.
 */
import type { Ack } from '../protocol';

/** A plotly trace as the script sent it; `x` and `y` are number lists (NaN for missing points). */
export type PlotTrace = Record<string, unknown> & { name?: string; type?: string };

export interface ImageItem {
  /** A `data:image/(png|jpeg|gif|webp|bmp);base64,` URL (checked by the server). */
  src: string;
  caption: string;
}

interface PanelBase {
  /** The Visdom window id (for grouped calls, the group's id, e.g. `memory`). */
  win: string;
  title: string;
  /** Bumped on every change. */
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

/** `image`, `images` (one grid image) and `image_history` (a list to scrub, `selected` shown first). */
export interface ImagePanel extends PanelBase {
  kind: 'image';
  images: ImageItem[];
  selected: number;
}

export type VisdomPanel = PlotPanel | TextPanel | ImagePanel;

/** Points appended to one trace of a plot panel (what `line(update='append')` adds). */
export interface TraceAppend {
  trace: number;
  x: number[];
  y: number[];
}

export interface VisdomServerEvents {
  /** A Visdom panel of a subscribed run was created or changed; carries the whole panel. */
  'visdom:panel': (payload: { runId: string; panel: VisdomPanel }) => void;
  /** Points were appended to a plot panel's traces; `version` is the panel's version after them. */
  'visdom:append': (payload: { runId: string; win: string; version: number; appends: TraceAppend[] }) => void;
  'visdom:closed': (payload: { runId: string; win: string }) => void;
}

export interface VisdomClientEvents {
  /** The Visdom panels of a run (empty for runs that are not Visdom envs), in creation order. */
  'visdom:panels': (payload: { runId: string }, ack: (res: Ack<VisdomPanel[]>) => void) => void;
}
