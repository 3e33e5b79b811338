/**
 * Export figures of one heatmap panel: a shared pure layout (used by both the PNG painter and the SVG writer, so
 * the two exports agree pixel for pixel) and the SVG writer itself — heatmap cells as an embedded nearest-neighbour
 * image, everything else (axes, ticks, title, iteration, colour bar) as vector elements.
 */
import { colorTable, type ColorMapName, rgbCss } from '../lib/colormap';

export interface FigureView {
  label: string;
  rows: number;
  cols: number;
}

export interface FigureBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface FigureLayout {
  width: number;
  height: number;
  /** Pixels per cell. */
  scale: number;
  views: (FigureBox & FigureView)[];
  colorBar: FigureBox;
}

const MARGIN = { left: 56, top: 64, right: 72, bottom: 44 };
const GAP = 20;
/** Target size of the largest view side, so tiny tensors become legible and 512² stays a sane file. */
const TARGET_SIDE = 320;
const MAX_SCALE = 24;

export function figureLayout(views: readonly FigureView[]): FigureLayout {
  if (views.length === 0) throw new Error('figureLayout: a panel needs at least one view');
  for (const v of views) {
    if (!(v.rows >= 1 && v.cols >= 1)) throw new Error(`figureLayout: view "${v.label}" has ${v.rows}×${v.cols} cells`);
  }
  const biggest = Math.max(...views.map((v) => Math.max(v.rows, v.cols)));
  const scale = Math.max(1, Math.min(MAX_SCALE, Math.floor(TARGET_SIDE / biggest)));
  let x = MARGIN.left;
  const placed = views.map((v) => {
    const box = { ...v, x, y: MARGIN.top, w: v.cols * scale, h: v.rows * scale };
    x += box.w + GAP;
    return box;
  });
  const plotHeight = Math.max(...placed.map((v) => v.h), 60);
  const colorBar = { x: x - GAP + 24, y: MARGIN.top, w: 14, h: plotHeight };
  return {
    width: Math.ceil(colorBar.x + colorBar.w + MARGIN.right - 24),
    height: Math.ceil(MARGIN.top + plotHeight + MARGIN.bottom),
    scale,
    views: placed,
    colorBar,
  };
}

/** Up to `count` evenly spread tick indices in [0, n). */
export function tickIndices(n: number, count = 5): number[] {
  if (n <= 0) return [];
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>();
  for (let k = 0; k < count; k++) out.add(Math.round((k * (n - 1)) / (count - 1)));
  return [...out];
}

/** Short number format for colour-bar labels. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface FigureText {
  title: string;
  /** e.g. "run abc · iteration 120 · timestep 3". */
  subtitle: string;
  rowAxis: string;
  colAxis: string;
}

export interface FigureScale {
  map: ColorMapName;
  min: number;
  max: number;
}

export const FIGURE_COLORS = { background: '#0f1115', text: '#d7dbe3', muted: '#8a93a3', axis: '#4a5263' };

/**
 * SVG of a panel. `images[i]` is a `data:image/png` URL of view i at one pixel per cell; the SVG scales it with
 * nearest-neighbour rendering so cells stay crisp in every viewer.
 */
export function panelSvg(
  layout: FigureLayout,
  images: readonly string[],
  text: FigureText,
  scale: FigureScale,
): string {
  if (images.length !== layout.views.length) {
    throw new Error(`panelSvg: ${images.length} images for ${layout.views.length} views`);
  }
  const c = FIGURE_COLORS;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${layout.width}" ` +
      `height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" font-family="Inter, Helvetica, ` +
      `Arial, sans-serif">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="${c.background}"/>`);
  parts.push(`<text x="16" y="22" font-size="15" font-weight="600" fill="${c.text}">${esc(text.title)}</text>`);
  parts.push(`<text x="16" y="40" font-size="11" fill="${c.muted}">${esc(text.subtitle)}</text>`);
  layout.views.forEach((v, i) => {
    parts.push(
      `<image x="${v.x}" y="${v.y}" width="${v.w}" height="${v.h}" preserveAspectRatio="none" ` +
        `style="image-rendering:pixelated" image-rendering="pixelated" href="${images[i]}" xlink:href="${images[i]}"/>`,
    );
    parts.push(
      `<rect x="${v.x}" y="${v.y}" width="${v.w}" height="${v.h}" fill="none" stroke="${c.axis}" stroke-width="1"/>`,
    );
    if (v.label) parts.push(`<text x="${v.x}" y="${v.y - 6}" font-size="11" fill="${c.muted}">${esc(v.label)}</text>`);
    for (const r of tickIndices(v.rows)) {
      const y = v.y + (r + 0.5) * layout.scale;
      parts.push(`<line x1="${v.x - 4}" y1="${y}" x2="${v.x}" y2="${y}" stroke="${c.axis}"/>`);
      if (i === 0)
        parts.push(
          `<text x="${v.x - 6}" y="${y + 3.5}" font-size="10" text-anchor="end" fill="${c.muted}">${r}</text>`,
        );
    }
    for (const k of tickIndices(v.cols)) {
      const x = v.x + (k + 0.5) * layout.scale;
      parts.push(`<line x1="${x}" y1="${v.y + v.h}" x2="${x}" y2="${v.y + v.h + 4}" stroke="${c.axis}"/>`);
      parts.push(
        `<text x="${x}" y="${v.y + v.h + 15}" font-size="10" text-anchor="middle" fill="${c.muted}">${k}</text>`,
      );
    }
    parts.push(
      `<text x="${v.x + v.w / 2}" y="${v.y + v.h + 32}" font-size="11" text-anchor="middle" ` +
        `fill="${c.text}">${esc(text.colAxis)}</text>`,
    );
  });
  const first = layout.views[0];
  parts.push(
    `<text transform="translate(16 ${first.y + first.h / 2}) rotate(-90)" font-size="11" text-anchor="middle" ` +
      `fill="${c.text}">${esc(text.rowAxis)}</text>`,
  );
  const table = colorTable(scale.map);
  const bar = layout.colorBar;
  parts.push('<defs><linearGradient id="engram-colorbar" x1="0" y1="1" x2="0" y2="0">');
  for (let k = 0; k <= 16; k++) {
    parts.push(
      `<stop offset="${(k / 16).toFixed(4)}" ` +
        `stop-color="${rgbCss(table[Math.round((k / 16) * (table.length - 1))])}"/>`,
    );
  }
  parts.push('</linearGradient></defs>');
  parts.push(
    `<rect x="${bar.x}" y="${bar.y}" width="${bar.w}" height="${bar.h}" fill="url(#engram-colorbar)" ` +
      `stroke="${c.axis}"/>`,
  );
  const labels: [number, number][] = [
    [scale.max, bar.y],
    [(scale.min + scale.max) / 2, bar.y + bar.h / 2],
    [scale.min, bar.y + bar.h],
  ];
  for (const [value, y] of labels) {
    parts.push(`<line x1="${bar.x + bar.w}" y1="${y}" x2="${bar.x + bar.w + 4}" y2="${y}" stroke="${c.axis}"/>`);
    parts.push(
      `<text x="${bar.x + bar.w + 7}" y="${y + 3.5}" font-size="10" ` +
        `fill="${c.muted}">${esc(formatValue(value))}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** A file-name-safe stem, e.g. `run-3f2a_it120_t3_memory`. */
export function exportStem(runName: string, iteration: number, timestep: number | null, panelKey: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  return `${safe(runName)}_it${iteration}${timestep === null ? '' : `_t${timestep}`}_${safe(panelKey)}`;
}
