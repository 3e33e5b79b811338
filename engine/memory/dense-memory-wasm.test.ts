/**
 * The dense memory on the wasm backend, which has no gradient for `tf.gather` (no UnsortedSegmentSum kernel):
 * the allocation's stable sort, a fixture replay, and a gradient through the whole step that equals the cpu
 * backend's — proof that the permutation gather's custom gradient carries the allocation there.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { parityFixturePath } from '../parity/fixtures';
import { replayMemoryFixture } from '../parity/memory-fixture';
import { ascendingOrder, inversePermutation, permutationGather } from '../util/sort-order';
import { DenseMemory } from './dense-memory';
import type { DenseMemoryState } from './dense-memory';

const fixturePath = parityFixturePath('memory_A.json');
const CONFIG = { inputSize: 6, memorySize: 7, cellSize: 4, readHeads: 2, seed: 5 };

/** Gradients of a two-step rollout's loss w.r.t. the interface variables, computed on `backend`. */
async function rolloutGradients(backend: string): Promise<Record<string, Float32Array>> {
  await tf.setBackend(backend);
  const memory = new DenseMemory(CONFIG);
  const batch = 2;
  const initial = memory.initialState(batch);
  const inputs = [0, 1].map(
    (step) => tf.randomNormal([batch, CONFIG.inputSize], 0, 2, 'float32', 40 + step) as tf.Tensor2D,
  );
  try {
    const { value, grads } = tf.variableGrads(() => {
      let state: DenseMemoryState = initial;
      let total: tf.Scalar = tf.scalar(0);
      for (const xi of inputs) {
        const result = memory.step(xi, state);
        state = result.state;
        total = tf.add(
          total,
          tf.add(tf.sum(tf.square(result.readVectors)), tf.sum(tf.mul(result.state.usage, result.state.writeWeights))),
        );
      }
      return total;
    });
    const out: Record<string, Float32Array> = {};
    for (const [name, gradient] of memory.variables) {
      const found = Object.entries(grads).find(([variableName]) => variableName === gradient.name);
      assert.ok(found !== undefined, `gradient for ${name} on ${backend}`);
      out[name] = Float32Array.from(found[1].dataSync());
    }
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  } finally {
    tf.dispose([...inputs, ...Object.values(initial)]);
    memory.dispose();
  }
}

test('wasm: stable ascending order (ties to the lowest index)', async () => {
  await tf.setBackend('wasm');
  assert.equal(tf.getBackend(), 'wasm');
  const order = ascendingOrder(
    tf.tensor2d([
      [0.5, 0.1, 0.5, 0.1, 0.9],
      [0.2, 0.2, 0.2, 0.2, 0.2],
    ]),
  );
  assert.deepEqual(order.arraySync(), [
    [1, 3, 0, 2, 4],
    [0, 1, 2, 3, 4],
  ]);
});

test('wasm: permutation gather is right on every batch row (tf.gather with batchDims 1 is not, on wasm)', async () => {
  await tf.setBackend('wasm');
  const order = tf.tensor2d(
    [
      [2, 0, 3, 1],
      [3, 2, 1, 0],
    ],
    undefined,
    'int32',
  );
  const values = tf.tensor2d([
    [10, 20, 30, 40],
    [1, 2, 3, 4],
  ]);
  assert.deepEqual(permutationGather(values, order, inversePermutation(order)).arraySync(), [
    [30, 10, 40, 20],
    [4, 3, 2, 1],
  ]);
});

test('wasm: memory_A replays within 1e-5 with tie orders injected', async () => {
  await tf.setBackend('wasm');
  const report = await replayMemoryFixture(JSON.parse(readFileSync(fixturePath, 'utf8')), { injectSortOrder: true });
  for (const [name, error] of Object.entries(report.maxAbsError)) {
    assert.ok(error <= 1e-5, `${name}: ${error}`);
  }
});

test('wasm: a gradient flows through the step (allocation included) and equals the cpu gradient', async () => {
  const cpu = await rolloutGradients('cpu');
  const wasm = await rolloutGradients('wasm');
  for (const name of Object.keys(cpu)) {
    let worst = 0;
    let largest = 0;
    for (let i = 0; i < cpu[name].length; i++) {
      assert.ok(Number.isFinite(wasm[name][i]), `${name}[${i}] finite on wasm`);
      worst = Math.max(worst, Math.abs(cpu[name][i] - wasm[name][i]));
      largest = Math.max(largest, Math.abs(cpu[name][i]));
    }
    assert.ok(largest > 1e-3, `${name}: non-zero gradient`);
    assert.ok(worst <= 1e-4 * Math.max(1, largest), `${name}: cpu vs wasm differ by ${worst} (largest ${largest})`);
  }
});
