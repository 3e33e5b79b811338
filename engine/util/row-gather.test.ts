/**
 * gatherRows against the one-hot matrix product it replaces: same values, same gradient w.r.t. the source
 * (repeated and −1 indices included), on the cpu and wasm backends, and a clear error for an index out of range.
 * prependRows against the one-hot product, slice and concatenation it replaces: the same numbers exactly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { gatherRows, prependRows } from './row-gather';

function oneHotGather(source: tf.Tensor3D, indices: tf.Tensor2D): tf.Tensor3D {
  return tf.matMul(tf.cast(tf.oneHot(indices, source.shape[1]), 'float32') as tf.Tensor3D, source);
}

for (const backend of ['cpu', 'wasm']) {
  test(`gatherRows equals the one-hot product, values and source gradient (${backend})`, async () => {
    assert.ok(await tf.setBackend(backend));
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const source = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 7) as tf.Tensor3D;
      const indices = tf.tensor2d(
        [
          [4, -1, 0, 4],
          [2, 2, -1, 1],
        ],
        undefined,
        'int32',
      );
      const weights = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 8);
      const loss = (gather: typeof gatherRows) => (s: tf.Tensor) =>
        tf.sum(tf.mul(gather(s as tf.Tensor3D, indices), weights));
      assert.deepEqual(
        Array.from(gatherRows(source, indices).dataSync()),
        Array.from(oneHotGather(source, indices).dataSync()),
      );
      const fast = tf.grad(loss(gatherRows))(source).dataSync();
      const reference = tf.grad(loss(oneHotGather))(source).dataSync();
      fast.forEach((value, i) => assert.ok(Math.abs(value - reference[i]) < 1e-6, `gradient[${i}]`));
    });
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  });
}

test('gatherRows names the argument and the value of an index out of range', () => {
  const source = tf.zeros([1, 3, 2]) as tf.Tensor3D;
  assert.throws(
    () => gatherRows(source, tf.tensor2d([[3]], undefined, 'int32')),
    /gatherRows: index 3 outside .* 'indices'/,
  );
  assert.throws(() => gatherRows(source, tf.tensor2d([[0]])), /'indices' must be int32/);
});

/** The journal update prependRows replaced: picked rows by a one-hot product, then the first rows kept by slice. */
function slicePrepend(rows: tf.Tensor3D, source: tf.Tensor3D, indices: tf.Tensor2D): tf.Tensor3D {
  const [batch, rowCount, width] = rows.shape;
  const kept = tf.slice(rows, [0, 0, 0], [batch, rowCount - indices.shape[1], width]);
  return tf.concat([oneHotGather(source, indices), kept], 1);
}

for (const backend of ['cpu', 'wasm']) {
  test(`prependRows equals the one-hot product and slice, values and both gradients exactly (${backend})`, async () => {
    assert.ok(await tf.setBackend(backend));
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const rows = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 3) as tf.Tensor3D;
      const source = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 4) as tf.Tensor3D;
      const indices = tf.tensor2d(
        [
          [3, -1],
          [0, 2],
        ],
        undefined,
        'int32',
      );
      const weights = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 5);
      const loss = (prepend: typeof prependRows) => (r: tf.Tensor, s: tf.Tensor) =>
        tf.sum(tf.mul(prepend(r as tf.Tensor3D, s as tf.Tensor3D, indices), weights));
      assert.deepEqual(
        Array.from(prependRows(rows, source, indices).dataSync()),
        Array.from(slicePrepend(rows, source, indices).dataSync()),
      );
      const fast = tf.grads(loss(prependRows))([rows, source]);
      const reference = tf.grads(loss(slicePrepend))([rows, source]);
      fast.forEach((gradient, i) =>
        assert.deepEqual(Array.from(gradient.dataSync()), Array.from(reference[i].dataSync())),
      );
    });
    assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  });
}

test('prependRows names the argument that picks too many rows', () => {
  const rows = tf.zeros([1, 2, 2]) as tf.Tensor3D;
  assert.throws(
    () => prependRows(rows, rows, tf.tensor2d([[0, 1, 0]], undefined, 'int32')),
    /prependRows: argument 'indices' picks 3 rows, more than rows' 2/,
  );
});
