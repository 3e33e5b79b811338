/**
 * The interface layer arranged once per forward call (`MemoryModule.prepareInterface`): the steps of a call that
 * share it give the gradients of steps that each arrange their own, and arranging it costs the same kernels however
 * many steps share it.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DNC } from '../dnc';
import { DenseMemory } from './dense-memory';
import { SparseAccessMemory, SparseTemporalMemory } from './sparse/sparse-memory';
import type { MemoryModule, MemoryState } from './types';

before(async () => {
  await tf.setBackend('cpu');
});

const BATCH = 2;
const INPUT = 5;

function memories(): [string, MemoryModule][] {
  const dense = { inputSize: INPUT, memorySize: 6, cellSize: 4, readHeads: 2, seed: 3 };
  const sparse = { inputSize: INPUT, memorySize: 20, cellSize: 4, readHeads: 2, sparseReads: 2, temporalReads: 2 };
  return [
    ['dense, independent linears', new DenseMemory({ ...dense, independentLinears: true })],
    ['dense, one linear', new DenseMemory(dense)],
    ['dense plain path', new DenseMemory({ ...dense, independentLinears: true, fused: false })],
    ['SAM', new SparseAccessMemory(sparse, 4) as MemoryModule],
    ['SDNC', new SparseTemporalMemory(sparse, 5) as MemoryModule],
  ];
}

/** Loss and gradients of `steps` steps, sharing one arranged interface layer or arranging it at every step. */
function run(memory: MemoryModule, steps: number, shared: boolean): { loss: number; grads: Map<string, Float32Array> } {
  const variables = [...memory.variables.entries()];
  const { value, grads } = tf.variableGrads(
    () => {
      const prepared = shared ? memory.prepareInterface() : undefined;
      let state: MemoryState = memory.initialState(BATCH);
      let loss = tf.scalar(0);
      for (let t = 0; t < steps; t++) {
        const xi = tf.randomNormal([BATCH, INPUT], 0, 1, 'float32', 10 + t) as tf.Tensor2D;
        const result = memory.step(xi, state, { preparedInterface: prepared });
        const projection = tf.randomNormal(result.readVectors.shape, 0, 1, 'float32', 50 + t);
        loss = tf.add(loss, tf.sum(tf.mul(result.readVectors, projection)));
        state = result.state;
      }
      return loss as tf.Scalar;
    },
    variables.map(([, variable]) => variable),
  );
  const out = new Map(variables.map(([name, variable]) => [name, grads[variable.name].dataSync() as Float32Array]));
  const loss = value.dataSync()[0];
  tf.dispose([value, grads]);
  return { loss, grads: out };
}

describe('the interface layer arranged once per forward call', () => {
  it('gives every interface weight the gradient that per-step arranging gives, bit for bit', () => {
    for (const [name, memory] of memories()) {
      const shared = run(memory, 4, true);
      const own = run(memory, 4, false);
      assert.equal(shared.loss, own.loss, name);
      for (const [key, gradient] of own.grads) {
        assert.ok(
          gradient.some((value) => value !== 0),
          `${name}: ${key} has a gradient`,
        );
        assert.deepEqual(shared.grads.get(key), gradient, `${name}: ${key}`);
      }
      memory.dispose();
    }
  });

  it('concatenates the ten linears once per call, not once per step', async () => {
    const [, memory] = memories()[0];
    const concats = async (steps: number, shared: boolean) => {
      const info = await tf.profile(() => void run(memory, steps, shared));
      return info.kernels.filter((kernel) => kernel.name === 'Concat').length;
    };
    const once = await concats(2, true);
    assert.ok(once >= 2, 'the ten weights and the ten biases are concatenated');
    assert.equal(await concats(6, true), once);
    assert.equal(await concats(6, false), 3 * (await concats(2, false)), 'arranged per step: twice per step');
    memory.dispose();
  });

  it('is arranged once by DNC.forward for all its timesteps', async () => {
    const model = new DNC({
      inputSize: 3,
      hiddenSize: 5,
      nrCells: 6,
      cellSize: 4,
      readHeads: 2,
      numHiddenLayers: 1,
      independentLinears: true,
    });
    const x = tf.randomUniform([2, 5, 3], -1, 1, 'float32', 1) as tf.Tensor3D;
    const info = await tf.profile(() => {
      const { output, hidden } = model.forward(x);
      model.disposeHidden(hidden);
      output.dispose();
    });
    // The ten weights and the ten biases: one concat each for the five steps.
    const tenWay = info.kernels.filter((kernel) => kernel.name === 'Concat' && kernel.inputShapes.length === 10);
    assert.equal(tenWay.length, 2);
    x.dispose();
    model.dispose();
  });
});
