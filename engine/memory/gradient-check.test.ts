/**
 * Finite-difference check of the whole dense memory step (interface layer, usage, allocation through the sorted
 * usage, write, links, reads) against TensorFlow.js's gradients, w.r.t. the interface weights and every
 * previous-state tensor.
 *
 * Float32 only, so: central differences with ε = 1e-2 along random unit-max directions, compared with the
 * analytic directional derivative g·v, relative tolerance 1e-2 (floored at 1e-3 absolute). Truncation error is
 * O(ε²) ≈ 1e-4 relative; rounding error is ≈ 1e-7·|loss|/ε ≈ 1e-5. Usages are spread ≥ 0.2 apart so no ±ε
 * perturbation reorders the free list (the sort order is piecewise constant and carries no gradient).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { denseMemoryStep } from './dense-step';
import { computeInterfaceRaw, interfaceSize, parseInterface } from './interface';

const [BATCH, INPUT, CELLS, WIDTH, HEADS] = [2, 5, 5, 3, 2];
const EPSILON = 1e-2;
const RELATIVE_TOLERANCE = 1e-2;
const ABSOLUTE_FLOOR = 1e-3;

before(async () => {
  await tf.setBackend('cpu');
});

/** Rows that are distributions scaled to sum `total` (< 1), like read/write weights. */
function scaledSoftmax(shape: number[], total: number, seed: number): tf.Tensor {
  return tf.mul(tf.softmax(tf.randomNormal(shape, 0, 1, 'float32', seed)), total);
}

const INPUT_NAMES = [
  'weight',
  'bias',
  'memory',
  'linkMatrix',
  'precedence',
  'readWeights',
  'writeWeights',
  'usage',
] as const;

function makeInputs(): tf.Tensor[] {
  const size = interfaceSize(HEADS, WIDTH);
  const offDiagonal = tf.sub(1, tf.eye(CELLS));
  const usageRows = [
    [0.1, 0.7, 0.3, 0.9, 0.5],
    [0.5, 0.1, 0.9, 0.3, 0.7],
  ];
  return [
    tf.randomUniform([size, INPUT], -0.8, 0.8, 'float32', 1),
    tf.randomUniform([size], -0.5, 0.5, 'float32', 2),
    tf.randomNormal([BATCH, CELLS, WIDTH], 0, 0.5, 'float32', 3),
    tf.mul(tf.randomUniform([BATCH, CELLS, CELLS], 0, 0.2, 'float32', 4), offDiagonal),
    scaledSoftmax([BATCH, CELLS], 0.8, 5),
    scaledSoftmax([BATCH, HEADS, CELLS], 0.9, 6),
    scaledSoftmax([BATCH, CELLS], 0.7, 7),
    tf.tensor2d(usageRows),
  ];
}

const xi = () => tf.randomNormal<tf.Rank.R2>([BATCH, INPUT], 0, 1, 'float32', 8);
/** Fixed random projections turn every output into one scalar loss. */
const projections = () => [
  tf.randomNormal([BATCH, HEADS, WIDTH], 0, 1, 'float32', 20),
  tf.randomNormal([BATCH, CELLS, WIDTH], 0, 1, 'float32', 21),
  tf.randomNormal([BATCH, CELLS, CELLS], 0, 1, 'float32', 22),
  tf.randomNormal([BATCH, CELLS], 0, 1, 'float32', 23),
  tf.randomNormal([BATCH, HEADS, CELLS], 0, 1, 'float32', 24),
  tf.randomNormal([BATCH, CELLS], 0, 1, 'float32', 25),
  tf.randomNormal([BATCH, CELLS], 0, 1, 'float32', 26),
];

function loss(inputs: readonly tf.Tensor[], controllerOutput: tf.Tensor2D, weights: readonly tf.Tensor[]): tf.Scalar {
  const [weight, bias, memory, linkMatrix, precedence, readWeights, writeWeights, usage] = inputs;
  const parameters = new Map<string, tf.Tensor>([
    ['interface_weights.weight', weight],
    ['interface_weights.bias', bias],
  ]);
  const raw = computeInterfaceRaw(controllerOutput, parameters, HEADS, WIDTH, false);
  const trace = denseMemoryStep(
    {
      memory: memory.as3D(BATCH, CELLS, WIDTH),
      linkMatrix: linkMatrix.as3D(BATCH, CELLS, CELLS),
      precedence: precedence.as2D(BATCH, CELLS),
      readWeights: readWeights.as3D(BATCH, HEADS, CELLS),
      writeWeights: writeWeights.as2D(BATCH, CELLS),
      usage: usage.as2D(BATCH, CELLS),
    },
    parseInterface(raw, HEADS, WIDTH),
  );
  const { state } = trace;
  const outputs = [
    trace.readVectors,
    state.memory,
    state.linkMatrix,
    state.precedence,
    state.readWeights,
    state.writeWeights,
    state.usage,
  ];
  return tf.addN(outputs.map((output, i) => tf.sum(tf.mul(output, weights[i]))));
}

test('the dense step gradient matches central differences for interface weights and previous state', () => {
  tf.tidy(() => {
    const inputs = makeInputs();
    const controllerOutput = xi();
    const weights = projections();
    const gradients = tf.grads((...args: tf.Tensor[]) => loss(args, controllerOutput, weights))(inputs);
    const failures: string[] = [];
    INPUT_NAMES.forEach((name, index) => {
      for (let trial = 0; trial < 3; trial++) {
        const direction = tf.randomUniform(inputs[index].shape, -1, 1, 'float32', 100 + 10 * index + trial);
        const shifted = (sign: number) =>
          loss(
            inputs.map((input, i) => (i === index ? tf.add(input, tf.mul(direction, sign * EPSILON)) : input)),
            controllerOutput,
            weights,
          ).dataSync()[0];
        const numeric = (shifted(1) - shifted(-1)) / (2 * EPSILON);
        const analytic = tf.sum(tf.mul(gradients[index], direction)).dataSync()[0];
        const scale = Math.max(Math.abs(numeric), Math.abs(analytic), ABSOLUTE_FLOOR / RELATIVE_TOLERANCE);
        if (!(Math.abs(numeric - analytic) <= RELATIVE_TOLERANCE * scale)) {
          failures.push(`${name} trial ${trial}: numeric ${numeric}, analytic ${analytic}`);
        }
      }
    });
    assert.deepEqual(failures, []);
    // The check is not vacuous: every input has a non-zero gradient.
    INPUT_NAMES.forEach((name, index) => {
      assert.ok(tf.max(tf.abs(gradients[index])).dataSync()[0] > 1e-4, `gradient of ${name} is non-zero`);
    });
  });
});
