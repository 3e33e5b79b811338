import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { readChecks } from './finite-checks';
import { globalNormClip } from './optimizers';
import { NonFiniteError } from './types';

before(async () => {
  await tf.setBackend('cpu');
});

interface Overrides {
  loss?: number;
  gradient?: number;
  state?: number;
  outputAt?: [number, number];
  /** Replaces the norm computed from the gradients (e.g. an overflow to Infinity). */
  norm?: number;
}

function tensors(overrides: Overrides = {}) {
  const output = tf.buffer([2, 4, 3]);
  if (overrides.outputAt) output.set(overrides.outputAt[1], 1, overrides.outputAt[0], 2);
  const gradients = {
    'output.bias': tf.tensor1d([0, 1]),
    'output.weight': tf.tensor2d([
      [1, 2],
      [3, overrides.gradient ?? 4],
    ]),
  };
  const { norm: computed, factor } = globalNormClip(gradients, 10);
  factor.dispose();
  let norm = computed;
  if (overrides.norm !== undefined) {
    computed.dispose();
    norm = tf.scalar(overrides.norm);
  }
  return {
    loss: tf.scalar(overrides.loss ?? 0.5),
    metric: tf.scalar(0.25),
    norm,
    gradients,
    state: [{ name: 'memory.usage', tensor: tf.tensor2d([[0, overrides.state ?? 1]]) }],
    output: output.toTensor() as tf.Tensor3D,
  };
}

function dispose(t: ReturnType<typeof tensors>): void {
  tf.dispose([t.loss, t.metric, t.norm, ...Object.values(t.gradients), t.state[0].tensor, t.output]);
}

function rejectsWith(tensor: string, timestep: number | null) {
  return (error: unknown) => {
    assert.ok(error instanceof NonFiniteError, String(error));
    assert.equal(error.tensor, tensor);
    assert.equal(error.iteration, 7);
    assert.equal(error.timestep, timestep);
    return true;
  };
}

test('finite values pass and come back from one readout', async () => {
  const t = tensors();
  const before = tf.memory().numTensors;
  const read = await readChecks(7, t);
  assert.deepEqual({ loss: read.loss, metric: read.metric }, { loss: 0.5, metric: 0.25 });
  assert.ok(Math.abs(read.norm - Math.sqrt(31)) < 1e-6, `norm ${read.norm}`);
  assert.equal(tf.memory().numTensors, before, 'no leak');
  dispose(t);
});

test('a NaN loss names the loss and the first timestep whose output is not finite', async () => {
  const t = tensors({ loss: Number.NaN, outputAt: [2, Number.POSITIVE_INFINITY] });
  await assert.rejects(readChecks(7, t), rejectsWith('loss', 2));
  dispose(t);
});

test('a non-finite gradient or state entry names the parameter or state tensor', async () => {
  const gradient = tensors({ gradient: Number.NaN });
  await assert.rejects(readChecks(7, gradient), rejectsWith('gradient of output.weight', null));
  dispose(gradient);
  const infinite = tensors({ gradient: Number.POSITIVE_INFINITY });
  await assert.rejects(readChecks(7, infinite), rejectsWith('gradient of output.weight', null));
  dispose(infinite);
  const state = tensors({ state: Number.NEGATIVE_INFINITY });
  await assert.rejects(readChecks(7, state), rejectsWith('state memory.usage', null));
  dispose(state);
});

test('a norm that overflows from finite gradients passes: the scan finds no parameter to name', async () => {
  const t = tensors({ norm: Number.POSITIVE_INFINITY });
  const before = tf.memory().numTensors;
  assert.equal((await readChecks(7, t)).norm, Number.POSITIVE_INFINITY);
  assert.equal(tf.memory().numTensors, before, 'no leak on the scan path');
  dispose(t);
});
