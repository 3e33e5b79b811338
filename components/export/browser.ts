/**
 * Browser side of exports: paints panel figures to PNG (same layout as the SVG), builds the per-panel files and the
 * whole-dashboard snapshot zip, and hands blobs to the browser as downloads.
 */
import { SNAPSHOT_SCHEMA_VERSION, type MetricPoint, type RunSummary, type VisdomPanel } from '../../server/protocol';
import { encodeNpy } from '../../server/protocol/npy';
import type { DecodedFrame, DecodedTensor } from '../../server/protocol/frames';
import { colorTable, mapValues, rgbCss } from '../lib/colormap';
import { metricsCsv, tensorCsv } from '../lib/csv';
import { extractView, panelsForFrame, type PanelSpec } from '../lib/panels';
import { pooledGrid, poolValues } from '../lib/pool';
import { createZip, type ZipEntry } from '../lib/zip';
import { visdomSnapshotFiles } from '../visdom/view';
import { panelScale, type PanelScale } from '../heatmap/view-math';
import { exportStem, FIGURE_COLORS, figureLayout, formatValue, panelSvg, tickIndices, type FigureText } from './figure';

export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke later: Chromium reads the blob after the click handler returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Copy into a fresh ArrayBuffer-backed view, which is what `Blob` accepts under TS's strict buffer typing. */
function bytesForBlob(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(bytes.byteLength));
  out.set(bytes);
  return out;
}

/** One view at one pixel per cell. */
function viewCanvas(values: Float32Array, rows: number, cols: number, scale: PanelScale): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('export: no 2D canvas context');
  const image = ctx.createImageData(cols, rows);
  mapValues(values, new Uint32Array(image.data.buffer), colorTable(scale.map), scale.min, scale.max);
  ctx.putImageData(image, 0, 0);
  return canvas;
}

export interface PanelExportInput {
  spec: PanelSpec;
  tensor: DecodedTensor;
  iteration: number;
  timestep: number;
  runName: string;
  /** Locked range of the panel, if any; otherwise the automatic scale of the shown values. */
  locked?: [number, number];
}

function prepare(input: PanelExportInput) {
  const { spec, tensor, iteration, timestep, runName } = input;
  const raw = spec.views.map((v) => extractView(tensor.data, v, spec.perTimestep ? timestep : 0).slice());
  const scale = panelScale(raw, input.locked);
  // Views larger than a canvas are pooled (largest magnitude per bin), as on screen; the axis titles say so.
  const grids = spec.views.map((v) => pooledGrid(v.rows, v.cols));
  const values = raw.map((r, i) => poolValues(r, spec.views[i].rows, spec.views[i].cols, grids[i]));
  const layout = figureLayout(spec.views.map((v, i) => ({ label: v.label, rows: grids[i].rows, cols: grids[i].cols })));
  const binned = (axis: string, bin: number) => (bin > 1 ? `${axis} (max |value| per ${bin})` : axis);
  const text: FigureText = {
    title: spec.title,
    subtitle:
      `${runName} · iteration ${iteration}${spec.perTimestep ? ` · timestep ${timestep}` : ''} · ` +
      `[${spec.shape.join('×')}] ${spec.axes.join(', ')}`,
    rowAxis: binned(spec.views[0].rowAxis, grids[0].rowBin),
    colAxis: binned(spec.views[0].colAxis, grids[0].colBin),
  };
  return {
    values,
    scale,
    layout,
    text,
    stem: exportStem(runName, iteration, spec.perTimestep ? timestep : null, spec.key),
  };
}

/** The panel figure as a PNG blob; its size is `figureLayout(spec.views)`'s width × height. */
export async function panelPng(input: PanelExportInput): Promise<{ blob: Blob; filename: string }> {
  const { values, scale, layout, text, stem } = prepare(input);
  const canvas = document.createElement('canvas');
  canvas.width = layout.width;
  canvas.height = layout.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('panelPng: no 2D canvas context');
  const c = FIGURE_COLORS;
  ctx.fillStyle = c.background;
  ctx.fillRect(0, 0, layout.width, layout.height);
  ctx.fillStyle = c.text;
  ctx.font = '600 15px Inter, Helvetica, Arial, sans-serif';
  ctx.fillText(text.title, 16, 22);
  ctx.fillStyle = c.muted;
  ctx.font = '11px Inter, Helvetica, Arial, sans-serif';
  ctx.fillText(text.subtitle, 16, 40);
  ctx.imageSmoothingEnabled = false;
  layout.views.forEach((v, i) => {
    ctx.drawImage(viewCanvas(values[i], v.rows, v.cols, scale), v.x, v.y, v.w, v.h);
    ctx.strokeStyle = c.axis;
    ctx.strokeRect(v.x - 0.5, v.y - 0.5, v.w + 1, v.h + 1);
    ctx.fillStyle = c.muted;
    ctx.font = '10px Inter, Helvetica, Arial, sans-serif';
    if (v.label) ctx.fillText(v.label, v.x, v.y - 6);
    ctx.textAlign = 'right';
    if (i === 0)
      for (const r of tickIndices(v.rows)) ctx.fillText(String(r), v.x - 6, v.y + (r + 0.5) * layout.scale + 3.5);
    ctx.textAlign = 'center';
    for (const k of tickIndices(v.cols)) ctx.fillText(String(k), v.x + (k + 0.5) * layout.scale, v.y + v.h + 15);
    ctx.fillStyle = c.text;
    ctx.font = '11px Inter, Helvetica, Arial, sans-serif';
    ctx.fillText(text.colAxis, v.x + v.w / 2, v.y + v.h + 32);
    ctx.textAlign = 'left';
  });
  const first = layout.views[0];
  ctx.save();
  ctx.translate(16, first.y + first.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(text.rowAxis, 0, 0);
  ctx.restore();
  const table = colorTable(scale.map);
  const bar = layout.colorBar;
  for (let y = 0; y < bar.h; y++) {
    ctx.fillStyle = rgbCss(table[Math.round((1 - y / Math.max(1, bar.h - 1)) * (table.length - 1))]);
    ctx.fillRect(bar.x, bar.y + y, bar.w, 1);
  }
  ctx.strokeStyle = c.axis;
  ctx.strokeRect(bar.x - 0.5, bar.y - 0.5, bar.w + 1, bar.h + 1);
  ctx.fillStyle = c.muted;
  ctx.font = '10px Inter, Helvetica, Arial, sans-serif';
  ctx.fillText(formatValue(scale.max), bar.x + bar.w + 7, bar.y + 3.5);
  ctx.fillText(formatValue((scale.min + scale.max) / 2), bar.x + bar.w + 7, bar.y + bar.h / 2 + 3.5);
  ctx.fillText(formatValue(scale.min), bar.x + bar.w + 7, bar.y + bar.h + 3.5);
  const blob = await new Promise<Blob>((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('panelPng: the canvas produced no PNG'))), 'image/png'),
  );
  return { blob, filename: `${stem}.png` };
}

export function panelSvgFile(input: PanelExportInput): { blob: Blob; filename: string } {
  const { values, scale, layout, text, stem } = prepare(input);
  const images = layout.views.map((v, i) => viewCanvas(values[i], v.rows, v.cols, scale).toDataURL('image/png'));
  return {
    blob: new Blob([panelSvg(layout, images, text, scale)], { type: 'image/svg+xml' }),
    filename: `${stem}.svg`,
  };
}

/** The full tensor (every timestep), as stored in the frame. */
export function tensorNpy(tensor: DecodedTensor, stem: string): { blob: Blob; filename: string } {
  return {
    blob: new Blob([bytesForBlob(encodeNpy(tensor.data, tensor.shape))], { type: 'application/octet-stream' }),
    filename: `${stem}.npy`,
  };
}

export function tensorCsvFile(tensor: DecodedTensor, stem: string): { blob: Blob; filename: string } {
  return {
    blob: new Blob([tensorCsv(tensor.data, tensor.shape, tensor.axes)], { type: 'text/csv' }),
    filename: `${stem}.csv`,
  };
}

export function tensorJson(tensor: DecodedTensor, iteration: number): string {
  return JSON.stringify({
    schemaVersion: SNAPSHOT_SCHEMA_VERSION,
    name: tensor.name,
    layer: tensor.layer,
    iteration,
    shape: tensor.shape,
    axes: tensor.axes,
    range: tensor.range ?? null,
    description: tensor.description ?? null,
    dtype: 'float32',
    data: Array.from(tensor.data, (v) => (Number.isFinite(v) ? v : String(v))),
  });
}

export function tensorJsonFile(
  tensor: DecodedTensor,
  iteration: number,
  stem: string,
): { blob: Blob; filename: string } {
  return { blob: new Blob([tensorJson(tensor, iteration)], { type: 'application/json' }), filename: `${stem}.json` };
}

export function metricsCsvFile(
  points: readonly MetricPoint[],
  run: RunSummary | null,
  runName: string,
): { blob: Blob; filename: string } {
  return {
    blob: new Blob([metricsCsv(points, run?.metricName || 'metric')], { type: 'text/csv' }),
    filename: `${exportStem(runName, points.at(-1)?.iteration ?? 0, null, 'metrics')}.csv`,
  };
}

/**
 * One zip with every panel as PNG and SVG-free raw data (`.npy` per tensor), the run's summary and config, the metric
 * history, and a manifest carrying `schemaVersion` and what each file is.
 */
export async function snapshotZip(input: {
  frame: DecodedFrame;
  timestep: number;
  run: RunSummary | null;
  runName: string;
  metrics: readonly MetricPoint[];
  lockedRanges: Record<string, [number, number]>;
  /** A Visdom env's other windows (plots, text, images), in the order the page shows them. */
  visdomPanels?: readonly VisdomPanel[];
}): Promise<{ blob: Blob; filename: string }> {
  const { frame, timestep, run, runName, metrics } = input;
  const entries: ZipEntry[] = [];
  const panels = panelsForFrame(frame.tensors);
  const manifestPanels: unknown[] = [];
  for (const spec of panels) {
    const tensor = frame.tensors.find((t) => t.name === spec.name && t.layer === spec.layer);
    if (!tensor) continue;
    const png = await panelPng({
      spec,
      tensor,
      iteration: frame.iteration,
      timestep,
      runName,
      locked: input.lockedRanges[spec.key],
    });
    entries.push({ name: `panels/${spec.key}.png`, data: new Uint8Array(await png.blob.arrayBuffer()) });
    entries.push({ name: `tensors/${spec.key}.npy`, data: encodeNpy(tensor.data, tensor.shape) });
    manifestPanels.push({
      key: spec.key,
      name: spec.name,
      layer: spec.layer,
      shape: tensor.shape,
      axes: tensor.axes,
      range: tensor.range ?? null,
      image: `panels/${spec.key}.png`,
      data: `tensors/${spec.key}.npy`,
      perTimestep: spec.perTimestep,
    });
  }
  const visdom = visdomSnapshotFiles(input.visdomPanels ?? []);
  entries.push(...visdom.entries);
  entries.push({ name: 'metrics.csv', data: metricsCsv(metrics, run?.metricName || 'metric') });
  entries.push({ name: 'run.json', data: JSON.stringify({ run, config: run?.config ?? null }, null, 2) });
  entries.push({
    name: 'manifest.json',
    data: JSON.stringify(
      {
        schemaVersion: SNAPSHOT_SCHEMA_VERSION,
        kind: 'engram-dashboard-snapshot',
        runId: frame.runId,
        runName,
        iteration: frame.iteration,
        timestep,
        timesteps: frame.timesteps,
        capturedAt: frame.capturedAt,
        exportedAt: new Date().toISOString(),
        panels: manifestPanels,
        ...(visdom.manifest.length > 0 ? { visdom: visdom.manifest } : {}),
        files: { metrics: 'metrics.csv', run: 'run.json' },
      },
      null,
      2,
    ),
  });
  const zip = createZip(entries);
  return {
    blob: new Blob([bytesForBlob(zip)], { type: 'application/zip' }),
    filename: `${exportStem(runName, frame.iteration, timestep, 'snapshot')}.zip`,
  };
}
