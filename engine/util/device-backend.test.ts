/**
 * `tensorFilledInPlace`: the values `fill` writes become the tensor's, on cpu through a fresh array and on wasm
 * through a view of the tensor's heap memory; a fill that creates a tensor (which may grow and move the wasm heap,
 * leaving the view detached and its later writes dropped) is an error, not a silently wrong tensor.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { tensorFilledInPlace } from './device-backend';

for (const backend of ['cpu', 'wasm']) {
  test(`on ${backend}, the values fill writes are the tensor's, from zeros`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    const before = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    // Memory that held other values, freed just before: the new tensor must still start from zeros.
    tf.dispose(tf.fill([2, 3], 7));
    const seen: number[][] = [];
    const tensor = tensorFilledInPlace([2, 3], (values) => {
      seen.push([...values]);
      values.set([1, -2, 3.5], 2);
    });
    assert.deepEqual(seen, [[0, 0, 0, 0, 0, 0]]);
    assert.deepEqual(tensor.shape, [2, 3]);
    assert.equal(tensor.dtype, 'float32');
    assert.deepEqual([...tensor.dataSync()], [0, 0, 1, -2, 3.5, 0]);
    tensor.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    assert.equal(tf.memory().numBytes, bytesBefore, 'its memory is freed with it');
  });
}

test('on wasm, a fill that grows the heap is named, and leaks nothing', async () => {
  assert.ok(await tf.setBackend('wasm'), 'wasm backend initialises');
  const before = tf.memory().numTensors;
  assert.throws(
    () =>
      tensorFilledInPlace([4], (values) => {
        values.fill(1);
        // 256 MB: more than the heap holds free at this point, so it grows (and moves).
        tf.dispose(tf.zeros([64 * 1024 * 1024]));
      }),
    /tensorFilledInPlace: the wasm heap moved while fill ran/,
  );
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
});
