/**
 * Associative recall (Graves et al. 2014, NTM §4.3): the network sees a list of items, then one of them again as
 * a cue, and must answer with the item that followed the cue in the list. pytorch-dnc has no such script; this
 * version uses one-step items so that the episode stays short enough for the copy-task memory sizes.
 *
 * Layout (k = length items, episode length k + 2): steps 0…k−1 carry the items on the `inputSize − 1` data
 * channels; step k carries the cue item plus a 1 on the last (query-marker) channel; at step k + 1 the input is
 * silent and the target is the item after the cue. Items within an episode are distinct, so the answer is
 * unambiguous (which caps k at 2^(inputSize − 1)). Loss: binary cross-entropy over the episode; metric: bit
 * error rate of the answer step.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../training/rng';
import { bitErrorRate, checkBatchRequest, checkInputSize, sigmoidCrossEntropy } from './bits';
import type { Task, TaskBatch, TaskConfig } from './types';

export function createAssociativeRecallTask(config: TaskConfig): Task {
  const inputSize = config.inputSize;
  checkInputSize('associative-recall', inputSize);
  const bits = inputSize - 1;
  const distinctItems = 2 ** bits;
  return {
    name: 'associative-recall',
    metricName: 'bit error rate',
    inputSize,
    outputSize: inputSize,
    minLength: 2,
    maxLength: distinctItems,
    testLengthFactor: 2,
    generate(rng: Rng, batchSize: number, length: number): TaskBatch {
      checkBatchRequest('associative-recall', batchSize, length, 2);
      if (length > distinctItems) {
        throw new Error(
          `associative-recall.generate: length ${length} needs ${length} distinct items but ${bits} data bits ` +
            `(inputSize ${inputSize}) give only ${distinctItems}`,
        );
      }
      const timesteps = length + 2;
      const input = new Float32Array(batchSize * timesteps * inputSize);
      const target = new Float32Array(batchSize * timesteps * inputSize);
      const writeItem = (array: Float32Array, offset: number, item: number) => {
        for (let c = 0; c < bits; c++) array[offset + c] = (item >>> c) & 1;
      };
      for (let b = 0; b < batchSize; b++) {
        const episode = b * timesteps * inputSize;
        const items: number[] = [];
        const used = new Set<number>();
        while (items.length < length) {
          const item = rng.nextInt(distinctItems);
          if (used.has(item)) continue;
          used.add(item);
          items.push(item);
        }
        items.forEach((item, t) => writeItem(input, episode + t * inputSize, item));
        // The cue is never the last item: it must have a successor.
        const cue = rng.nextInt(length - 1);
        writeItem(input, episode + length * inputSize, items[cue]);
        input[episode + length * inputSize + bits] = 1;
        writeItem(target, episode + (length + 1) * inputSize, items[cue + 1]);
      }
      return { batchSize, timesteps, inputSize, outputSize: inputSize, length, input, target };
    },
    loss: (output, target) => sigmoidCrossEntropy(output, target),
    metric: (output, target, batch) => bitErrorRate(output, target, batch.length + 1, 1, bits),
    activate: (output: tf.Tensor3D) => tf.sigmoid(output),
  };
}
