import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineDetails, engineLabel, runActions, stateTitle } from './format';

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

test('a queued run can be paused (leaving the queue), stopped and deleted, and its badge says why it waits', () => {
  assert.deepEqual(runActions('queued'), { pause: true, resume: false, stop: true, delete: true });
  assert.deepEqual(runActions('running'), { pause: true, resume: false, stop: true, delete: false });
  assert.match(stateTitle('queued') ?? '', /training slot or memory budget/);
  assert.equal(stateTitle('running'), undefined);
});
