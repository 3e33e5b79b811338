/**
 * The repeat-copy task (Graves et al. 2014, NTM §4.2): a sequence of random bit vectors, an end marker, then the
 * sequence written back `repeats` times in a row. Episode length L + 1 + repeats·L. pytorch-dnc has no such
 * script; the layout follows its copy task (last channel = marker, the marker step carries no bits) with the
 * repeat count fixed per run, so the marker needs no count encoding.
 *
 * Loss: binary cross-entropy over the whole episode (as copy). Metric: bit error rate over the answer steps.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../training/rng';
import { bitErrorRate, checkBatchRequest, checkInputSize, sigmoidCrossEntropy } from './bits';
import type { Task, TaskBatch, TaskConfig } from './types';

export function createRepeatCopyTask(config: TaskConfig): Task {
  return repeatedCopyTask('repeat-copy', config.inputSize, config.repeats ?? 2);
}

/**
 * The copy family: `repeats` copies of the sequence after the marker. The copy task is the case `repeats = 1`,
 * so both draw their bits in the same order from the generator.
 */
export function repeatedCopyTask(name: 'copy' | 'repeat-copy', inputSize: number, repeats: number): Task {
  checkInputSize(name, inputSize);
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new Error(`${name}: repeats must be a positive integer, got ${repeats}`);
  }
  const bits = inputSize - 1;
  return {
    name,
    metricName: 'bit error rate',
    inputSize,
    outputSize: inputSize,
    minLength: 1,
    testLengthFactor: 10,
    generate(rng: Rng, batchSize: number, length: number): TaskBatch {
      checkBatchRequest(name, batchSize, length, 1);
      const timesteps = length + 1 + repeats * length;
      const input = new Float32Array(batchSize * timesteps * inputSize);
      const target = new Float32Array(batchSize * timesteps * inputSize);
      for (let b = 0; b < batchSize; b++) {
        const episode = b * timesteps * inputSize;
        for (let t = 0; t < length; t++) {
          for (let c = 0; c < bits; c++) {
            const bit = rng.nextBit();
            input[episode + t * inputSize + c] = bit;
            for (let r = 0; r < repeats; r++) {
              target[episode + (length + 1 + r * length + t) * inputSize + c] = bit;
            }
          }
        }
        input[episode + length * inputSize + bits] = 1;
      }
      return { batchSize, timesteps, inputSize, outputSize: inputSize, length, input, target };
    },
    loss: (output, target) => sigmoidCrossEntropy(output, target),
    metric: (output, target, batch) => bitErrorRate(output, target, batch.length + 1, repeats * batch.length, bits),
    activate: (output: tf.Tensor3D) => tf.sigmoid(output),
  };
}
