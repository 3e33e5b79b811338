/**
 * Memory usage of the DNC (Graves et al. 2016, Methods "Dynamic memory allocation", the usage vector u_t):
 * cells written at the previous step become used, cells read at the previous step whose read head raised its
 * free gate become free again. Follows pytorch-dnc, which — unlike DeepMind — lets the gradient flow through the
 * previous write weights here.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape } from '../util/assert-shape';

/**
 * u_t = (u_{t−1} + (1 − u_{t−1}) ⊙ (1 − (1 − w^w_{t−1}))) ⊙ ψ_t, with the retention ψ_t = Π_h (1 − f_h w^r_{t−1,h}).
 *
 * The write term is pytorch-dnc's literal `1 − prod_heads(1 − w^w)` for its single write head rather than
 * w^w itself: the two differ only in float32 rounding, and keeping the literal form reproduces its fixtures bit
 * for bit.
 *
 * @param prevUsage `[batch, memorySize]`, in [0, 1]
 * @param prevWriteWeights `[batch, memorySize]`, in [0, 1], sum ≤ 1
 * @param freeGates `[batch, readHeads]`, in [0, 1]
 * @param prevReadWeights `[batch, readHeads, memorySize]`, in [0, 1], rows sum ≤ 1
 * @returns `[batch, memorySize]`, in [0, 1]
 */
export function updateUsage(
  prevUsage: tf.Tensor2D,
  prevWriteWeights: tf.Tensor2D,
  freeGates: tf.Tensor2D,
  prevReadWeights: tf.Tensor3D,
): tf.Tensor2D {
  assertShape('updateUsage', 'prevUsage', prevUsage, [null, null]);
  const [batch, memorySize] = prevUsage.shape;
  assertShape('updateUsage', 'prevWriteWeights', prevWriteWeights, [batch, memorySize]);
  assertShape('updateUsage', 'freeGates', freeGates, [batch, null]);
  const readHeads = freeGates.shape[1];
  assertShape('updateUsage', 'prevReadWeights', prevReadWeights, [batch, readHeads, memorySize]);
  const written = tf.sub(1, tf.sub(1, prevWriteWeights));
  const usageAfterWrite = tf.add(prevUsage, tf.mul(tf.sub(1, prevUsage), written));
  const retention = tf.prod(tf.sub(1, tf.mul(tf.expandDims(freeGates, 2), prevReadWeights)), 1);
  return tf.mul(usageAfterWrite, retention);
}
