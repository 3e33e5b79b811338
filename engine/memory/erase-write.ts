/**
 * Writing to the DNC's memory (Graves et al. 2016, Methods "Memory writing"): each cell is partly erased, in
 * proportion to its write weight and the erase vector, and then receives the write vector in proportion to its
 * write weight.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape } from '../util/assert-shape';

/**
 * M_t = M_{t−1} ⊙ (1 − w^w eᵀ) + w^w vᵀ, with the outer products done by broadcasting.
 *
 * @param prevMemory `[batch, memorySize, cellSize]`
 * @param writeWeights `[batch, memorySize]`, in [0, 1], sum ≤ 1
 * @param eraseVector `[batch, cellSize]`, in [0, 1]
 * @param writeVector `[batch, cellSize]`
 * @returns `[batch, memorySize, cellSize]`
 */
export function eraseAndWrite(
  prevMemory: tf.Tensor3D,
  writeWeights: tf.Tensor2D,
  eraseVector: tf.Tensor2D,
  writeVector: tf.Tensor2D,
): tf.Tensor3D {
  assertShape('eraseAndWrite', 'prevMemory', prevMemory, [null, null, null]);
  const [batch, memorySize, cellSize] = prevMemory.shape;
  assertShape('eraseAndWrite', 'writeWeights', writeWeights, [batch, memorySize]);
  assertShape('eraseAndWrite', 'eraseVector', eraseVector, [batch, cellSize]);
  assertShape('eraseAndWrite', 'writeVector', writeVector, [batch, cellSize]);
  const cellWeights = tf.expandDims(writeWeights, 2);
  const kept = tf.sub(1, tf.mul(cellWeights, tf.expandDims(eraseVector, 1)));
  return tf.add(tf.mul(prevMemory, kept), tf.mul(cellWeights, tf.expandDims(writeVector, 1)));
}
