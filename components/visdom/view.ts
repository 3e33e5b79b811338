/**
 * Pure helpers of the Visdom panels: the plotly layout a panel is drawn with, the image sources and traces allowed,
 * a plot's CSV export, and test ids from window ids.
 */
import type { PlotPanel, PlotTrace } from '../../server/protocol/visdom';
import { toCsv } from '../lib/csv';

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
