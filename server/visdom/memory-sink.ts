/**
 * The sink the Visdom tests use: everything in plain maps, so a test can look at exactly what the protocol layer
 * handed on.
 */
import type { RestoredEnv, TraceAppend, VisdomMetricPoint, VisdomPanel, VisdomSink, VisdomTensor } from './sink';

export interface MemoryEnv {
  frames: Map<number, VisdomTensor[]>;
  metrics: VisdomMetricPoint[];
  panels: Map<string, VisdomPanel>;
  /** How many panel changes were appends only. */
  appends: number;
}

export class MemorySink implements VisdomSink {
  readonly envs = new Map<string, MemoryEnv>();

  ensureEnv(eid: string): void {
    if (!this.envs.has(eid)) this.envs.set(eid, { frames: new Map(), metrics: [], panels: new Map(), appends: 0 });
  }

  deleteEnv(eid: string): void {
    this.envs.delete(eid);
  }

  putFrame(eid: string, iteration: number, tensors: readonly VisdomTensor[]): void {
    this.env(eid).frames.set(iteration, [...tensors]);
  }

  appendMetrics(eid: string, points: readonly VisdomMetricPoint[]): void {
    this.env(eid).metrics.push(...points);
  }

  putPanel(eid: string, panel: VisdomPanel, appended?: readonly TraceAppend[]): void {
    const env = this.env(eid);
    env.panels.set(panel.win, panel);
    if (appended !== undefined) env.appends++;
  }

  closePanel(eid: string, win: string): void {
    this.env(eid).panels.delete(win);
  }

  restore(): RestoredEnv[] {
    return [...this.envs].map(([eid, env]) => {
      const iterations = [...env.frames.keys()].sort((a, b) => a - b);
      const last = iterations[iterations.length - 1];
      return {
        eid,
        panels: [...env.panels.values()],
        tensors: last === undefined ? [] : (env.frames.get(last) ?? []),
        iteration: last ?? -1,
      };
    });
  }

  env(eid: string): MemoryEnv {
    const env = this.envs.get(eid);
    if (env === undefined) throw new Error(`MemorySink: env ${eid} was not ensured first`);
    return env;
  }
}
