/**
 * DenseMemory as a module: seeded PyTorch-style initialisation and parameter loading, invariants over random
 * rollouts, no NaN from an all-zero memory (values and gradients), no leaked tensors, debug output, argument
 * errors that name the argument, and a kernel count per step that does not grow with heads or batch (no
 * per-head or per-batch loops).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DenseMemory } from './dense-memory';
import type { DenseMemoryConfig, DenseMemoryState } from './dense-memory';
import { createMemory } from './registry';

const SMALL: DenseMemoryConfig = { inputSize: 6, memorySize: 7, cellSize: 4, readHeads: 2, seed: 3 };
const SLACK = 1e-6;

before(async () => {
  await tf.setBackend('cpu');
});

function randomXi(batch: number, inputSize: number, seed: number): tf.Tensor2D {
  return tf.randomNormal([batch, inputSize], 0, 2, 'float32', seed);
}

function disposeState(state: DenseMemoryState): void {
  for (const tensor of Object.values(state)) tensor.dispose();
}

function minMax(tensor: tf.Tensor): [number, number] {
  const values = tensor.dataSync();
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  return [low, high];
}

function allFinite(tensor: tf.Tensor): boolean {
  return tensor.dataSync().every((value) => Number.isFinite(value));
}

test('initialisation is PyTorch-like uniform(±1/√inputSize), reproducible from the seed', () => {
  const first = new DenseMemory(SMALL);
  const again = new DenseMemory(SMALL);
  const other = new DenseMemory({ ...SMALL, seed: 4 });
  try {
    assert.deepEqual([...first.variables.keys()], ['interface_weights.weight', 'interface_weights.bias']);
    const weight = first.variables.get('interface_weights.weight');
    assert.ok(weight !== undefined);
    assert.deepEqual(weight.shape, [2 * 4 + 3 * 4 + 5 * 2 + 3, 6]);
    const [low, high] = minMax(weight);
    const bound = 1 / Math.sqrt(6);
    assert.ok(low >= -bound && high <= bound && high - low > bound, `[${low}, ${high}] within ±${bound}`);
    assert.deepEqual(weight.dataSync(), again.variables.get('interface_weights.weight')?.dataSync());
    assert.notDeepEqual(weight.dataSync(), other.variables.get('interface_weights.weight')?.dataSync());
  } finally {
    first.dispose();
    again.dispose();
    other.dispose();
  }
});

test('independent linears: ten Linears by pytorch-dnc name', () => {
  const memory = new DenseMemory({ ...SMALL, independentLinears: true });
  try {
    const names = [...memory.variables.keys()].filter((name) => name.endsWith('.weight'));
    assert.deepEqual(names, [
      'read_keys_transform.weight',
      'read_strengths_transform.weight',
      'write_key_transform.weight',
      'write_strength_transform.weight',
      'erase_vector_transform.weight',
      'write_vector_transform.weight',
      'free_gates_transform.weight',
      'allocation_gate_transform.weight',
      'write_gate_transform.weight',
      'read_modes_transform.weight',
    ]);
    assert.deepEqual(memory.variables.get('read_modes_transform.weight')?.shape, [6, 6]);
  } finally {
    memory.dispose();
  }
});

test('loadParams sets values and rejects missing, unknown and misshapen parameters by name', () => {
  const memory = new DenseMemory(SMALL);
  try {
    const size = 33 * 6;
    const weight = { shape: [33, 6], data: Array.from({ length: size }, (_, i) => i / size) };
    const bias = { shape: [33], data: new Array(33).fill(0.5) };
    memory.loadParams({ 'interface_weights.weight': weight, 'interface_weights.bias': bias });
    assert.deepEqual(Array.from(memory.variables.get('interface_weights.bias')?.dataSync() ?? []), bias.data);
    assert.throws(
      () => memory.loadParams({ 'interface_weights.weight': weight }),
      /parameter 'interface_weights.bias' is missing/,
    );
    assert.throws(
      () =>
        memory.loadParams({
          'interface_weights.weight': weight,
          'interface_weights.bias': bias,
          'output.weight': bias,
        }),
      /unknown parameter\(s\) output.weight/,
    );
    assert.throws(
      () =>
        memory.loadParams({
          'interface_weights.weight': weight,
          'interface_weights.bias': { shape: [32], data: new Array(32).fill(0) },
        }),
      /parameter 'interface_weights.bias' must have shape \[33\] \(33 values\), got shape \[32\] with 32 values/,
    );
  } finally {
    memory.dispose();
  }
});

test('invariants over random rollouts: weightings in [0, 1], sums ≤ 1, zero link diagonal, usage in [0, 1]', () => {
  const memory = new DenseMemory(SMALL);
  const batch = 3;
  let state = memory.initialState(batch);
  try {
    for (let step = 0; step < 12; step++) {
      const xi = randomXi(batch, SMALL.inputSize, 100 + step);
      const { readVectors, state: next } = memory.step(xi, state);
      xi.dispose();
      disposeState(state);
      state = next;
      const where = `step ${step}`;
      for (const name of ['linkMatrix', 'precedence', 'readWeights', 'writeWeights', 'usage'] as const) {
        const [low, high] = minMax(state[name]);
        assert.ok(low >= -SLACK && high <= 1 + SLACK, `${where}: ${name} in [${low}, ${high}]`);
      }
      const [, writeSum] = minMax(tf.sum(state.writeWeights, 1));
      const [, readSum] = minMax(tf.sum(state.readWeights, 2));
      const [, precedenceSum] = minMax(tf.sum(state.precedence, 1));
      assert.ok(
        writeSum <= 1 + SLACK && readSum <= 1 + SLACK && precedenceSum <= 1 + SLACK,
        `${where}: sums ${writeSum}, ${readSum}, ${precedenceSum}`,
      );
      const diagonal = tf.mul(state.linkMatrix, tf.eye(SMALL.memorySize)).dataSync();
      assert.ok(
        diagonal.every((value) => value === 0),
        `${where}: link diagonal`,
      );
      assert.ok(allFinite(readVectors) && allFinite(state.memory), `${where}: finite`);
      readVectors.dispose();
    }
    const [lowUsage, highUsage] = minMax(state.usage);
    assert.ok(
      highUsage > 0.1 && highUsage - lowUsage > 0.01,
      `the rollout actually used memory: usage in [${lowUsage}, ${highUsage}]`,
    );
  } finally {
    disposeState(state);
    memory.dispose();
  }
});

test('no NaN from an all-zero memory, in the values or in the gradients', () => {
  const memory = new DenseMemory(SMALL);
  const state = memory.initialState(2);
  const xi = randomXi(2, SMALL.inputSize, 7);
  try {
    const { value, grads } = tf.variableGrads(() => {
      const { readVectors, state: next } = memory.step(xi, state);
      return tf.add(tf.sum(tf.square(readVectors)), tf.add(tf.sum(tf.square(next.memory)), tf.sum(next.usage)));
    });
    assert.ok(allFinite(value));
    for (const [name, gradient] of Object.entries(grads)) {
      assert.ok(allFinite(gradient), `gradient of ${name}`);
    }
    assert.equal(Object.keys(grads).length, 2);
    tf.dispose([value, ...Object.values(grads)]);
  } finally {
    disposeState(state);
    xi.dispose();
    memory.dispose();
  }
});

test('no leaked tensors across steps when the previous state is disposed (with and without debug)', () => {
  const memory = new DenseMemory(SMALL);
  let state = memory.initialState(2);
  const xi = randomXi(2, SMALL.inputSize, 9);
  const counts: number[] = [];
  try {
    for (let step = 0; step < 5; step++) {
      const { readVectors, state: next, debug } = memory.step(xi, state, { debug: step % 2 === 1 });
      disposeState(state);
      state = next;
      readVectors.dispose();
      if (debug !== undefined) tf.dispose(Object.values(debug.tensors));
      counts.push(tf.memory().numTensors);
    }
    assert.ok(
      counts.every((count) => count === counts[0]),
      `numTensors per step: ${counts.join(', ')}`,
    );
  } finally {
    disposeState(state);
    xi.dispose();
    memory.dispose();
  }
});

test('debug output: batch element 0 of state, weightings, gates and reads, with axes and ranges', () => {
  const memory = new DenseMemory(SMALL);
  let state = memory.initialState(2);
  const xi = randomXi(2, SMALL.inputSize, 11);
  try {
    const first = memory.step(xi, state);
    disposeState(state);
    state = first.state;
    const { debug, state: next, readVectors } = memory.step(xi, state, { debug: true });
    assert.ok(debug !== undefined);
    const [cells, width, heads] = [SMALL.memorySize, SMALL.cellSize, SMALL.readHeads];
    const expectedShapes: Record<string, number[]> = {
      memory: [cells, width],
      linkMatrix: [cells, cells],
      precedence: [cells],
      readWeights: [heads, cells],
      writeWeights: [cells],
      usage: [cells],
      allocationWeights: [cells],
      writeContentWeights: [cells],
      readContentWeights: [heads, cells],
      readModes: [heads, 3],
      freeGates: [heads],
      allocationGate: [1],
      writeGate: [1],
      readVectors: [heads, width],
    };
    assert.deepEqual(Object.keys(debug.tensors).sort(), Object.keys(expectedShapes).sort());
    for (const [name, shape] of Object.entries(expectedShapes)) {
      assert.deepEqual(debug.tensors[name].shape, shape, `${name} shape`);
      assert.equal(debug.axes[name].length, shape.length, `${name} axes`);
    }
    assert.deepEqual(debug.axes.memory, ['cell', 'word']);
    assert.deepEqual(debug.axes.readModes, ['head', 'mode']);
    assert.deepEqual(debug.ranges?.readWeights, [0, 1]);
    assert.equal(debug.ranges?.memory, undefined);
    assert.deepEqual(debug.tensors.memory.dataSync(), tf.slice(next.memory, 0, 1).dataSync());
    assert.deepEqual(debug.tensors.readVectors.dataSync(), tf.slice(readVectors, 0, 1).dataSync());
    assert.deepEqual(debug.tensors.linkMatrix.dataSync(), tf.slice(next.linkMatrix, 0, 1).dataSync());
    tf.dispose([first.readVectors, readVectors, ...Object.values(debug.tensors)]);
    disposeState(next);
  } finally {
    disposeState(state);
    xi.dispose();
    memory.dispose();
  }
});

test('argument errors name the function, the argument and the shapes', () => {
  const memory = new DenseMemory(SMALL);
  const state = memory.initialState(2);
  try {
    assert.throws(() => memory.step(tf.zeros([2, 5]), state), {
      message: "DenseMemory.step: argument 'xi' must have shape [?, 6], got [2, 5]",
    });
    assert.throws(
      () => memory.step(tf.zeros([3, 6]), state),
      /DenseMemory.step: argument 'prev.memory' must have shape \[3, 7, 4\], got \[2, 7, 4\]/,
    );
    const badUsage: DenseMemoryState = { ...state, usage: tf.zeros([2, 8]) };
    assert.throws(
      () => memory.step(tf.zeros([2, 6]), badUsage),
      /argument 'prev.usage' must have shape \[2, 7\], got \[2, 8\]/,
    );
    assert.throws(
      () => memory.step(tf.zeros([2, 6]), state, { allocationSortOrder: tf.zeros([2, 7]) }),
      /argument 'options.allocationSortOrder' must have dtype int32, got float32/,
    );
    assert.throws(
      () => new DenseMemory({ ...SMALL, memorySize: 0 }),
      /DenseMemory: argument 'config.memorySize' must be a positive integer, got 0/,
    );
    assert.throws(() => memory.initialState(1.5), /argument 'batchSize' must be a positive integer, got 1.5/);
  } finally {
    disposeState(state);
    memory.dispose();
  }
});

test('registry: dnc builds a seeded DenseMemory', () => {
  const memory = createMemory('dnc', SMALL, 5);
  try {
    assert.ok(memory instanceof DenseMemory);
    assert.deepEqual(memory.stateShapes(2).linkMatrix, [2, 7, 7]);
  } finally {
    memory.dispose();
  }
});

async function kernelsPerStep(
  config: DenseMemoryConfig,
  batch: number,
): Promise<{ forward: number; withBackward: number; names: string[] }> {
  const memory = new DenseMemory(config);
  const state = memory.initialState(batch);
  const xi = randomXi(batch, config.inputSize, 1);
  try {
    // tf.profile returns the engine's one profile record, overwritten by the next call: read it out at once.
    const forwardProfile = await tf.profile(() => {
      const { readVectors, state: next } = memory.step(xi, state);
      tf.dispose([readVectors, ...Object.values(next)]);
    });
    const forward = forwardProfile.kernels.length;
    const names = forwardProfile.kernels.map((kernel) => kernel.name);
    const backwardProfile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(memory.step(xi, state).readVectors));
      tf.dispose([value, ...Object.values(grads)]);
    });
    return { forward, withBackward: backwardProfile.kernels.length, names };
  } finally {
    disposeState(state);
    xi.dispose();
    memory.dispose();
  }
}

test('kernels per step do not grow with read heads or batch (heads and rows are batched, not looped)', async () => {
  const base = await kernelsPerStep(SMALL, 2);
  const moreHeads = await kernelsPerStep({ ...SMALL, readHeads: 4 }, 2);
  const moreRows = await kernelsPerStep(SMALL, 5);
  const moreCells = await kernelsPerStep({ ...SMALL, memorySize: 16 }, 2);
  console.log(`kernels per dense step: forward ${base.forward}, forward+backward ${base.withBackward}`);
  for (const other of [moreHeads, moreRows, moreCells]) {
    assert.equal(other.forward, base.forward);
    assert.equal(other.withBackward, base.withBackward);
  }
  assert.ok(!base.names.some((name) => /^(Unique|UnsortedSegmentSum)$/.test(name)), base.names.join(' '));
});
