/**
 * Visdom's window panes: the pane JSON `/win_data` answers for a window, and the create bodies that rebuild windows
 * from that JSON (`set_window_data`).
 */
import { describe } from '../validate';
import { type Body, VisdomRequestError } from './body';
import type { Window } from './env';

/** The pane JSON `/win_data` answers, in Visdom's shape. */
export function pane(window: Window): Body {
  if (window.kind === 'heatmap') {
    const { shape, data } = window.tensor;
    const z: (number | null)[][] = [];
    for (let r = 0; r < shape[0]; r++)
      z.push(Array.from(data.subarray(r * shape[1], (r + 1) * shape[1]), (v) => (Number.isFinite(v) ? v : null)));
    return {
      id: window.win,
      title: window.title,
      type: 'plot',
      content: { data: [{ ...window.trace, z }], layout: { title: window.title } },
    };
  }
  const panel = window.panel;
  if (panel.kind === 'plot')
    return { id: panel.win, title: panel.title, type: 'plot', content: { data: panel.traces, layout: panel.layout } };
  if (panel.kind === 'text') return { id: panel.win, title: panel.title, type: 'text', content: panel.text };
  return {
    id: panel.win,
    title: panel.title,
    type: panel.images.length > 1 ? 'image_history' : 'image',
    content: panel.images.length > 1 ? panel.images : panel.images[0],
    selected: panel.selected,
  };
}

/**
 * The create bodies that would give each pane of `set_window_data`'s `data` (the JSON text `/win_data` answers: one
 * pane, or, `win` null, an object of panes by window id). Throws VisdomRequestError naming what is wrong.
 */
export function paneBodies(data: unknown, win: string | null, eid: string): Body[] {
  if (typeof data !== 'string') throw new VisdomRequestError('data must be the JSON text get_window_data answered');
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new VisdomRequestError('data is not valid JSON');
  }
  const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(parsed)) throw new VisdomRequestError('data must be a JSON object');
  const panes: [string, unknown][] = win === null ? Object.entries(parsed) : [[win, parsed]];
  return panes.map(([id, value]) => {
    if (!isObject(value)) throw new VisdomRequestError(`the pane of window ${id} must be an object`);
    const title = typeof value.title === 'string' ? value.title : '';
    const opts = { title };
    const content = value.content;
    if (value.type === 'plot') {
      if (!isObject(content) || !Array.isArray(content.data))
        throw new VisdomRequestError(`the pane of window ${id} must have content.data, a list of traces`);
      return { eid, win: id, data: content.data, layout: content.layout ?? {}, opts };
    }
    if (value.type === 'text') return { eid, win: id, data: [{ content, type: 'text' }], opts };
    if (value.type === 'image') return { eid, win: id, data: [{ content, type: 'image' }], opts };
    if (value.type === 'image_history') {
      if (!Array.isArray(content) || content.length === 0)
        throw new VisdomRequestError(`the pane of window ${id} must have content, a list of images`);
      return { eid, win: id, data: content.map((image) => ({ content: image, type: 'image_history' })), opts };
    }
    throw new VisdomRequestError(
      `the pane of window ${id} must be of type plot, text, image or image_history, got ${describe(value.type)}`,
    );
  });
}
