/**
 * The Visdom sink over Engram's runs: each env is one external run (created on first use, found again after a
 * restart), its heatmap windows are the named tensors of that run's frames (stored, thinned and served like any
 * run's: `/api/runs/:id/frames`), title numbers are its metric points, and the other panels are kept in
 * `PanelStore` and pushed to the run's subscribers.
 *
 * Frames are written at most every FRAME_FLUSH_MS per env, and as soon as the iteration moves on: pytorch-dnc's
 * six heatmap calls of one iteration make one stored frame, not six. That write (about a millisecond for a 256×256
 * heatmap, mostly SQLite) runs right after the answer to the call that moved the iteration on, not before it, so
 * the script waits only for its own call; frames are still written in the order their iterations ended.
 */
import type { TraceAppend, VisdomPanel } from '../protocol/visdom';
import { packFrame } from '../frame-codec';
import type { PackedFrame } from '../worker/messages';
import type { PanelStore } from './panel-store';
import type { RestoredEnv, VisdomMetricPoint, VisdomSink, VisdomTensor } from './sink';

/** What the sink needs from the run manager (an adapter over it in app.ts). */
export interface ExternalRuns {
  /** Create the env's run; returns its id. */
  create(eid: string): string;
  /** Whether the run still exists and takes data (a restored env whose run is gone or ended starts a new one). */
  accepting(runId: string): boolean;
  /** The client was heard from: keeps the run `running` (an env that went quiet is shown interrupted). */
  touch(runId: string): void;
  frame(runId: string, frame: PackedFrame): void;
  metrics(runId: string, points: VisdomMetricPoint[]): void;
  /** The env was deleted: its run is finished (its history stays, like any finished run). */
  finish(runId: string): void;
  /** The newest stored frame of the run, for restoring heatmap windows. */
  latestFrame(runId: string): { iteration: number; tensors: VisdomTensor[] } | null;
}

/** What the run's subscribers are told about panels (the socket layer). */
export interface PanelListener {
  panel(runId: string, panel: VisdomPanel): void;
  append(runId: string, win: string, version: number, appends: readonly TraceAppend[]): void;
  closed(runId: string, win: string): void;
}

const FRAME_FLUSH_MS = 100;
const PANEL_FLUSH_MS = 500;

interface PendingFrame {
  runId: string;
  iteration: number;
  tensors: readonly VisdomTensor[];
}

export class RunVisdomSink implements VisdomSink {
  private readonly runIds = new Map<string, string>();
  private readonly pending = new Map<string, PendingFrame>();
  /** Frames whose iteration has ended, oldest first, written on the next turn of the event loop. */
  private readonly ended: PendingFrame[] = [];
  private endedWrite: NodeJS.Immediate | null = null;
  private readonly frameTimer: NodeJS.Timeout;
  private readonly panelTimer: NodeJS.Timeout;

  constructor(
    private readonly runs: ExternalRuns,
    private readonly store: PanelStore,
    private readonly listener: PanelListener,
  ) {
    for (const { eid, runId } of store.envs()) if (runs.accepting(runId)) this.runIds.set(eid, runId);
    this.frameTimer = setInterval(() => this.flushFrames(), FRAME_FLUSH_MS);
    this.frameTimer.unref();
    this.panelTimer = setInterval(() => this.store.flush(), PANEL_FLUSH_MS);
    this.panelTimer.unref();
  }

  /** The run an env feeds (null when the env does not exist). */
  runOf(eid: string): string | null {
    return this.runIds.get(eid) ?? null;
  }

  ensureEnv(eid: string): void {
    const known = this.runIds.get(eid);
    if (known !== undefined && this.runs.accepting(known)) {
      this.runs.touch(known);
      return;
    }
    const runId = this.runs.create(eid);
    this.runIds.set(eid, runId);
    this.store.putEnv(eid, runId);
  }

  deleteEnv(eid: string): void {
    const runId = this.runIds.get(eid);
    this.flushFrame(eid);
    this.runIds.delete(eid);
    this.store.deleteEnv(eid);
    if (runId !== undefined) this.runs.finish(runId);
  }

  putFrame(eid: string, iteration: number, tensors: readonly VisdomTensor[]): void {
    const runId = this.run(eid);
    const pending = this.pending.get(eid);
    if (pending !== undefined && pending.iteration !== iteration) {
      this.ended.push(pending);
      this.endedWrite ??= setImmediate(() => this.flushFrames());
    }
    this.pending.set(eid, { runId, iteration, tensors });
  }

  appendMetrics(eid: string, points: readonly VisdomMetricPoint[]): void {
    this.runs.metrics(this.run(eid), [...points]);
  }

  putPanel(eid: string, panel: VisdomPanel, appended?: readonly TraceAppend[]): void {
    const runId = this.run(eid);
    this.runs.touch(runId);
    this.store.markPanel(eid, panel);
    if (appended !== undefined) this.listener.append(runId, panel.win, panel.version, appended);
    else this.listener.panel(runId, panel);
  }

  closePanel(eid: string, win: string): void {
    const runId = this.run(eid);
    this.store.markClosed(eid, win);
    this.listener.closed(runId, win);
  }

  restore(): RestoredEnv[] {
    return [...this.runIds].map(([eid, runId]) => {
      const frame = this.runs.latestFrame(runId);
      return {
        eid,
        panels: this.store.panels(eid),
        tensors: frame?.tensors ?? [],
        iteration: frame?.iteration ?? -1,
      };
    });
  }

  /** The panels of a run (for a page that subscribes), or [] for a run that is not a Visdom env. */
  panelsOfRun(runId: string, live: (eid: string) => VisdomPanel[]): VisdomPanel[] {
    for (const [eid, id] of this.runIds) if (id === runId) return live(eid);
    return [];
  }

  close(): void {
    clearInterval(this.frameTimer);
    if (this.endedWrite !== null) clearImmediate(this.endedWrite);
    clearInterval(this.panelTimer);
    this.flushFrames();
    this.store.close();
  }

  private run(eid: string): string {
    const runId = this.runIds.get(eid);
    if (runId === undefined) throw new Error(`visdom env ${eid} has no run (ensureEnv first)`);
    return runId;
  }

  /** Write every ended frame, then every env's open one. */
  private flushFrames(): void {
    this.flushEnded();
    for (const eid of [...this.pending.keys()]) this.flushFrame(eid);
  }

  private flushEnded(): void {
    this.endedWrite = null;
    for (const frame of this.ended.splice(0)) this.write(frame);
  }

  /** Write the env's open frame (ended ones first, so a run's frames are stored in order). */
  private flushFrame(eid: string): void {
    this.flushEnded();
    const pending = this.pending.get(eid);
    if (pending === undefined) return;
    this.pending.delete(eid);
    this.write(pending);
  }

  private write(frame: PendingFrame): void {
    try {
      this.runs.frame(frame.runId, pack(frame.iteration, frame.tensors));
    } catch (error) {
      console.error(
        `[engram] visdom run ${frame.runId}: storing the frame of iteration ${frame.iteration} failed:`,
        error,
      );
    }
  }
}

/** The env's heatmaps as one packed frame (the same packing as an engine worker's frames). */
export function pack(iteration: number, tensors: readonly VisdomTensor[]): PackedFrame {
  const frame = {
    timesteps: 1,
    tensors: tensors.map((t) => ({
      name: t.name,
      layer: 0,
      shape: t.shape,
      axes: t.axes,
      data: t.data,
      description: t.description,
    })),
  };
  return packFrame(frame, iteration, Date.now());
}
