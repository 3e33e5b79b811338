/**
 * What a create call's traces make of a window: its content kind (heatmap, text, image or plot), and the body
 * validated into what the window will hold, before anything changes.
 */
import { type Body, heatmapValues, plainJson, VisdomRequestError } from './body';
import { toPlotTraces } from './plot-update';
import type { ImageItem, VisdomPanel } from './sink';

const IMAGE_SRC = /^data:image\/(png|jpeg|gif|webp|bmp);base64,[A-Za-z0-9+/=\s]*$/;

export type ContentKind = 'heatmap' | 'text' | 'image' | 'plot';

/** The kind of window the traces make; throws for the Visdom kinds Engram does not draw. */
export function contentKind(traces: readonly Body[]): ContentKind {
  const types = traces.map((t) => t.type);
  if (types.includes('heatmap') && traces.every((t) => t.type === 'heatmap')) return 'heatmap';
  if (types[0] === 'text') return 'text';
  if (types[0] === 'image' || types[0] === 'image_history') return 'image';
  const unsupported = ['properties', 'network', 'embeddings'];
  if (typeof types[0] === 'string' && unsupported.includes(types[0]))
    throw new VisdomRequestError(`${types[0]} windows are not supported by Engram`);
  return 'plot';
}

/** Validate a create body into what the window will hold, before anything changes. */
export function prepareWindow(
  kind: ContentKind,
  traces: Body[],
  opts: Body,
  layout: Body,
  title: string,
):
  | { kind: 'heatmap'; tensorValues: ReturnType<typeof heatmapValues>; trace: Body; axes: [string, string] }
  | VisdomPanel {
  if (kind === 'heatmap') {
    // With opts.nancolor the client puts a constant trace first; the data is the last heatmap trace.
    const index = traces.map((t) => t.type).lastIndexOf('heatmap');
    const { z: _z, ...trace } = traces[index];
    return {
      kind: 'heatmap',
      tensorValues: heatmapValues(traces[index].z, `data[${index}]`),
      trace: plainJson(trace) as Body,
      axes: [axisLabel(opts.ylabel, 'row'), axisLabel(opts.xlabel, 'column')],
    };
  }
  if (kind === 'text') {
    const text = traces[0].content;
    if (typeof text !== 'string') throw new VisdomRequestError('data[0].content must be a string');
    return { kind: 'text', win: '', title, text, version: 1 };
  }
  if (kind === 'image') {
    const item = imageItem(traces[0].content, 'data[0].content');
    return { kind: 'image', win: '', title: title || item.caption, images: [item], selected: 0, version: 1 };
  }
  return {
    kind: 'plot',
    win: '',
    title,
    traces: toPlotTraces(traces),
    layout: plainJson(layout) as Body,
    version: 1,
  };
}

function axisLabel(value: unknown, fallback: string): string {
  return typeof value === 'string' && value.trim() !== '' ? value.slice(0, 200) : fallback;
}

/** An image trace's content as an ImageItem; throws VisdomRequestError naming `where` unless it is an inline
 *  raster image. */
export function imageItem(content: unknown, where: string): ImageItem {
  if (typeof content !== 'object' || content === null)
    throw new VisdomRequestError(`${where} must be an object {src, caption}`);
  const { src, caption } = content as Body;
  // Only inline raster images: no remote URLs (no tracking, nothing fetched on a viewer's behalf), no SVG (scripts).
  if (typeof src !== 'string' || !IMAGE_SRC.test(src))
    throw new VisdomRequestError(`${where}.src must be a data:image/(png|jpeg|gif|webp|bmp);base64 URL`);
  return { src, caption: typeof caption === 'string' ? caption : '' };
}
