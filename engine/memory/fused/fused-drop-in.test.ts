/**
 * The fused step as a drop-in for `DenseMemory.step`: fed with `DenseMemory.parseInterface(ξ)` it yields the same
 * read vectors, state and debug output (names, shapes, axes, values) over a chained unroll of pytorch-dnc's
 * recorded inputs, and back-propagation through the whole unroll gives the same interface-weight gradients.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { readParityFixture } from '../../parity/fixtures';
import { DenseMemory, type DenseMemoryState, type ParameterRecord } from '../dense-memory';
import { fusedMemoryStep } from './fused-memory-step';

interface FixtureTensor {
  readonly shape: number[];
  readonly data: number[];
}
interface MemoryFixture {
  readonly config: {
    readonly batch: number;
    readonly nr_cells: number;
    readonly cell_size: number;
    readonly read_heads: number;
    readonly input_size: number;
  };
  readonly params: Readonly<Record<string, ParameterRecord>>;
  readonly initial_state: Readonly<Record<string, FixtureTensor>>;
  readonly steps: readonly { readonly controller_output_xi: FixtureTensor }[];
}

const fixture = readParityFixture('memory_A_randinit.json') as MemoryFixture;
const { batch, nr_cells: cells, cell_size: width, read_heads: heads, input_size: inputSize } = fixture.config;

function initialState(): DenseMemoryState {
  const state = fixture.initial_state;
  return {
    memory: tf.tensor3d(state.memory.data, [batch, cells, width]),
    linkMatrix: tf.tensor3d(state.link_matrix.data, [batch, cells, cells]),
    precedence: tf.tensor2d(state.precedence.data, [batch, cells]),
    readWeights: tf.tensor3d(state.read_weights.data, [batch, heads, cells]),
    writeWeights: tf.tensor2d(state.write_weights.data, [batch, cells]),
    usage: tf.tensor2d(state.usage_vector.data, [batch, cells]),
  };
}

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

let memory: DenseMemory;

before(async () => {
  await tf.setBackend('cpu');
  memory = new DenseMemory({ inputSize, memorySize: cells, cellSize: width, readHeads: heads });
  memory.loadParams(fixture.params);
});

test('DenseMemory.step and the fused step agree over a chained unroll, debug output included', () => {
  tf.tidy(() => {
    let plainState = initialState();
    let fusedState = initialState();
    fixture.steps.forEach((step, t) => {
      const xi = tf.tensor2d(step.controller_output_xi.data, [batch, inputSize]);
      const plain = memory.step(xi, plainState, { debug: true });
      const fused = fusedMemoryStep(memory.parseInterface(xi), fusedState, { debug: true });
      assert.ok(maxDifference(plain.readVectors, fused.readVectors) <= 1e-5, `step ${t} readVectors`);
      for (const name of Object.keys(plain.state)) {
        assert.ok(maxDifference(plain.state[name], fused.state[name]) <= 1e-5, `step ${t} state.${name}`);
      }
      assert.ok(plain.debug !== undefined && fused.debug !== undefined);
      assert.deepEqual(
        Object.keys(fused.debug.tensors).sort(),
        Object.keys(plain.debug.tensors).sort(),
        'debug tensor names',
      );
      for (const [name, tensor] of Object.entries(plain.debug.tensors)) {
        const fusedTensor: tf.Tensor = fused.debug.tensors[name];
        assert.deepEqual(fusedTensor.shape, tensor.shape, `step ${t} debug ${name} shape`);
        assert.deepEqual(fused.debug.axes[name], plain.debug.axes[name], `debug ${name} axes`);
        assert.deepEqual(fused.debug.ranges?.[name], plain.debug.ranges?.[name], `debug ${name} range`);
        assert.ok(maxDifference(fusedTensor, tensor) <= 1e-5, `step ${t} debug ${name}`);
      }
      plainState = plain.state;
      fusedState = fused.state;
    });
  });
});

test('gradients of the interface weights through a 4-step unroll equal the plain path', () => {
  const unrollLoss = (useFused: boolean) => () => {
    let state = initialState();
    const losses: tf.Scalar[] = [];
    fixture.steps.slice(0, 4).forEach((step, t) => {
      const xi = tf.tensor2d(step.controller_output_xi.data, [batch, inputSize]);
      const result = useFused ? fusedMemoryStep(memory.parseInterface(xi), state) : memory.step(xi, state);
      // Weight each step's reads differently so that errors cannot cancel between steps.
      losses.push(
        tf.mul(
          t + 1,
          tf.sum(tf.mul(result.readVectors, tf.sin(tf.range(0, heads * width).reshape([1, heads, width])))),
        ),
      );
      state = result.state;
    });
    return tf.addN(losses) as tf.Scalar;
  };
  tf.tidy(() => {
    const plain = tf.variableGrads(unrollLoss(false));
    const fused = tf.variableGrads(unrollLoss(true));
    assert.ok(Math.abs(plain.value.dataSync()[0] - fused.value.dataSync()[0]) <= 1e-5, 'loss');
    assert.deepEqual(Object.keys(fused.grads).sort(), Object.keys(plain.grads).sort());
    for (const [name, gradient] of Object.entries(plain.grads)) {
      const scale = Math.max(1, tf.max(tf.abs(gradient)).dataSync()[0]);
      const difference = maxDifference(fused.grads[name], gradient);
      assert.ok(difference <= 1e-5 * scale, `d loss / d ${name}: max |fused − plain| = ${difference} (scale ${scale})`);
    }
  });
});
