/**
 * The adding task as pytorch-dnc's `tasks/adding_task.py` defines it: L one-hot digits in [0, inputSize − 2],
 * then a one-hot end marker on the last channel (episode length L + 1); the answer is the sum of the digits, read
 * as the sum of every output unit over every timestep. pytorch-dnc 2.0's generator builds L one-hot rows but
 * reshapes to L + 1 and crashes; this one emits the marker it intended. It also repeats one episode across the
 * batch; here each batch element gets its own digits (the loss is the same average).
 *
 * Loss: squared error of the predicted sum, averaged over the batch. Metric: mean absolute error of the sum.
 * The target tensor holds the sum at the last timestep, channel 0 (zeros elsewhere).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../training/rng';
import { checkBatchRequest, checkInputSize } from './bits';
import type { Task, TaskBatch, TaskConfig } from './types';

/** Predicted sum per episode: every output unit over every step, `[batch, time, channel]` → `[batch]`. */
function predictedSums(output: tf.Tensor3D): tf.Tensor1D {
  return tf.sum(output, [1, 2]);
}

export function createAddingTask(config: TaskConfig): Task {
  const inputSize = config.inputSize;
  checkInputSize('adding', inputSize);
  const digits = inputSize - 1;
  return {
    name: 'adding',
    metricName: 'mean absolute error of the sum',
    inputSize,
    outputSize: inputSize,
    minLength: 2,
    testLengthFactor: 10,
    generate(rng: Rng, batchSize: number, length: number): TaskBatch {
      checkBatchRequest('adding', batchSize, length, 2);
      const timesteps = length + 1;
      const input = new Float32Array(batchSize * timesteps * inputSize);
      const target = new Float32Array(batchSize * timesteps * inputSize);
      for (let b = 0; b < batchSize; b++) {
        const episode = b * timesteps * inputSize;
        let sum = 0;
        for (let t = 0; t < length; t++) {
          const digit = rng.nextInt(digits);
          input[episode + t * inputSize + digit] = 1;
          sum += digit;
        }
        input[episode + length * inputSize + digits] = 1;
        target[episode + length * inputSize] = sum;
      }
      return { batchSize, timesteps, inputSize, outputSize: inputSize, length, input, target };
    },
    loss: (output, target) => tf.tidy(() => tf.mean(tf.square(tf.sub(predictedSums(output), tf.sum(target, [1, 2]))))),
    metric: (output, target) => tf.tidy(() => tf.mean(tf.abs(tf.sub(predictedSums(output), tf.sum(target, [1, 2]))))),
    activate: (output) => tf.clone(output),
  };
}
