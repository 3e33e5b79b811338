/**
 * `affine` against the plain tfjs expression a·b + bias: same values and the same gradients for a, b and bias,
 * on cpu (exactness) and on wasm (the backend it exists for), without leaking tensors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { prepareWasmBackend } from '../wasm-kernels';
import { affine } from './affine';

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

// Small unequal sizes; a weighted sum as the loss so each output entry gets its own upstream gradient.
function compare(backend: string, withBias: boolean): void {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    assert.equal(tf.getBackend(), backend);
    const a = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([3, 7], 0, 1, 'float32', 2) as tf.Tensor2D;
    const bias = tf.randomNormal([7], 0, 1, 'float32', 3) as tf.Tensor1D;
    const weights = tf.randomNormal([5, 7], 0, 1, 'float32', 4);
    const plain = (x: tf.Tensor2D, y: tf.Tensor2D, z: tf.Tensor1D) => {
      const product = tf.matMul(x, y);
      return withBias ? tf.add(product, z) : product;
    };
    const fused = (x: tf.Tensor2D, y: tf.Tensor2D, z: tf.Tensor1D) => (withBias ? affine(x, y, z) : affine(x, y));
    const loss =
      (f: typeof plain) =>
      (...xs: tf.Tensor[]) =>
        tf.sum(tf.mul(f(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor2D, (xs[2] ?? bias) as tf.Tensor1D), weights));
    assert.ok(maxDifference(fused(a, b, bias), plain(a, b, bias)) < 1e-5, 'values');
    // Without a bias only a and b reach the loss.
    const inputs = withBias ? [a, b, bias] : [a, b];
    const expected = tf.grads(loss(plain))(inputs);
    const actual = tf.grads(loss(fused))(inputs);
    for (const [index, name] of ['a', 'b', 'bias'].slice(0, inputs.length).entries()) {
      assert.deepEqual(actual[index].shape, expected[index].shape, `gradient shape of ${name}`);
      assert.ok(maxDifference(actual[index], expected[index]) < 1e-5, `gradient of ${name}`);
    }
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
}

for (const backend of ['cpu', 'wasm']) {
  test(`affine on ${backend}: values and gradients equal a·b + bias (with and without bias)`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    compare(backend, true);
    compare(backend, false);
  });
}

test('affine names the mismatched argument and shapes', async () => {
  await tf.setBackend('cpu');
  tf.tidy(() => {
    assert.throws(() => affine(tf.zeros([2, 3]), tf.zeros([4, 5])), /affine: .*a \[2, 3\] and b \[4, 5\]/);
    assert.throws(
      () => affine(tf.zeros([2, 3]), tf.zeros([3, 5]), tf.zeros([4])),
      /affine: bias must be \[5\].*got \[4\]/,
    );
  });
});

test('a backward pass over many steps transposes shared weights once, and a later pass again', async () => {
  for (const backend of ['cpu', 'wasm']) {
    assert.ok(await tf.setBackend(backend));
    // On wasm a saved tensor shares its data only with the engine's Identity (`wasm-kernels.ts`).
    if (backend === 'wasm') prepareWasmBackend({});
    const weights = tf.randomNormal([4, 6], 0, 1, 'float32', 5) as tf.Tensor2D;
    const bias = tf.randomNormal([6], 0, 1, 'float32', 6) as tf.Tensor1D;
    const inputs = Array.from({ length: 5 }, (_, t) => tf.randomNormal([3, 4], 0, 1, 'float32', 10 + t) as tf.Tensor2D);
    const pass = () =>
      tf.grads((w: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.addN(inputs.map((x) => tf.tanh(affine(x, w as tf.Tensor2D, c as tf.Tensor1D))))),
      )([weights, bias]);
    const countTransposes = async () => {
      let gradients: tf.Tensor[] = [];
      const info = await tf.profile(() => {
        gradients = pass();
      });
      const transposes = info.kernels.filter((k) => k.name === 'Transpose');
      const ofWeights = transposes.filter((k) => k.inputShapes[0]?.join(',') === '4,6').length;
      return { ofWeights, values: gradients.map((g) => Array.from(g.dataSync())), gradients };
    };
    const before = tf.memory().numTensors;
    const first = await countTransposes();
    assert.equal(first.ofWeights, 1, `${backend}: one transpose of the weights for five steps`);
    const second = await countTransposes();
    assert.equal(second.ofWeights, 1, `${backend}: a new pass transposes again (the old one was disposed)`);
    assert.deepEqual(second.values, first.values, `${backend}: same gradients`);
    tf.dispose([...first.gradients, ...second.gradients]);
    assert.equal(tf.memory().numTensors, before, `${backend}: no tensor kept past the passes`);
    tf.dispose([weights, bias, ...inputs]);
  }
});
