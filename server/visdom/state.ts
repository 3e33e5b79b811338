/**
 * Visdom's envs and windows, with the semantics its Python client relies on (create or replace with `/events`,
 * update with `/update`, close, exists, window data), kept in memory and handed on to a `VisdomSink`.
 *
 * Calls without `win` whose titles differ only in numbers share one window (see `title-group.ts`); its heatmaps
 * become one tensor with a history in the env's frames, at the iteration the title names.
 */
import {
  type Body,
  eidOf,
  heatmapValues,
  objectField,
  optionalString,
  plainJson,
  tracesOf,
  VisdomRequestError,
  winOf,
} from './body';
import { updatablePlot, updatePlot } from './plot-update';
import type { VisdomPanel, VisdomSink, VisdomTensor } from './sink';
import { type Env, freshTensorName, freshWindowId, type HeatmapWindow, remember, resolve } from './env';
import { resizeHeatmap } from './heatmap-update';
import { pane, paneBodies } from './panes';
import { contentKind, imageItem, prepareWindow } from './window-content';
import { groupTitle, identifierOf } from './title-group';

/** Windows an env may hold; beyond it the oldest window is closed (Visdom has no bound and slows to a crawl). */
export const MAX_WINDOWS = 500;
/** Images an image-history window keeps. */
export const MAX_IMAGE_HISTORY = 200;
/** A client-made window id: what `Visdom._send` puts in when the script passed no `win`. */
const CLIENT_WINDOW_ID = /^window_[0-9a-f]+$/;

export class VisdomState {
  private readonly envs = new Map<string, Env>();

  constructor(private readonly sink: VisdomSink) {
    for (const restored of sink.restore()) {
      const env = this.newEnv(restored.eid);
      for (const panel of restored.panels) env.windows.set(panel.win, { kind: 'panel', panel });
      for (const tensor of restored.tensors) {
        env.tensors.set(tensor.name, tensor);
        const win = tensor.name;
        env.windows.set(win, { kind: 'heatmap', win, title: tensor.description, tensor, trace: { type: 'heatmap' } });
        env.groups.set(`heatmap|${groupTitle(tensor.description).key}`, win);
      }
      env.frameIteration = restored.iteration;
    }
  }

  // ------------------------------------------------------------------------------------------ envs

  /** `POST /env/<eid>`: make sure the env exists. */
  ensureEnv(eid: string): void {
    this.env(eid);
  }

  envIds(): string[] {
    return [...this.envs.keys()];
  }

  /** The env's panels (windows other than heatmaps) in creation order, for a page that opens its run. */
  panels(eid: string): VisdomPanel[] {
    const out: VisdomPanel[] = [];
    for (const window of this.envs.get(eid)?.windows.values() ?? [])
      if (window.kind === 'panel') out.push(window.panel);
    return out;
  }

  deleteEnv(body: Body): string {
    const eid = eidOf(body);
    if (this.envs.delete(eid)) this.sink.deleteEnv(eid);
    return '';
  }

  /** `/save`: everything is already persisted; answer the ids that exist, as Visdom does. */
  save(body: Body): string {
    const data = body.data;
    if (!Array.isArray(data) || !data.every((e) => typeof e === 'string'))
      throw new VisdomRequestError('data must be a list of env ids');
    return JSON.stringify(data.map((e: string) => e.replace(/\//g, '_')).filter((e) => this.envs.has(e)));
  }

  // ------------------------------------------------------------------------------------------ windows

  /** `/events`: create or replace a window; answers its id. */
  events(body: Body): string {
    const eid = eidOf(body);
    const sent = winOf(body);
    const traces = tracesOf(body);
    const opts = objectField(body, 'opts');
    const layout = objectField(body, 'layout');
    if (traces === null || traces.length === 0) throw new VisdomRequestError('data must hold at least one trace');
    const title = optionalString(opts, 'title', 'opts.') ?? '';
    const kind = contentKind(traces);
    const prepared = prepareWindow(kind, traces, opts, layout, title);
    const env = this.env(eid);
    const group = sent === null || CLIENT_WINDOW_ID.test(sent) ? (title === '' ? null : groupTitle(title)) : null;
    let win = sent ?? `window_${Date.now().toString(16)}`;
    if (group !== null) {
      const key = `${kind}|${group.key}`;
      const existing = env.groups.get(key);
      const target = existing ?? freshWindowId(env, identifierOf(group.label));
      env.groups.set(key, target);
      if (sent !== null && sent !== target) remember(env.aliases, sent, target);
      win = target;
    }
    this.replaceWindow(env, win, title, prepared, group?.iteration ?? null);
    if (group !== null && group.iteration !== null) {
      const values: Record<string, number> = {};
      for (const [field, value] of Object.entries(group.fields))
        if (field !== group.iterationField) values[field] = value;
      const key = `${group.iteration}|${JSON.stringify(values)}`;
      if (Object.keys(values).length > 0 && env.lastMetric !== key) {
        env.lastMetric = key;
        this.sink.appendMetrics(eid, [{ iteration: group.iteration, values }]);
      }
    }
    // The client gets back the id it sent, so a script that keeps it can update the grouped window through it.
    return sent ?? win;
  }

  /** `/update`: append, replace, remove traces, update opts, append text or images. */
  update(body: Body): string {
    const eid = eidOf(body);
    const sent = winOf(body);
    const env = this.env(eid);
    const win = sent === null ? null : resolve(env, sent);
    const window = win === null ? undefined : env.windows.get(win);
    if (window === undefined) {
      if (body.append === true) return this.events(body);
      return 'win does not exist';
    }
    const traces = tracesOf(body);
    const opts = objectField(body, 'opts');
    const layout = objectField(body, 'layout');
    const name = optionalString(body, 'name', '');
    if (window.kind === 'heatmap') {
      this.updateHeatmap(env, window, traces, body);
      return sent ?? window.win;
    }
    const panel = window.panel;
    const title = optionalString(opts, 'title', 'opts.');
    if (panel.kind === 'text') {
      const text = traces?.[0]?.content;
      if (typeof text !== 'string') throw new VisdomRequestError('data[0].content must be a string');
      panel.text = panel.text === '' ? text : `${panel.text}\n${text}`;
    } else if (panel.kind === 'image') {
      const item = traces === null ? null : imageItem(traces[0]?.content, 'data[0].content');
      if (item === null) throw new VisdomRequestError('data[0].content must be an image');
      panel.images.push(item);
      if (panel.images.length > MAX_IMAGE_HISTORY) panel.images.splice(0, panel.images.length - MAX_IMAGE_HISTORY);
      panel.selected = panel.images.length - 1;
    } else {
      const refused = updatablePlot(panel);
      if (refused !== null && traces !== null)
        return `win is not scatter, heatmap, custom, image_history, embeddings, or text; was ${refused}`;
      const appended = updatePlot(panel, traces, name, body.append === true, body.delete === true);
      Object.assign(panel.layout, plainJson(layout));
      if (title !== null) panel.title = title;
      panel.version++;
      this.sink.putPanel(eid, panel, appended ?? undefined);
      return sent ?? panel.win;
    }
    if (title !== null) panel.title = title;
    panel.version++;
    this.sink.putPanel(eid, panel);
    return sent ?? panel.win;
  }

  /** `/close`: one window, or every window of the env when `win` is null. */
  close(body: Body): string {
    const eid = eidOf(body);
    const sent = winOf(body);
    const env = this.envs.get(eid);
    if (env === undefined) return '';
    const wins = sent === null ? [...env.windows.keys()] : [resolve(env, sent)];
    for (const win of wins) this.closeWindow(env, win);
    return '';
  }

  winExists(body: Body): string {
    const env = this.envs.get(eidOf(body));
    const sent = winOf(body);
    return String(env !== undefined && sent !== null && env.windows.has(resolve(env, sent)));
  }

  /**
   * `/win_data`. Without `data`: the window's pane as JSON (all panes when `win` is null). With `data`
   * (`set_window_data`: the JSON text `get_window_data` answered): the window becomes that pane, or, `win` null, the
   * env's windows become those panes. Every pane is checked before anything changes.
   */
  winData(body: Body): string {
    const eid = eidOf(body);
    const env = this.envs.get(eid);
    const sent = winOf(body);
    if (body.data !== undefined && body.data !== null) {
      const bodies = paneBodies(body.data, sent, eid);
      for (const pane of bodies) this.check(pane);
      const target = this.env(eid);
      if (sent === null) for (const win of [...target.windows.keys()]) this.closeWindow(target, win);
      for (const pane of bodies) this.setPane(pane);
      return '';
    }
    if (sent === null) {
      const panes: Record<string, unknown> = {};
      for (const [win, window] of env?.windows ?? []) panes[win] = pane(window);
      return JSON.stringify(panes);
    }
    const window = env?.windows.get(resolve(env, sent));
    if (window === undefined) throw new VisdomRequestError(`window ${sent} does not exist`, 404);
    return JSON.stringify(pane(window));
  }

  /**
   * `/fork_env`: `eid` becomes a copy of `prev_eid`'s windows (heatmaps at the iteration they were at, as one new
   * frame; the history of frames and metrics stays with the original). Answers the new env's id, as Visdom does.
   */
  forkEnv(body: Body): string {
    const from = eidOf(body, 'prev_eid');
    const source = this.envs.get(from);
    if (source === undefined) throw new VisdomRequestError(`env ${from} does not exist`, 404);
    const eid = eidOf(body);
    if (eid === from) return eid;
    const target = this.env(eid);
    for (const win of [...target.windows.keys()]) this.closeWindow(target, win);
    for (const [win, window] of source.windows) {
      if (window.kind === 'panel') {
        const panel = structuredClone(window.panel);
        target.windows.set(win, { kind: 'panel', panel });
        this.sink.putPanel(eid, panel);
      } else {
        const tensor = { ...window.tensor, data: window.tensor.data.slice() };
        target.windows.set(win, { ...window, tensor });
        target.tensors.set(tensor.name, tensor);
      }
    }
    for (const [key, win] of source.groups) target.groups.set(key, win);
    for (const [alias, win] of source.aliases) target.aliases.set(alias, win);
    if (target.tensors.size > 0) {
      target.frameIteration = Math.max(source.frameIteration, 0);
      target.frameNames = new Set(target.tensors.keys());
      this.sink.putFrame(eid, target.frameIteration, [...target.tensors.values()]);
    }
    return eid;
  }

  // ------------------------------------------------------------------------------------------ internals

  /** Throw what `events` would throw for this body, changing nothing. */
  private check(body: Body): void {
    const traces = tracesOf(body);
    if (traces === null || traces.length === 0) throw new VisdomRequestError('data must hold at least one trace');
    const opts = objectField(body, 'opts');
    const title = optionalString(opts, 'title', 'opts.') ?? '';
    prepareWindow(contentKind(traces), traces, opts, objectField(body, 'layout'), title);
    if (traces[0].type === 'image_history') traces.forEach((t, i) => imageItem(t.content, `data[${i}].content`));
  }

  /** Make a window what a pane describes: as a create call, then the rest of an image history. */
  private setPane(body: Body): void {
    const traces = tracesOf(body) ?? [];
    const history = traces[0]?.type === 'image_history';
    this.events(history ? { ...body, data: traces.slice(0, 1) } : body);
    if (history)
      for (const trace of traces.slice(1)) this.update({ eid: body.eid, win: body.win, data: [trace], append: true });
  }

  private env(eid: string): Env {
    let env = this.envs.get(eid);
    if (env === undefined) {
      env = this.newEnv(eid);
      this.sink.ensureEnv(eid);
    }
    return env;
  }

  private newEnv(eid: string): Env {
    const env: Env = {
      eid,
      windows: new Map(),
      aliases: new Map(),
      groups: new Map(),
      frameIteration: -1,
      frameNames: new Set(),
      tensors: new Map(),
      lastMetric: '',
    };
    this.envs.set(eid, env);
    return env;
  }

  private replaceWindow(
    env: Env,
    win: string,
    title: string,
    prepared: ReturnType<typeof prepareWindow>,
    iteration: number | null,
  ): void {
    const previous = env.windows.get(win);
    if (previous === undefined && env.windows.size >= MAX_WINDOWS) {
      const oldest = env.windows.keys().next().value;
      if (oldest !== undefined) this.closeWindow(env, oldest);
    }
    if (prepared.kind === 'heatmap') {
      if (previous?.kind === 'panel') this.closeWindow(env, win);
      const name = previous?.kind === 'heatmap' ? previous.tensor.name : freshTensorName(env, win);
      const { rows, cols, data } = prepared.tensorValues;
      const tensor: VisdomTensor = { name, shape: [rows, cols], axes: prepared.axes, data, description: title };
      env.windows.set(win, { kind: 'heatmap', win, title, tensor, trace: prepared.trace });
      this.putTensor(env, tensor, iteration);
      return;
    }
    if (previous?.kind === 'heatmap') this.closeWindow(env, win);
    const panel: VisdomPanel = {
      ...prepared,
      win,
      version: previous?.kind === 'panel' ? previous.panel.version + 1 : 1,
    };
    env.windows.set(win, { kind: 'panel', panel });
    this.sink.putPanel(env.eid, panel);
  }

  /** Put a heatmap's new value into the env's frame: at the title's iteration, else the open frame unless this
   *  tensor is already in it (then the next iteration). */
  private putTensor(env: Env, tensor: VisdomTensor, iteration: number | null): void {
    let at = iteration;
    if (at === null) {
      if (env.frameIteration < 0) at = 0;
      else at = env.frameNames.has(tensor.name) ? env.frameIteration + 1 : env.frameIteration;
    }
    if (at !== env.frameIteration) {
      env.frameIteration = at;
      env.frameNames.clear();
    }
    env.frameNames.add(tensor.name);
    env.tensors.set(tensor.name, tensor);
    this.sink.putFrame(env.eid, at, [...env.tensors.values()]);
  }

  private updateHeatmap(env: Env, window: HeatmapWindow, traces: Body[] | null, body: Body): void {
    if (body.delete === true) {
      this.closeWindow(env, window.win);
      return;
    }
    if (traces === null || traces.length === 0) return; // opts only: nothing the frames hold changes
    const direction = body.updateDir ?? 'replace';
    const next = heatmapValues(traces[0].z, 'data[0]');
    const old = window.tensor;
    const { shape, data } = resizeHeatmap(old, next, direction);
    window.tensor = { ...old, shape, data };
    this.putTensor(env, window.tensor, null);
  }

  private closeWindow(env: Env, win: string): void {
    const window = env.windows.get(win);
    if (window === undefined) return;
    env.windows.delete(win);
    for (const [key, target] of env.groups) if (target === win) env.groups.delete(key);
    for (const [alias, target] of env.aliases) if (target === win) env.aliases.delete(alias);
    if (window.kind === 'heatmap') {
      env.tensors.delete(window.tensor.name);
      env.frameNames.delete(window.tensor.name);
    } else {
      this.sink.closePanel(env.eid, win);
    }
  }
}
