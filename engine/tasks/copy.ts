/**
 * The copy task (Graves et al. 2014, used for the DNC in pytorch-dnc's `tasks/copy_task.py`): a sequence of
 * random bit vectors, an end marker, then the same sequence must be written back. Episode length 2L + 1.
 *
 * Channels: `inputSize − 1` data bits plus the end-marker channel (the last one). The target repeats the bits
 * after the marker and is zero elsewhere, so the loss also asks for silence while reading, exactly as
 * pytorch-dnc's criterion does. The metric is the bit error rate over the L answer steps only.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../training/rng';
import { bitErrorRate, checkBatchRequest, checkInputSize, sigmoidCrossEntropy } from './bits';
import type { Task, TaskBatch, TaskConfig } from './types';

export function createCopyTask(config: TaskConfig): Task {
  const inputSize = config.inputSize;
  checkInputSize('copy', inputSize);
  const bits = inputSize - 1;
  return {
    name: 'copy',
    metricName: 'bit error rate',
    inputSize,
    outputSize: inputSize,
    minLength: 1,
    testLengthFactor: 10,
    generate(rng: Rng, batchSize: number, length: number): TaskBatch {
      checkBatchRequest('copy', batchSize, length, 1);
      const timesteps = 2 * length + 1;
      const input = new Float32Array(batchSize * timesteps * inputSize);
      const target = new Float32Array(batchSize * timesteps * inputSize);
      for (let b = 0; b < batchSize; b++) {
        const episode = b * timesteps * inputSize;
        for (let t = 0; t < length; t++) {
          for (let c = 0; c < bits; c++) {
            const bit = rng.nextBit();
            input[episode + t * inputSize + c] = bit;
            target[episode + (length + 1 + t) * inputSize + c] = bit;
          }
        }
        input[episode + length * inputSize + bits] = 1;
      }
      return { batchSize, timesteps, inputSize, outputSize: inputSize, length, input, target };
    },
    loss: (output, target) => sigmoidCrossEntropy(output, target),
    metric: (output, target, batch) => bitErrorRate(output, target, batch.length + 1, batch.length, bits),
    activate: (output: tf.Tensor3D) => tf.sigmoid(output),
  };
}
