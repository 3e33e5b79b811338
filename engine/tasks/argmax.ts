/**
 * The argmax task as pytorch-dnc's `tasks/argmax_task.py` defines it: L one-hot digits in [0, inputSize − 2],
 * then a one-hot end marker on the last channel (episode length L + 1); the answer is the position (0-based) of
 * the largest digit, first occurrence on ties (NumPy's `argmax`), read as the sum of the output units at the last
 * timestep. pytorch-dnc repeats one episode across the batch; here each batch element gets its own digits.
 *
 * Loss: squared error of that reading, averaged over the batch. Metric: error rate — the fraction of episodes
 * whose rounded reading is not the right position. The target holds the position at the last step, channel 0.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../training/rng';
import { checkBatchRequest, checkInputSize } from './bits';
import type { Task, TaskBatch, TaskConfig } from './types';

/** Last-step readings: `[batch, time, channel]` → `[batch]` (sum over channels at the final step). */
function lastStepSums(values: tf.Tensor3D): tf.Tensor1D {
  const [batch, time, channels] = values.shape;
  return tf.sum(tf.reshape(tf.slice(values, [0, time - 1, 0], [batch, 1, channels]), [batch, channels]), 1);
}

export function createArgmaxTask(config: TaskConfig): Task {
  const inputSize = config.inputSize;
  checkInputSize('argmax', inputSize);
  const digits = inputSize - 1;
  return {
    name: 'argmax',
    metricName: 'error rate',
    inputSize,
    outputSize: inputSize,
    minLength: 2,
    testLengthFactor: 2,
    generate(rng: Rng, batchSize: number, length: number): TaskBatch {
      checkBatchRequest('argmax', batchSize, length, 2);
      const timesteps = length + 1;
      const input = new Float32Array(batchSize * timesteps * inputSize);
      const target = new Float32Array(batchSize * timesteps * inputSize);
      for (let b = 0; b < batchSize; b++) {
        const episode = b * timesteps * inputSize;
        let best = -1;
        let bestPosition = 0;
        for (let t = 0; t < length; t++) {
          const digit = rng.nextInt(digits);
          input[episode + t * inputSize + digit] = 1;
          if (digit > best) {
            best = digit;
            bestPosition = t;
          }
        }
        input[episode + length * inputSize + digits] = 1;
        target[episode + length * inputSize] = bestPosition;
      }
      return { batchSize, timesteps, inputSize, outputSize: inputSize, length, input, target };
    },
    loss: (output, target) => tf.tidy(() => tf.mean(tf.square(tf.sub(lastStepSums(output), lastStepSums(target))))),
    metric: (output, target) =>
      tf.tidy(() =>
        tf.mean(tf.cast(tf.notEqual(tf.round(lastStepSums(output)), tf.round(lastStepSums(target))), 'float32')),
      ),
    activate: (output) => tf.clone(output),
  };
}
