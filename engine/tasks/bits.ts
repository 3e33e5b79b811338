/**
 * Shared pieces of the bit-sequence tasks (copy, repeat-copy, associative recall): pytorch-dnc's loss — binary
 * cross-entropy on the logits over the whole episode — and the bit error rate over the answer window, the metric
 * Graves et al. report for these tasks.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Mean binary cross-entropy of `logits [batch, time, channel]` against `targets` in {0, 1}, averaged over every
 * element (PyTorch's `binary_cross_entropy_with_logits`). Written in the overflow-free form
 * max(x, 0) − x·z + log(1 + e^−|x|).
 */
export function sigmoidCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() =>
    tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))),
  );
}

/**
 * Fraction of wrong bits in the window `[startStep, startStep + steps)` × `[0, bitChannels)` of
 * `logits [batch, time, channel]`: a bit reads as 1 when its logit is positive (sigmoid > 0.5).
 */
export function bitErrorRate(
  logits: tf.Tensor3D,
  targets: tf.Tensor3D,
  startStep: number,
  steps: number,
  bitChannels: number,
): tf.Scalar {
  const [batch, time] = logits.shape;
  if (startStep < 0 || steps <= 0 || startStep + steps > time) {
    throw new Error(`bitErrorRate: window [${startStep}, ${startStep + steps}) outside ${time} timesteps`);
  }
  return tf.tidy(() => {
    const predicted = tf.greater(tf.slice(logits, [0, startStep, 0], [batch, steps, bitChannels]), 0);
    const expected = tf.greater(tf.slice(targets, [0, startStep, 0], [batch, steps, bitChannels]), 0.5);
    return tf.mean(tf.cast(tf.notEqual(predicted, expected), 'float32'));
  });
}

/** Check a batch request: positive integer batch size and a length within the task's bounds. */
export function checkBatchRequest(task: string, batchSize: number, length: number, minLength: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`${task}.generate: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(length) || length < minLength) {
    throw new Error(`${task}.generate: length must be an integer >= ${minLength}, got ${length}`);
  }
}

/** Check a task's channel count: at least one data channel besides the marker. */
export function checkInputSize(task: string, inputSize: number, minimum = 2): void {
  if (!Number.isInteger(inputSize) || inputSize < minimum) {
    throw new Error(`${task}: inputSize must be an integer >= ${minimum}, got ${inputSize}`);
  }
}
