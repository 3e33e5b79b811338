/**
 * What an external client's calls do to its run before the run manager answers them: the check that the run takes
 * ingest at all (and marks its client alive), and its metric points taken in with the client's iterations-per-second
 * estimate. Past PENDING_METRIC_POINTS unsaved points while storage fails, ingest is refused rather than held.
 */
import { ApiError } from './errors';
import { ExternalSource } from './external-source';
import type { LiveRun } from './live-run';
import type { ExternalControl, MetricPoint } from './protocol';
import { PENDING_METRIC_POINTS } from './run-persistence';
import { recordPoint } from './run-sink';

/** `live` as an external run that still takes data, its client touched (and its controls updated when given). */
export function externalRun(live: LiveRun, controls?: ExternalControl[]): { live: LiveRun; source: ExternalSource } {
  const runId = live.run.id;
  const source = live.source;
  if (!(source instanceof ExternalSource))
    throw new ApiError('invalid_state', `run ${runId} is trained by the engine; only external runs take ingest`);
  if (live.run.state === 'finished' || live.run.state === 'failed')
    throw new ApiError('invalid_state', `run ${runId} is ${live.run.state}: it takes no more data`);
  source.touch(controls);
  if (controls !== undefined) {
    live.run.client = source.info();
    live.pending.markRun();
  }
  return { live, source };
}

/** Record metric points an external client sent (in iteration order), each with the smoothed iterations per second. */
export function ingestPoints(live: LiveRun, points: readonly MetricPoint[]): void {
  const runId = live.run.id;
  if (live.storageFailure !== null && live.pending.pointCount + points.length > PENDING_METRIC_POINTS)
    throw new ApiError(
      'storage_failed',
      `run ${runId} holds ${live.pending.pointCount} unsaved metric points while storage fails ` +
        `(${live.run.failure?.message ?? 'write failed'}); send them again once the run is running`,
    );
  for (const point of points) {
    const last = live.lastPoint;
    let itPerSec = last?.itPerSec ?? 0;
    if (last !== null && point.t > last.t && point.iteration > last.iteration) {
      const instant = ((point.iteration - last.iteration) * 1000) / (point.t - last.t);
      // The same smoothing as the engine worker's estimate.
      itPerSec = itPerSec === 0 ? instant : itPerSec * 0.9 + instant * 0.1;
    }
    live.lastPoint = { iteration: point.iteration, t: point.t, itPerSec };
    recordPoint(live, { ...point, itPerSec }, live.run.metricName);
  }
}
