import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricPoint, RunSummary } from '../../server/protocol';
import type { DecodedFrame } from '../../server/protocol/frames';
import { createDashboardStore, runViewSelectors, shownFrame } from './store';

function run(id: string, iteration: number, updatedAt = iteration, createdAt = 1): RunSummary {
  return {
    id,
    name: id,
    state: 'running',
    iteration,
    createdAt,
    updatedAt,
    loss: null,
    metric: null,
    metricName: 'bit_error',
    itPerSec: null,
    failure: null,
    source: 'engine',
    client: null,
    config: {} as RunSummary['config'],
  };
}
const point = (iteration: number): MetricPoint => ({
  iteration,
  loss: 1 / iteration,
  metric: 0,
  itPerSec: 1,
  t: iteration,
});
function frame(runId: string, iteration: number, timesteps = 4, cells = 8): DecodedFrame {
  return {
    runId,
    iteration,
    timesteps,
    capturedAt: 0,
    tensors: [
      {
        name: 'memory',
        layer: 0,
        shape: [timesteps, cells, 2],
        axes: ['time', 'cell', 'word'],
        data: new Float32Array(timesteps * cells * 2),
      },
    ],
  };
}

test('runs are ordered newest first and never move backwards in time', () => {
  const store = createDashboardStore();
  const s = store.getState();
  s.setRuns([run('a', 1, 1, 10), run('b', 1, 1, 20)]);
  assert.deepEqual(store.getState().runOrder, ['b', 'a']);
  s.upsertRun(run('a', 5, 50, 10));
  s.upsertRun(run('a', 3, 30, 10)); // stale push after a newer ack
  assert.equal(store.getState().runs.a.iteration, 5);
  s.upsertRun(run('c', 0, 0, 30));
  assert.deepEqual(store.getState().runOrder, ['c', 'b', 'a']);
  s.toggleCompare('a');
  s.toggleCompare('b');
  s.toggleCompare('a');
  assert.deepEqual(store.getState().compare, ['b']);
});

test('metrics: a snapshot replaces, batches append only newer points, other runs are ignored', () => {
  const store = createDashboardStore();
  const s = store.getState();
  s.openRun('r');
  s.applySnapshot({
    run: run('r', 3),
    metrics: [point(1), point(2), point(3)],
    metricCount: 3,
    frameIterations: [1, 3],
  });
  s.appendMetrics({ runId: 'r', points: [point(3), point(4)] });
  s.appendMetrics({ runId: 'other', points: [point(9)] });
  assert.deepEqual(
    store.getState().metrics.map((p) => p.iteration),
    [1, 2, 3, 4],
  );
  s.appendRunMetrics('r', [point(1), point(2)]);
  s.appendRunMetrics('r', [point(2), point(3)]);
  assert.deepEqual(
    store.getState().runMetrics.r.map((p) => p.iteration),
    [1, 2, 3],
  );
});

test('metrics: an overview snapshot counts what the server stores, and a fetched range refines it in place', () => {
  const store = createDashboardStore();
  const s = store.getState();
  s.openRun('r');
  // The server stores 1..1000 and sent an overview of 6 points.
  const overview = [1, 250, 500, 998, 999, 1000].map(point);
  s.applySnapshot({ run: run('r', 1000), metrics: overview, metricCount: 1000, frameIterations: [] });
  assert.equal(runViewSelectors.metricCount(store.getState()), 1000);
  s.appendMetrics({ runId: 'r', points: [point(1000), point(1001), point(1002)] });
  assert.equal(store.getState().metricCount, 1002);
  // Detail of (250, 500] replaces what was held there; points outside the range are untouched.
  const detail = Array.from({ length: 250 }, (_, i) => point(251 + i));
  s.mergeMetricRange('r', 250, 500, detail);
  s.mergeMetricRange('other', 0, 2000, []);
  const held = store.getState().metrics.map((p) => p.iteration);
  assert.equal(held.length, 2 + 250 + 5);
  assert.deepEqual(held.slice(0, 3), [1, 250, 251]);
  assert.deepEqual(held.slice(-6), [500, 998, 999, 1000, 1001, 1002]);
});

test('live frames update the shown frame; the layout key changes only with shapes', () => {
  const store = createDashboardStore();
  store.getState().openRun('r');
  store.getState().receiveFrame(frame('r', 1));
  const key = store.getState().frameLayoutKey;
  assert.notEqual(key, '');
  store.getState().receiveFrame(frame('r', 2));
  assert.equal(store.getState().frameLayoutKey, key);
  assert.equal(runViewSelectors.shownIteration(store.getState()), 2);
  assert.deepEqual(store.getState().frameIterations, [1, 2]);
  store.getState().receiveFrame(frame('r', 3, 6));
  assert.notEqual(store.getState().frameLayoutKey, key);
  store.getState().receiveFrame(frame('elsewhere', 4));
  assert.equal(store.getState().liveIteration, 3);
});

test('scrubbing holds the history frame while live frames keep arriving, and live snaps back', () => {
  const store = createDashboardStore();
  const s = store.getState();
  s.openRun('r');
  s.receiveFrame(frame('r', 5));
  s.scrubTo(2);
  s.setHistoryFrame(frame('r', 1)); // a late answer for an older scrub position is dropped
  assert.equal(shownFrame(store.getState()), null);
  s.setHistoryFrame(frame('r', 2));
  s.receiveFrame(frame('r', 6));
  assert.equal(shownFrame(store.getState())?.iteration, 2);
  assert.equal(store.getState().liveIteration, 6);
  s.goLive();
  assert.equal(shownFrame(store.getState())?.iteration, 6);
  assert.equal(store.getState().mode, 'live');
});

test('the timestep is clamped to the shown frame and restored on open', () => {
  const store = createDashboardStore();
  store.getState().openRun('r', { timestep: 3, scrubIteration: 7 });
  assert.equal(store.getState().mode, 'history');
  assert.equal(store.getState().scrubIteration, 7);
  store.getState().setHistoryFrame(frame('r', 7, 2));
  assert.equal(store.getState().timestep, 1);
  store.getState().setTimestep(-4);
  assert.equal(store.getState().timestep, 0);
});

test('chart and colour-range settings validate their input', () => {
  const store = createDashboardStore();
  assert.throws(() => store.getState().setSmoothing(1), /weight must be in \[0, 1\), got 1/);
  store.getState().lockRange('memory', [-1, 1]);
  assert.deepEqual(store.getState().lockedRanges, { memory: [-1, 1] });
  assert.throws(() => store.getState().lockRange('usage', [1, 1]), /lockRange\(usage\): max must exceed min/);
  store.getState().unlockRange('memory');
  assert.deepEqual(store.getState().lockedRanges, {});
});
