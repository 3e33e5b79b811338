/**
 * SAM and SDNC (Rae et al. 2016) inside the DNC wrapper: a forward pass with debug frames whose sparse tensors are
 * stacked over time with the axis labels the memory gave them, gradients that reach the sparse interface
 * weights, and no tensors left behind.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DNC } from '../../dnc';
import { findTensor } from '../../frames';

before(async () => {
  await tf.setBackend('cpu');
});

describe('sparse memories in the DNC', () => {
  for (const memoryType of ['sam', 'sdnc'] as const) {
    it(`${memoryType}: frames stack over time, gradients reach the interface, nothing leaks`, () => {
      const model = new DNC({
        inputSize: 5,
        hiddenSize: 12,
        nrCells: 64,
        cellSize: 6,
        readHeads: 2,
        memoryType,
        sparseReads: 3,
        temporalReads: 2,
        independentLinears: false,
        debug: true,
        seed: 3,
      });
      const input = tf.randomUniform([2, 4, 5], 0, 1, 'float32', 9) as tf.Tensor3D;
      const baseline = tf.memory().numTensors;
      const { output, hidden, debug } = model.forward(input);
      assert.deepEqual(output.shape, [2, 4, 5]);
      assert.ok(debug);
      const readWeights = findTensor(debug, 'readWeights');
      const visible = findTensor(debug, 'visibleMemory');
      assert.ok(readWeights && visible);
      assert.deepEqual(readWeights.axes, ['time', 'head', 'visible']);
      assert.equal(readWeights.shape[0], 4);
      assert.deepEqual(visible.axes, ['time', 'visible', 'word']);
      if (memoryType === 'sdnc') assert.ok(findTensor(debug, 'linkMatrix'));
      model.disposeHidden(hidden);
      output.dispose();
      assert.equal(tf.memory().numTensors, baseline);

      const name = [...model.variables.keys()].find((key) => key.endsWith('interface_weights.weight'));
      assert.ok(name);
      const weight = model.variables.get(name);
      assert.ok(weight);
      const { value, grads } = tf.variableGrads(() => {
        const result = model.forward(input, undefined, { resetExperience: true });
        return tf.sum(tf.square(result.output));
      }, [weight]);
      const gradient = grads[weight.name];
      assert.ok(gradient.dataSync().some((g) => g !== 0));
      assert.ok(gradient.dataSync().every(Number.isFinite));
      tf.dispose([value, gradient, input]);
      model.dispose();
    });
  }
});
