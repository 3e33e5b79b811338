/**
 * The fused memory step against the plain tfjs path (`denseMemoryStep`, one op per mechanism): the same read
 * vectors, new state and gradients w.r.t. every interface part and previous-state tensor, on a random tie-free
 * state and on the all-zero start (where the allocation ties are broken by the lowest index on both paths).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { denseMemoryStep, type DenseMemoryState } from '../dense-step';
import {
  DENSE_STEP_INPUT_NAMES,
  densePackedLayout,
  type DenseStepArrays,
  type DenseStepInputName,
  type DenseStepSizes,
} from './dense-step-layout';
import { fusedMemoryStep } from './fused-memory-step';
import { randomStepInputs, stepArguments } from './random-step-inputs';

before(async () => {
  await tf.setBackend('cpu');
});

function inputTensors(sizes: DenseStepSizes, arrays: DenseStepArrays): tf.Tensor[] {
  const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  const shapes: Record<DenseStepInputName, number[]> = {
    readKeys: [batch, heads, width],
    readStrengths: [batch, heads],
    writeKey: [batch, width],
    writeStrength: [batch],
    eraseVector: [batch, width],
    writeVector: [batch, width],
    freeGates: [batch, heads],
    allocationGate: [batch],
    writeGate: [batch],
    readModes: [batch, heads, 3],
    prevMemory: [batch, cells, width],
    prevLinkMatrix: [batch, cells, cells],
    prevPrecedence: [batch, cells],
    prevReadWeights: [batch, heads, cells],
    prevWriteWeights: [batch, cells],
    prevUsage: [batch, cells],
  };
  return DENSE_STEP_INPUT_NAMES.map((name) => tf.tensor(Float32Array.from(arrays[name]), shapes[name]));
}

/** Read vectors and new state, flattened per row in the packed order, projected onto fixed weights and summed. */
function projectedLoss(
  result: { readVectors: tf.Tensor; state: DenseMemoryState },
  projection: tf.Tensor2D,
): tf.Scalar {
  const { state } = result;
  const outputs = [
    result.readVectors,
    state.memory,
    state.linkMatrix,
    state.precedence,
    state.readWeights,
    state.writeWeights,
    state.usage,
  ];
  const flat = tf.concat(
    outputs.map((output) => tf.reshape(output, [projection.shape[0], -1])),
    1,
  );
  return tf.sum(tf.mul(flat, projection));
}

function maxAbs(values: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]));
  return worst;
}

function compareWithPlain(sizes: DenseStepSizes, arrays: DenseStepArrays): void {
  tf.tidy(() => {
    const tensors = inputTensors(sizes, arrays);
    const layout = densePackedLayout(sizes);
    const projection = tf.tensor2d(
      Float32Array.from({ length: sizes.batch * layout.stride }, (_, i) => Math.cos(i * 0.71)),
      [sizes.batch, layout.stride],
    );
    const fusedLoss = (...xs: tf.Tensor[]) => {
      const { parsed, prev } = stepArguments(xs, sizes);
      return projectedLoss(fusedMemoryStep(parsed, prev), projection);
    };
    const plainLoss = (...xs: tf.Tensor[]) => {
      const { parsed, prev } = stepArguments(xs, sizes);
      return projectedLoss(denseMemoryStep(prev, parsed), projection);
    };
    const fused = tf.valueAndGrads(fusedLoss)(tensors);
    const plain = tf.valueAndGrads(plainLoss)(tensors);
    const { parsed, prev } = stepArguments(tensors, sizes);
    const fusedStep = fusedMemoryStep(parsed, prev);
    const plainStep = denseMemoryStep(prev, parsed);
    const pairs: [string, tf.Tensor, tf.Tensor][] = [
      ['readVectors', fusedStep.readVectors, plainStep.readVectors],
      ...Object.keys(plainStep.state).map((name): [string, tf.Tensor, tf.Tensor] => [
        name,
        fusedStep.state[name],
        plainStep.state[name],
      ]),
    ];
    for (const [name, fusedValue, plainValue] of pairs) {
      const difference = maxAbs(tf.sub(fusedValue, plainValue).dataSync());
      assert.ok(difference <= 1e-5, `${name}: max |fused − plain| = ${difference}`);
    }
    assert.ok(Math.abs(fused.value.dataSync()[0] - plain.value.dataSync()[0]) <= 1e-4, 'projected loss');
    DENSE_STEP_INPUT_NAMES.forEach((name, i) => {
      const plainGradient = plain.grads[i].dataSync();
      const difference = maxAbs(tf.sub(fused.grads[i], plain.grads[i]).dataSync());
      // Relative to the gradient's own scale: on an empty memory ∂cos/∂M carries 1/δ = 1e6 (pytorch-dnc's too).
      const scale = Math.max(1, maxAbs(plainGradient));
      assert.ok(difference <= 1e-5 * scale, `d loss / d ${name}: max |fused − plain| = ${difference} (scale ${scale})`);
    });
  });
}

test('values and gradients equal the plain tfjs path on a random tie-free state (B 3, N 6, W 4, R 2)', () => {
  const sizes = { batch: 3, memorySize: 6, cellSize: 4, readHeads: 2 };
  compareWithPlain(sizes, randomStepInputs(sizes, 21));
});

test('values and gradients equal the plain tfjs path from the all-zero start (B 2, N 9, W 3, R 1)', () => {
  const sizes = { batch: 2, memorySize: 9, cellSize: 3, readHeads: 1 };
  const arrays = randomStepInputs(sizes, 22);
  for (const name of [
    'prevMemory',
    'prevLinkMatrix',
    'prevPrecedence',
    'prevReadWeights',
    'prevWriteWeights',
    'prevUsage',
  ] as const) {
    arrays[name].fill(0);
  }
  compareWithPlain(sizes, arrays);
});
