/**
 * `multiOutputGradient`: a taped op with several outputs, each at its own shape, whose gradient receives one dy per
 * output (zeros for an output no gradient reached) and works from its closure alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { multiOutputGradient } from './custom-gradient';

/** y1 = 2·x as [2, 3], y2 = x² flattened to [6], with their analytic gradient. */
const doubleAndSquare = multiOutputGradient(([x]) => {
  const values = x.dataSync();
  return {
    values: [
      tf.tensor(
        values.map((v) => 2 * v),
        [2, 3],
      ),
      tf.tensor(
        values.map((v) => v * v),
        [6],
      ),
    ],
    gradFunc: ([dy1, dy2]) => {
      const d1 = dy1.dataSync();
      const d2 = dy2.dataSync();
      return [
        tf.tensor(
          values.map((v, i) => 2 * d1[i] + 2 * v * d2[i]),
          x.shape,
        ),
      ];
    },
  };
});

for (const backend of ['cpu', 'wasm']) {
  test(`on ${backend}, each output has its own shape and the gradient sums both outputs' terms`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor([1, -2, 3, 0.5, -1, 4], [6]);
      const [y1, y2] = doubleAndSquare(x);
      assert.deepEqual(y1.shape, [2, 3]);
      assert.deepEqual(y2.shape, [6]);
      assert.deepEqual([...y2.dataSync()], [1, 4, 9, 0.25, 1, 16]);
      const a = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const b = tf.tensor([0.5, -1, 2, 1, -3, 0.25], [6]);
      const both = tf.grad((input: tf.Tensor) => {
        const [u, v] = doubleAndSquare(input);
        return tf.add(tf.sum(tf.mul(u, a)), tf.sum(tf.mul(v, b)));
      })(x);
      // d/dx [Σ 2x·a + Σ x²·b] = 2a + 2x·b
      assert.deepEqual([...both.dataSync()], [3, 8, 18, 9, 16, 14]);
      // Only the first output feeds the loss: the second's dy arrives as zeros.
      const firstOnly = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(doubleAndSquare(input)[0], a)))(x);
      assert.deepEqual([...firstOnly.dataSync()], [2, 4, 6, 8, 10, 12]);
    });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });
}

test('a gradient function that returns the wrong number of gradients is named', async () => {
  await tf.setBackend('cpu');
  const broken = multiOutputGradient(([x]) => ({
    values: [tf.clone(x), tf.clone(x)],
    gradFunc: () => [tf.onesLike(x), tf.onesLike(x)],
  }));
  tf.tidy(() => {
    const x = tf.tensor([1, 2]);
    assert.throws(() => tf.grad((input: tf.Tensor) => tf.sum(broken(input)[0]))(x), /2 gradients for 1 inputs/);
  });
});
