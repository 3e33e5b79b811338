/**
 * The DNC's write weighting (Graves et al. 2016, Methods "Write weighting"): the write gate g^w scales an
 * interpolation, by the allocation gate g^a, between writing to fresh cells (allocation) and writing to cells
 * that match the write key (content).
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape } from '../util/assert-shape';

/**
 * w^w_t = g^w · (g^a · a_t + (1 − g^a) · c^w_t).
 *
 * @param allocationWeights `[batch, memorySize]`, a_t in [0, 1], sum ≤ 1
 * @param writeContentWeights `[batch, memorySize]`, c^w_t in [0, 1], sum 1
 * @param allocationGate `[batch, 1]`, g^a in [0, 1]
 * @param writeGate `[batch, 1]`, g^w in [0, 1]
 * @returns `[batch, memorySize]`, in [0, 1], sum ≤ 1
 */
export function writeWeighting(
  allocationWeights: tf.Tensor2D,
  writeContentWeights: tf.Tensor2D,
  allocationGate: tf.Tensor2D,
  writeGate: tf.Tensor2D,
): tf.Tensor2D {
  assertShape('writeWeighting', 'allocationWeights', allocationWeights, [null, null]);
  const [batch, memorySize] = allocationWeights.shape;
  assertShape('writeWeighting', 'writeContentWeights', writeContentWeights, [batch, memorySize]);
  assertShape('writeWeighting', 'allocationGate', allocationGate, [batch, 1]);
  assertShape('writeWeighting', 'writeGate', writeGate, [batch, 1]);
  const interpolated = tf.add(
    tf.mul(allocationGate, allocationWeights),
    tf.mul(tf.sub(1, allocationGate), writeContentWeights),
  );
  return tf.mul(writeGate, interpolated);
}
