/**
 * Pure helpers of the Visdom panels: the plotly layout a panel is drawn with, the image sources and traces allowed,
 * a plot's CSV export, the panels' files in a dashboard snapshot, and test ids from window ids.
 */
import type { PlotPanel, PlotTrace, VisdomPanel } from '../../server/protocol/visdom';
import { toCsv } from '../lib/csv';
import type { ZipEntry } from '../lib/zip';

/** Inline raster images only (no remote URL is fetched on the viewer's behalf, no SVG with scripts). */
const IMAGE_SRC = /^data:image\/(png|jpeg|gif|webp|bmp);base64,[A-Za-z0-9+/=\s]*$/;

export function safeImageSrc(src: string): string | null {
  return IMAGE_SRC.test(src) ? src : null;
}

/** Keys of a sent layout that are dropped: the page sizes the chart, and templates/images could pull remote data. */
const DROPPED_LAYOUT_KEYS = new Set(['width', 'height', 'autosize', 'template', 'images']);

/** The sent layout, sized by the page, with the page's dark theme colours (the sent axes' own settings win). */
export function plotLayout(panel: PlotPanel): Record<string, unknown> {
  const layout: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(panel.layout)) if (!DROPPED_LAYOUT_KEYS.has(key)) layout[key] = value;
  const axis = (sent: unknown) => ({
    gridcolor: '#262c36',
    zerolinecolor: '#3a4250',
    linecolor: '#3a4250',
    ...(typeof sent === 'object' && sent !== null ? sent : {}),
  });
  return {
    ...layout,
    // The panel shows the title above the chart.
    title: undefined,
    xaxis: axis(layout.xaxis),
    yaxis: axis(layout.yaxis),
    autosize: true,
    margin: { l: 50, r: 20, t: 10, b: 40 },
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: '#c9d1d9', size: 11 },
  };
}

/** The traces as sent, less what would load a remote URL on the viewer's behalf (an image trace's `source`). */
export function safeTraces(traces: readonly PlotTrace[]): PlotTrace[] {
  return traces.map((trace) => {
    if (!('source' in trace)) return trace;
    const { source: _remote, ...rest } = trace;
    return rest;
  });
}

/** A plot's points in long format (`trace,x,y`, one row per point; missing points as empty cells). */
export function tracesCsv(traces: readonly PlotTrace[]): string {
  const rows: (string | number | null)[][] = [];
  traces.forEach((trace, index) => {
    const x = Array.isArray(trace.x) ? (trace.x as unknown[]) : [];
    const y = Array.isArray(trace.y) ? (trace.y as unknown[]) : [];
    const name = trace.name ?? String(index + 1);
    for (let i = 0; i < Math.max(x.length, y.length); i++) rows.push([name, cellOf(x[i]), cellOf(y[i])]);
  });
  return toCsv(['trace', 'x', 'y'], rows);
}

function cellOf(value: unknown): string | number | null {
  return typeof value === 'number' || typeof value === 'string' ? value : null;
}

/** A window id as a test id segment (kebab-safe). */
export function testIdOf(win: string): string {
  return win.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** One Visdom panel in a snapshot's manifest: what it was and which files hold it. */
export interface SnapshotPanel {
  win: string;
  kind: VisdomPanel['kind'];
  title: string;
  files: string[];
}

/**
 * The non-heatmap Visdom panels as snapshot files under `visdom/` (heatmaps are frame tensors, exported with the
 * other panels): a plot as its points (CSV) and its traces and layout as sent (JSON), text as the characters sent,
 * images as the files their data URLs hold.
 */
export function visdomSnapshotFiles(panels: readonly VisdomPanel[]): {
  entries: ZipEntry[];
  manifest: SnapshotPanel[];
} {
  const entries: ZipEntry[] = [];
  const manifest: SnapshotPanel[] = [];
  const taken = new Set<string>();
  for (const panel of panels) {
    let stem = `visdom/${testIdOf(panel.win)}`;
    for (let k = 2; taken.has(stem); k++) stem = `visdom/${testIdOf(panel.win)}-${k}`;
    taken.add(stem);
    const files: ZipEntry[] = [];
    if (panel.kind === 'plot') {
      files.push({ name: `${stem}.csv`, data: tracesCsv(panel.traces) });
      files.push({
        name: `${stem}.json`,
        data: JSON.stringify({ traces: panel.traces, layout: panel.layout }, null, 2),
      });
    } else if (panel.kind === 'text') {
      files.push({ name: `${stem}.txt`, data: panel.text });
    } else {
      panel.images.forEach((image, index) => {
        const decoded = imageBytes(image.src);
        const suffix = panel.images.length > 1 ? `-${index}` : '';
        if (decoded !== null) files.push({ name: `${stem}${suffix}.${decoded.extension}`, data: decoded.bytes });
      });
    }
    entries.push(...files);
    manifest.push({ win: panel.win, kind: panel.kind, title: panel.title, files: files.map((f) => f.name) });
  }
  return { entries, manifest };
}

/** The bytes of an inline image (`safeImageSrc`'s kinds only), or null for anything else. */
export function imageBytes(src: string): { extension: string; bytes: Uint8Array } | null {
  if (safeImageSrc(src) === null) return null;
  const comma = src.indexOf(',');
  const type = src.slice('data:image/'.length, src.indexOf(';'));
  const binary = atob(src.slice(comma + 1).replace(/\s/g, ''));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return { extension: type === 'jpeg' ? 'jpg' : type, bytes };
}
