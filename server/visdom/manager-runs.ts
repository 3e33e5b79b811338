/**
 * The Visdom sink's view of the run manager: an env is an external run whose client never asks for controls
 * (a Visdom script cannot be paused, and the run page says so), fed through the same ingest calls as any external
 * client's, so state, storage, retention and broadcast are the run manager's, written once.
 */
import { decodeFloat32 } from '../protocol/frames';
import type { RunManager } from '../run-manager';
import type { ExternalRuns } from './run-sink';
import type { VisdomTensor } from './sink';

export function externalRunsOf(manager: () => RunManager): ExternalRuns {
  return {
    create(eid) {
      return manager().createExternal({
        name: `visdom: ${eid}`,
        config: { task: 'visdom', visdom_env: eid },
        controls: [],
      }).id;
    },
    accepting(runId) {
      try {
        const run = manager().get(runId);
        return run.source === 'external' && run.state !== 'finished' && run.state !== 'failed';
      } catch {
        return false;
      }
    },
    touch(runId) {
      manager().heartbeat(runId);
    },
    frame(runId, frame) {
      manager().ingestFrame(runId, frame);
    },
    metrics(runId, points) {
      const t = Date.now();
      manager().ingestMetrics(
        runId,
        points.map(({ iteration, values }) => {
          const { loss, ...scalars } = values;
          return { iteration, loss: loss ?? Number.NaN, metric: Number.NaN, itPerSec: 0, t, scalars };
        }),
      );
    },
    finish(runId) {
      manager().closeExternal(runId, 'finished', undefined);
    },
    latestFrame(runId) {
      const frame = manager().latestFrame(runId);
      if (frame === null) return null;
      const tensors: VisdomTensor[] = frame.tensors
        .filter((t) => t.shape.length === 2)
        .map((t) => ({
          name: t.name,
          shape: [t.shape[0], t.shape[1]],
          axes: [t.axes[0] ?? 'row', t.axes[1] ?? 'column'],
          data: decodeFloat32(t.data, t.shape, t.name),
          description: t.description ?? t.name,
        }));
      return { iteration: frame.iteration, tensors };
    },
  };
}
