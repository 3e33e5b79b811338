/**
 * The fused memory step on the wasm backend, the default where tfjs-node is missing: there `dataSync` copies out
 * of the wasm heap and new tensors copy into it, so the wiring differs from cpu. Values and gradients must equal
 * the kernel's own Float64 results, and nothing may leak.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { denseStepForward } from './dense-step-kernel';
import { denseStepBackward } from './dense-step-kernel-backward';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepInputShapes,
  densePackedLayout,
  type DenseStepInputName,
  type DenseStepSizes,
} from './dense-step-layout';
import { fusedMemoryStep } from './fused-memory-step';
import { randomStepInputs } from './random-step-inputs';
import { prepareWasmBackend } from '../../wasm-kernels';

before(async () => {
  assert.ok(await tf.setBackend('wasm'), 'wasm backend initialises');
  prepareWasmBackend({}); // the kernels the engine runs on wasm
});

test('on wasm, read vectors, state and all 16 gradients equal the Float64 kernel (B 3, N 7, W 4, R 2)', () => {
  const sizes: DenseStepSizes = { batch: 3, memorySize: 7, cellSize: 4, readHeads: 2 };
  const arrays = randomStepInputs(sizes, 31);
  const shapes = denseStepInputShapes(sizes);
  const layout = densePackedLayout(sizes);
  const packed = new Float64Array(layout.size);
  const tape = denseStepForward(sizes, arrays, packed);
  // Gradient of Σ packed ⊙ projection, with the projection laid out like the packed output.
  const projection = Float64Array.from({ length: layout.size }, (_, i) => Math.sin(i * 0.53));
  const expected = Object.fromEntries(
    DENSE_STEP_INPUT_NAMES.map((name) => [name, new Float64Array(arrays[name].length)]),
  ) as Record<DenseStepInputName, Float64Array>;
  denseStepBackward(sizes, arrays, packed, tape, projection, expected);

  const before = tf.memory().numTensors;
  tf.tidy(() => {
    assert.equal(tf.getBackend(), 'wasm');
    const tensors = DENSE_STEP_INPUT_NAMES.map((name) =>
      tf.tensor(Float32Array.from(arrays[name]), [sizes.batch, ...shapes[name]]),
    );
    const projectionTensor = tf.tensor1d(Float32Array.from(projection));
    const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
      const input = (name: DenseStepInputName) => xs[DENSE_STEP_INPUT_NAMES.indexOf(name)];
      const result = fusedMemoryStep(
        {
          readKeys: input('readKeys') as tf.Tensor3D,
          readStrengths: input('readStrengths') as tf.Tensor2D,
          writeKey: input('writeKey') as tf.Tensor2D,
          writeStrength: input('writeStrength') as tf.Tensor1D,
          eraseVector: input('eraseVector') as tf.Tensor2D,
          writeVector: input('writeVector') as tf.Tensor2D,
          freeGates: input('freeGates') as tf.Tensor2D,
          allocationGate: input('allocationGate') as tf.Tensor1D,
          writeGate: input('writeGate') as tf.Tensor1D,
          readModes: input('readModes') as tf.Tensor3D,
        },
        {
          memory: input('prevMemory') as tf.Tensor3D,
          linkMatrix: input('prevLinkMatrix') as tf.Tensor3D,
          precedence: input('prevPrecedence') as tf.Tensor2D,
          readWeights: input('prevReadWeights') as tf.Tensor3D,
          writeWeights: input('prevWriteWeights') as tf.Tensor2D,
          usage: input('prevUsage') as tf.Tensor2D,
        },
      );
      const { state } = result;
      const outputs = [
        result.readVectors,
        state.memory,
        state.precedence,
        state.readWeights,
        state.writeWeights,
        state.usage,
        state.linkMatrix,
      ];
      const flat = tf.concat(
        outputs.map((output) => tf.reshape(output, [-1])),
        0,
      );
      return tf.sum(tf.mul(flat, projectionTensor)) as tf.Scalar;
    })(tensors);

    const expectedLoss = packed.reduce((sum, v, i) => sum + v * projection[i], 0);
    assert.ok(Math.abs(value.dataSync()[0] - expectedLoss) <= 1e-4, `loss ${value.dataSync()[0]} vs ${expectedLoss}`);
    DENSE_STEP_INPUT_NAMES.forEach((name, i) => {
      const actual = grads[i].dataSync();
      let scale = 1;
      for (const v of expected[name]) scale = Math.max(scale, Math.abs(v));
      expected[name].forEach((v, k) => {
        assert.ok(Math.abs(actual[k] - v) <= 1e-5 * scale, `${name}[${k}]: wasm ${actual[k]}, kernel ${v}`);
      });
    });
  });
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
});
