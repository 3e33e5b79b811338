/**
 * Known answers for each memory mechanism, forced by planted one-hot entries (the way DeepMind's
 * `addressing_test.py` does): content reads pick the planted cell, allocation picks the least-used cell (ties
 * to the lowest index), links record write order, forward/backward modes follow a planted link, erase/write and
 * the interface parser do what the paper says.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ALLOCATION_DELTA } from '../util/constants';
import { allocationWeights } from './allocation';
import { contentWeights, cosineSimilarity } from './content-addressing';
import { eraseAndWrite } from './erase-write';
import { interfaceLayout, interfaceSize, parseInterface } from './interface';
import { readVectors, readWeighting } from './read-weighting';
import { directionalWeights, updateLinkMatrix, updatePrecedence } from './temporal-linkage';
import { updateUsage } from './usage';
import { writeWeighting } from './write-weighting';

before(async () => {
  await tf.setBackend('cpu');
});

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function argmaxRows(tensor: tf.Tensor): number[] {
  return Array.from(tf.argMax(tensor, -1).dataSync());
}

function oneHot(length: number, index: number, value = 1): number[] {
  return Array.from({ length }, (_, i) => (i === index ? value : 0));
}

test('content read picks the planted cell, for every head at once', () => {
  // [batch 1, 5 cells, 3 words]; cell 3 holds the first key's direction, cell 0 the second's.
  const memory = tf.tensor3d([
    [
      [1, 0, 0],
      [0, 0, 1],
      [0, 0, 0],
      [0, 1, 0],
      [0.5, 0, 0.5],
    ],
  ]);
  const keys = tf.tensor3d([
    [
      [0, 0.7, 0],
      [0.3, 0, 0],
    ],
  ]);
  const weights = contentWeights(memory, keys, tf.tensor2d([[100, 100]]));
  assert.deepEqual(argmaxRows(weights), [3, 0]);
  const values = weights.arraySync()[0];
  assert.ok(values[0][3] > 0.999 && values[1][0] > 0.999, JSON.stringify(values));
  close(tf.sum(weights, -1).dataSync(), [1, 1], 1e-6, 'rows sum to 1');
});

test('cosine similarity is 0, not NaN, against an all-zero memory', () => {
  const similarity = cosineSimilarity(tf.zeros([2, 4, 3]), tf.tensor3d([[[1, 2, 3]], [[0, 0, 0]]]));
  close(similarity.dataSync(), new Array(8).fill(0), 0, 'similarity');
});

test('a candidate mask (sparse memories) restricts the softmax: 0 outside, dense weights renormalised inside', () => {
  const memory = tf.tensor3d([
    [
      [1, 0],
      [0, 1],
      [1, 1],
      [-1, 0.5],
    ],
  ]);
  const keys = tf.tensor3d([[[0.6, 0.8]]]);
  const strengths = tf.tensor2d([[3]]);
  const dense = contentWeights(memory, keys, strengths).dataSync();
  const masked = contentWeights(memory, keys, strengths, tf.tensor3d([[[1, 0, 1, 0]]])).dataSync();
  const inside = dense[0] + dense[2];
  close(masked, [dense[0] / inside, 0, dense[2] / inside, 0], 1e-6, 'masked weights');
  const all = contentWeights(memory, keys, strengths, tf.ones([1, 1, 4]) as tf.Tensor3D).dataSync();
  close(all, dense, 1e-7, 'an all-ones mask is the dense weighting');
});

test('allocation gives the least-used cell almost all weight, in free-list order', () => {
  const usage = [0.9, 0.5, 0.1, 0.7];
  const result = allocationWeights(tf.tensor2d([usage]));
  const clamped = usage.map((u) => ALLOCATION_DELTA + (1 - ALLOCATION_DELTA) * u);
  // Free list φ = [2, 1, 3, 0]: a[φ_j] = (1 − û[φ_j]) Π_{i<j} û[φ_i].
  const expected = [
    (1 - clamped[0]) * clamped[2] * clamped[1] * clamped[3],
    (1 - clamped[1]) * clamped[2],
    1 - clamped[2],
    (1 - clamped[3]) * clamped[2] * clamped[1],
  ];
  assert.deepEqual(result.sortOrder.arraySync(), [[2, 1, 3, 0]]);
  assert.deepEqual(argmaxRows(result.allocationWeights), [2]);
  close(result.allocationWeights.dataSync(), expected, 1e-6, 'allocation');
  close(result.clampedUsage.dataSync(), clamped, 1e-7, 'clamped usage');
});

test('allocation from an empty memory picks cell 0 (ties go to the lowest index)', () => {
  const result = allocationWeights(tf.zeros([2, 3]));
  const delta = ALLOCATION_DELTA;
  const row = [1 - delta, (1 - delta) * delta, (1 - delta) * delta * delta];
  close(result.allocationWeights.dataSync(), [...row, ...row], 2e-7, 'allocation');
  const [first, second, third] = result.allocationWeights.dataSync();
  assert.ok(first > second && second > third && third > 0, 'weights fall off along the free list');
  assert.deepEqual(result.sortOrder.arraySync(), [
    [0, 1, 2],
    [0, 1, 2],
  ]);
});

test('an injected sort order replaces the stable one', () => {
  const order = tf.tensor2d([[2, 0, 1]], undefined, 'int32');
  const result = allocationWeights(tf.zeros([1, 3]), order);
  assert.deepEqual(argmaxRows(result.allocationWeights), [2]);
  assert.throws(
    () => allocationWeights(tf.zeros([1, 3]), tf.tensor2d([[2, 0, 1]])),
    /injectedSortOrder' must have dtype int32/,
  );
});

test('usage: written cells become used, freed read cells become free', () => {
  const usage = updateUsage(
    tf.tensor2d([[0.5, 0.5, 0.2]]),
    tf.tensor2d([[0.4, 0, 0]]),
    tf.tensor2d([[1, 0]]),
    tf.tensor3d([
      [
        [0, 0, 1],
        [0, 0, 1],
      ],
    ]),
  );
  // cell 0: 0.5 + 0.5·0.4; cell 1 untouched; cell 2 read by head 0 with free gate 1 → freed.
  close(usage.dataSync(), [0.7, 0.5, 0], 1e-6, 'usage');
});

test('write weighting interpolates allocation and content, scaled by the write gate', () => {
  const weights = writeWeighting(
    tf.tensor2d([[1, 0]]),
    tf.tensor2d([[0, 1]]),
    tf.tensor2d([[0.25]]),
    tf.tensor2d([[0.5]]),
  );
  close(weights.dataSync(), [0.125, 0.375], 1e-7, 'write weights');
});

test('erase and write: a fully weighted, fully erased cell ends up holding the write vector', () => {
  const memory = tf.tensor3d([
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
  ]);
  const next = eraseAndWrite(memory, tf.tensor2d([[0, 1, 0.5]]), tf.tensor2d([[1, 1]]), tf.tensor2d([[-1, 0.5]]));
  close(next.dataSync(), [1, 2, -1, 0.5, 5 * 0.5 - 0.5, 6 * 0.5 + 0.25], 1e-6, 'memory');
});

test('links record that the written cell follows the previously written one; the diagonal stays 0', () => {
  const cells = 6;
  const links = updateLinkMatrix(
    tf.zeros([1, cells, cells]),
    tf.tensor2d([oneHot(cells, 2)]),
    tf.tensor2d([oneHot(cells, 5)]),
  );
  const expected = new Array(cells * cells).fill(0);
  expected[2 * cells + 5] = 1;
  close(links.dataSync(), expected, 0, 'links');
  const selfLink = updateLinkMatrix(
    tf.zeros([1, cells, cells]),
    tf.tensor2d([oneHot(cells, 2)]),
    tf.tensor2d([oneHot(cells, 2)]),
  );
  close(selfLink.dataSync(), new Array(cells * cells).fill(0), 0, 'no self link');
  close(
    updatePrecedence(tf.tensor2d([oneHot(cells, 5)]), tf.tensor2d([oneHot(cells, 2, 0.75)])).dataSync(),
    [0, 0, 0.75, 0, 0, 0.25],
    1e-7,
    'precedence',
  );
});

test('a per-batch link mask (the sparse memories) zeroes masked pairs and leaves the rest as the dense update', () => {
  const cells = 4;
  const prevLinks = tf.fill([2, cells, cells], 0.1) as tf.Tensor3D;
  const writeWeights = tf.tensor2d([oneHot(cells, 1, 0.5), oneHot(cells, 3, 0.5)]);
  const prevPrecedence = tf.tensor2d([oneHot(cells, 0, 0.8), oneHot(cells, 2, 0.8)]);
  const dense = updateLinkMatrix(prevLinks, writeWeights, prevPrecedence).dataSync();
  // Batch element 1 hides cell 0 (a padding slot): its row and column must be 0.
  const visible = [
    [1, 1, 1, 1],
    [0, 1, 1, 1],
  ];
  const mask = tf.tensor3d(
    visible.map((row) => row.map((i, r) => row.map((j, c) => (r === c ? 0 : i * j)))),
  ) as tf.Tensor3D;
  const masked = updateLinkMatrix(prevLinks, writeWeights, prevPrecedence, mask).dataSync();
  const expected = Array.from(dense, (value, k) => {
    const [b, i, j] = [Math.floor(k / 16), Math.floor(k / 4) % 4, k % 4];
    return visible[b][i] * visible[b][j] * value;
  });
  close(masked, expected, 0, 'masked links');
  assert.throws(
    () => updateLinkMatrix(prevLinks, writeWeights, prevPrecedence, tf.ones([2, 3, 3]) as tf.Tensor3D),
    /updateLinkMatrix.*offDiagonalMask/,
  );
});

test('forward mode follows a planted link, backward mode follows it in reverse', () => {
  const cells = 6;
  const rows = Array.from({ length: cells }, () => new Array(cells).fill(0));
  rows[2][5] = 1; // cell 2 was written right after cell 5
  const { forwardWeights, backwardWeights } = directionalWeights(
    tf.tensor3d([rows]),
    tf.tensor3d([[oneHot(cells, 5), oneHot(cells, 2)]]),
  );
  close(forwardWeights.dataSync(), [...oneHot(cells, 2), ...new Array(cells).fill(0)], 0, 'forward');
  close(backwardWeights.dataSync(), [...new Array(cells).fill(0), ...oneHot(cells, 5)], 0, 'backward');
  // Head 0 in forward mode reads cell 2; head 1 in backward mode reads cell 5.
  const modes = tf.tensor3d([
    [
      [0, 1, 0],
      [1, 0, 0],
    ],
  ]);
  const weights = readWeighting(
    modes,
    backwardWeights,
    forwardWeights,
    tf.tensor3d([[new Array(cells).fill(1 / cells), new Array(cells).fill(1 / cells)]]),
  );
  assert.deepEqual(argmaxRows(weights), [2, 5]);
  const memory = tf.tensor3d([Array.from({ length: cells }, (_, cell) => [cell, -cell])]);
  close(readVectors(memory, weights).dataSync(), [2, -2, 5, -5], 1e-6, 'read vectors');
});

test('interface layout has RW+3W+5R+3 entries and the parser applies the documented activations', () => {
  const [heads, width] = [2, 3];
  const size = interfaceSize(heads, width);
  assert.equal(size, heads * width + 3 * width + 5 * heads + 3);
  const layout = interfaceLayout(heads, width);
  assert.equal(layout[layout.length - 1].offset + layout[layout.length - 1].length, size);
  const parsed = parseInterface(tf.zeros([4, size]), heads, width);
  assert.deepEqual(parsed.readKeys.shape, [4, heads, width]);
  assert.deepEqual(parsed.readModes.shape, [4, heads, 3]);
  close(parsed.writeGate.dataSync(), [0.5, 0.5, 0.5, 0.5], 1e-7, 'sigmoid(0)');
  close(parsed.readStrengths.dataSync(), new Array(8).fill(Math.log(2)), 1e-6, 'softplus(0)');
  close(parsed.readModes.dataSync(), new Array(24).fill(1 / 3), 1e-6, 'softmax per head');
  assert.throws(
    () => parseInterface(tf.zeros([4, size + 1]), heads, width),
    /parseInterface: argument 'interfaceRaw' must have shape \[\?, 28\], got \[4, 29\]/,
  );
});
