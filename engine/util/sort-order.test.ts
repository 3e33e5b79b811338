/**
 * The allocation's sort helpers: stable ascending order (ties to the lowest index), inverse permutations,
 * a permutation gather whose gradient is the scatter back, the exclusive cumulative product and its gradient, and
 * the norm whose gradient is 0 (not NaN) at a zero vector.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { assertShape } from './assert-shape';
import { ascendingOrder, exclusiveCumprod, inversePermutation, permutationGather } from './sort-order';
import { safeNorm } from './vector-norm';

before(async () => {
  await tf.setBackend('cpu');
});

/** tf.grad for a function of one [rows, columns] tensor (tf.grad itself is typed for rank-free tensors). */
function grad2d(f: (x: tf.Tensor2D) => tf.Tensor): (x: tf.Tensor2D) => tf.Tensor {
  return (x) => tf.grad((input) => f(input.as2D(x.shape[0], x.shape[1])))(x);
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('ascendingOrder sorts each row ascending and sends ties to the lowest index', () => {
  const values = tf.tensor2d([
    [0.5, 0.1, 0.5, 0.1, 0.9],
    [0.2, 0.2, 0.2, 0.2, 0.2],
  ]);
  assert.deepEqual(ascendingOrder(values).arraySync(), [
    [1, 3, 0, 2, 4],
    [0, 1, 2, 3, 4],
  ]);
});

test('ascendingOrder stays stable for long rows of ties (beyond topk partial-selection sizes)', () => {
  const values: tf.Tensor2D = tf.concat([tf.fill([1, 700], 0.25), tf.fill([1, 1], 0.1)], 1);
  const order = ascendingOrder(values).arraySync()[0];
  assert.equal(order[0], 700);
  assert.deepEqual(
    order.slice(1),
    Array.from({ length: 700 }, (_, i) => i),
  );
});

test('inversePermutation inverts each row', () => {
  const order = tf.tensor2d(
    [
      [2, 0, 3, 1],
      [0, 1, 2, 3],
    ],
    undefined,
    'int32',
  );
  assert.deepEqual(inversePermutation(order).arraySync(), [
    [1, 3, 0, 2],
    [0, 1, 2, 3],
  ]);
});

test('permutationGather reorders rows and its gradient scatters back (gather by the inverse)', () => {
  const values = tf.tensor2d([
    [10, 20, 30, 40],
    [1, 2, 3, 4],
  ]);
  const order = tf.tensor2d(
    [
      [2, 0, 3, 1],
      [3, 2, 1, 0],
    ],
    undefined,
    'int32',
  );
  const inverse = inversePermutation(order);
  assert.deepEqual(permutationGather(values, order, inverse).arraySync(), [
    [30, 10, 40, 20],
    [4, 3, 2, 1],
  ]);
  const upstream = tf.tensor2d([
    [1, 2, 3, 4],
    [5, 6, 7, 8],
  ]);
  const gradient = grad2d((x) => tf.sum(tf.mul(permutationGather(x, order, inverse), upstream)))(values);
  // d/dx[order[j]] = upstream[j]
  assert.deepEqual(gradient.arraySync(), [
    [2, 4, 1, 3],
    [8, 7, 6, 5],
  ]);
});

test('gradients do not flow through the sort order, only through the gathered values', () => {
  const values = tf.tensor2d([[0.3, 0.1, 0.2]]);
  const gradient = grad2d((x) => {
    const order = ascendingOrder(x);
    return tf.sum(tf.mul(permutationGather(x, order, inversePermutation(order)), tf.tensor2d([[1, 10, 100]])));
  })(values);
  // sorted = [x1, x2, x0] weighted 1, 10, 100
  close(gradient.dataSync(), [100, 1, 10], 0, 'gradient');
});

test('exclusiveCumprod gives Π_{i<j} x_i and the product rule gradient', () => {
  const values = tf.tensor2d([[0.5, 0.2, 0.8, 0.4]]);
  close(exclusiveCumprod(values).dataSync(), [1, 0.5, 0.1, 0.08], 1e-6, 'value');
  const gradient = grad2d((x) => tf.sum(exclusiveCumprod(x)))(values);
  // d/dx0 (1 + x0 + x0x1 + x0x1x2) = 1 + x1 + x1x2; d/dx1 = x0 + x0x2; d/dx2 = x0x1; d/dx3 = 0
  close(gradient.dataSync(), [1 + 0.2 + 0.16, 0.5 + 0.4, 0.1, 0], 1e-5, 'gradient');
});

test('safeNorm: value, gradient x/‖x‖, and gradient 0 (not NaN) for a zero vector', () => {
  const values = tf.tensor2d([
    [3, 4],
    [0, 0],
  ]);
  close(safeNorm(values).dataSync(), [5, 0], 1e-6, 'norm');
  const gradient = grad2d((x) => tf.sum(safeNorm(x)))(values);
  close(gradient.dataSync(), [0.6, 0.8, 0, 0], 1e-6, 'gradient');
});

test('assertShape names the function, the argument and both shapes', () => {
  assert.throws(() => assertShape('updateUsage', 'prevReadWeights', tf.zeros([2, 3]), [2, null, 3]), {
    message: "updateUsage: argument 'prevReadWeights' must have shape [2, ?, 3], got [2, 3]",
  });
  assert.doesNotThrow(() => assertShape('f', 'x', tf.zeros([2, 7, 3]), [2, null, 3]));
});
