/**
 * The finite-difference check of the whole dense memory step (`gradient-check-case.ts`, which explains the
 * tolerances) on the cpu backend: every interface weight and previous-state tensor, no tensor left behind.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { checkDenseStepGradient, INPUT_NAMES } from './gradient-check-case';

before(async () => {
  await tf.setBackend('cpu');
});

test('the dense step gradient matches central differences for interface weights and previous state', async () => {
  const before = tf.memory().numTensors;
  const report = await checkDenseStepGradient();
  assert.deepEqual(report.failures, []);
  // The check is not vacuous: every input has a non-zero gradient.
  for (const name of INPUT_NAMES) assert.ok(report.largestGradient[name] > 1e-4, `gradient of ${name} is non-zero`);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
});
