import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diskUsageLabel, engineDetails, engineLabel, formatBytes, runActions, stateTitle } from './format';

const LAVAPIPE = {
  backend: 'webgpu',
  adapter: {
    vendor: 'mesa',
    architecture: 'software',
    description: 'llvmpipe: Mesa 25.0.7',
    software: true,
    limits: { maxBufferSize: 4294967295, maxComputeInvocationsPerWorkgroup: 1024 },
  },
};

test('engineLabel names the backend, and on webgpu the adapter, flagging a software one', () => {
  assert.equal(engineLabel({ backend: 'wasm' }), 'wasm');
  assert.equal(engineLabel(LAVAPIPE), 'webgpu · mesa software (software)');
  const gpu = { ...LAVAPIPE, adapter: { ...LAVAPIPE.adapter, vendor: 'nvidia', architecture: '', software: false } };
  assert.equal(engineLabel(gpu), 'webgpu · nvidia');
});

test('engineDetails lists the description and the limits', () => {
  assert.equal(
    engineDetails(LAVAPIPE),
    'llvmpipe: Mesa 25.0.7\nmaxBufferSize 4294967295\nmaxComputeInvocationsPerWorkgroup 1024',
  );
  assert.equal(engineDetails({ backend: 'cpu' }), 'tfjs backend cpu');
});

test('formatBytes uses powers of 1024 with one decimal past bytes', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(2 * 1024 ** 3), '2.0 GB');
});

test('diskUsageLabel shows used of budget and lists each run by name in the tooltip', () => {
  const usage = {
    usedBytes: 5 * 1024 ** 2,
    fileBytes: 6 * 1024 ** 2,
    budgetBytes: 2048 * 1024 ** 2,
    overBudget: false,
    perRun: [{ runId: 'a1', frames: 12, frameBytes: 4 * 1024 ** 2, metricPoints: 900, checkpointBytes: 2048 }],
  };
  const label = diskUsageLabel(usage, { a1: 'copy-1' });
  assert.equal(label.text, 'disk 5.0 MB of 2.0 GB');
  assert.match(label.title, /^6\.0 MB on disk/);
  assert.match(label.title, /copy-1: 12 frames \(4\.0 MB\), 900 points, checkpoint 2\.0 KB/);
  assert.equal(label.over, false);
  assert.equal(diskUsageLabel({ ...usage, budgetBytes: null, overBudget: true }, {}).text, 'disk 5.0 MB');
});

test('a queued run can be paused (leaving the queue), stopped and deleted, and its badge says why it waits', () => {
  assert.deepEqual(runActions('queued'), { pause: true, resume: false, stop: true, delete: true });
  assert.deepEqual(runActions('running'), { pause: true, resume: false, stop: true, delete: false });
  assert.match(stateTitle('queued') ?? '', /training slot or memory budget/);
  assert.equal(stateTitle('running'), undefined);
});
