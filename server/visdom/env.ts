/**
 * An env's bookkeeping: its windows (heatmaps, whose values live in the env's frames, and panels), the aliases and
 * title groups that lead to them, and the fresh ids and tensor names new windows take.
 */
import type { Body } from './body';
import type { VisdomPanel, VisdomTensor } from './sink';
import { identifierOf } from './title-group';

/** A window whose content is a heatmap: its value lives in the env's frames as a tensor. */
export interface HeatmapWindow {
  kind: 'heatmap';
  win: string;
  title: string;
  tensor: VisdomTensor;
  /** The trace as sent, without `z` (colorscale, zmin, zmax, labels), for `/win_data`. */
  trace: Body;
}

export interface PanelWindow {
  kind: 'panel';
  panel: VisdomPanel;
}

export type Window = HeatmapWindow | PanelWindow;

export interface Env {
  eid: string;
  windows: Map<string, Window>;
  /** Client-made window ids (`window_<hex>`) that were grouped, → the group's window. Bounded. */
  aliases: Map<string, string>;
  /** Title key + content kind → the group's window. */
  groups: Map<string, string>;
  /** The open frame: its iteration, and which tensors were put into it since it opened. */
  frameIteration: number;
  frameNames: Set<string>;
  /** Latest value of every heatmap window, by tensor name: what each new frame carries. */
  tensors: Map<string, VisdomTensor>;
  lastMetric: string;
}

/** Aliases remembered per env (client ids of grouped calls; only recent ones are ever reused). */
const MAX_ALIASES = 1000;

/** The window `win` names in the env: itself, else the grouped window it is an alias of. */
export function resolve(env: Env, win: string): string {
  return env.windows.has(win) ? win : (env.aliases.get(win) ?? win);
}

/** Remember `alias` → `target`, forgetting the oldest alias past MAX_ALIASES. */
export function remember(aliases: Map<string, string>, alias: string, target: string): void {
  aliases.set(alias, target);
  if (aliases.size > MAX_ALIASES) {
    const oldest = aliases.keys().next().value;
    if (oldest !== undefined) aliases.delete(oldest);
  }
}

/** `base`, else `base2`, `base3`, …: the first id that no window or group holds. */
export function freshWindowId(env: Env, base: string): string {
  let id = base;
  for (let i = 2; env.windows.has(id) || [...env.groups.values()].includes(id); i++) id = `${base}${i}`;
  return id;
}

/** The window id as an identifier, numbered past the env's tensor names. */
export function freshTensorName(env: Env, win: string): string {
  const base = identifierOf(win);
  let name = base;
  for (let i = 2; env.tensors.has(name); i++) name = `${base}${i}`;
  return name;
}
