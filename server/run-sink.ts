/**
 * A run's sink (server/run-source.ts `RunSink`): the one place a source's reports become the run's state, its pending
 * writes and broadcasts. Each callback acts only while its source is still the run's own (`current`), so a replaced
 * source is ignored.
 */
import { estimateNote } from './admission';
import { ExternalSource } from './external-source';
import type { LiveRun } from './live-run';
import type { MetricPoint, RunState } from './protocol';
import { keepStateAfterRecovery, type RunFlusher } from './run-flush';
import type { RunSink } from './run-source';
import type { PackedFrame } from './worker/messages';

/** What a sink does through the run manager. */
export interface SinkHost {
  readonly flusher: RunFlusher;
  /** The memory budget, named when a worker runs out of memory. */
  readonly memoryBudgetBytes: number;
  setState(live: LiveRun, state: RunState): void;
  fail(live: LiveRun, reason: string, message: string): void;
  /** Start queued runs that fit now (a failed worker's memory is free). */
  admitQueued(): void;
  recordFrame(live: LiveRun, frame: PackedFrame, pinned: boolean): void;
}

/** The sink of `live`'s source; `current` says whether that source is still the run's (a replaced one is ignored). */
export function runSink(live: LiveRun, current: () => boolean, host: SinkHost): RunSink {
  const run = live.run;
  const guard =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A) => {
      if (current()) fn(...args);
    };
  return {
    ready: guard((engine) => {
      run.engine = engine;
      host.flusher.broadcast(live);
    }),
    iteration: guard((point, metricName, frame) => {
      recordPoint(live, point, metricName);
      if (frame !== null) host.recordFrame(live, frame, false);
    }),
    frame: guard((frame) => host.recordFrame(live, frame, false)),
    nonFinite: guard((failure, frame) => {
      keepStateAfterRecovery(live);
      host.flusher.flushRun(live);
      run.failure = failure;
      if (frame !== null) host.recordFrame(live, frame, true);
      console.warn(`[engram] run ${run.id}: ${failure.message}; paused`);
    }),
    // Held until the next commit, which stores it with every metric point reported before it.
    checkpoint: guard((iteration, bytes) => live.pending.setCheckpoint(iteration, bytes)),
    state: guard((state, iteration) => {
      host.flusher.flushRun(live);
      if (iteration !== null) run.iteration = iteration;
      // A stopped or finished worker is done; a stopped run that resumes gets a new one from its checkpoint.
      if (live.source?.kind === 'engine' && (state === 'stopped' || state === 'finished')) live.source = null;
      host.setState(live, state);
    }),
    fail: guard((reason, message) => {
      const estimate = live.estimate;
      const note = reason === 'out_of_memory' && estimate !== null;
      host.fail(live, reason, note ? `${message}; ${estimateNote(estimate, host.memoryBudgetBytes)}` : message);
    }),
    gone: guard((message, outcome) => {
      if (outcome === 'failed') {
        live.source = null;
        host.admitQueued(); // its worker's memory is free now
      }
      if (run.state !== 'running' && run.state !== 'paused') return;
      if (outcome === 'failed') {
        host.fail(live, 'worker_exit', message);
      } else {
        console.warn(`[engram] run ${run.id}: ${message}; interrupted`);
        host.setState(live, 'interrupted');
      }
    }),
    changed: guard(() => {
      if (live.source instanceof ExternalSource) run.client = live.source.info();
      host.flusher.broadcast(live);
    }),
  };
}

/** One finished iteration's metric point: the run's summary fields, and the point pending for the next commit. */
export function recordPoint(live: LiveRun, point: MetricPoint, metricName: string): void {
  const run = live.run;
  run.iteration = Math.max(run.iteration, point.iteration);
  if (Number.isFinite(point.loss) || run.source === 'engine') run.loss = point.loss;
  if (Number.isFinite(point.metric) || run.source === 'engine') run.metric = point.metric;
  run.metricName = metricName;
  run.itPerSec = point.itPerSec;
  live.pending.addPoint(point);
  live.summaryDirty = true;
}
