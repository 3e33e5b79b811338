/**
 * Reading from the DNC's memory (Graves et al. 2016, Methods "Read weighting" and "Memory reading"): each read
 * head mixes its backward, forward and content weightings by its read modes π, then reads the weighted sum of
 * memory rows.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape } from '../util/assert-shape';
import { READ_MODE_COUNT } from './interface';

/**
 * w^r_h = π_h[0] · b_h + π_h[1] · f_h + π_h[2] · c^r_h, all heads in one batched op.
 *
 * @param readModes `[batch, readHeads, 3]`, rows are distributions over (backward, forward, content)
 * @param backwardWeights `[batch, readHeads, memorySize]`
 * @param forwardWeights `[batch, readHeads, memorySize]`
 * @param readContentWeights `[batch, readHeads, memorySize]`
 * @returns `[batch, readHeads, memorySize]`, in [0, 1], rows sum ≤ 1
 */
export function readWeighting(
  readModes: tf.Tensor3D,
  backwardWeights: tf.Tensor3D,
  forwardWeights: tf.Tensor3D,
  readContentWeights: tf.Tensor3D,
): tf.Tensor3D {
  assertShape('readWeighting', 'readContentWeights', readContentWeights, [null, null, null]);
  const [batch, readHeads, memorySize] = readContentWeights.shape;
  assertShape('readWeighting', 'readModes', readModes, [batch, readHeads, READ_MODE_COUNT]);
  assertShape('readWeighting', 'backwardWeights', backwardWeights, [batch, readHeads, memorySize]);
  assertShape('readWeighting', 'forwardWeights', forwardWeights, [batch, readHeads, memorySize]);
  // [batch, readHeads, mode, memorySize], mode order as in readModes.
  const byMode = tf.stack([backwardWeights, forwardWeights, readContentWeights], 2);
  return tf.sum(tf.mul(tf.expandDims(readModes, 3), byMode), 2);
}

/**
 * r_h = M_tᵀ w^r_h for every head.
 *
 * @param memory `[batch, memorySize, cellSize]`, the memory after this step's write
 * @param readWeights `[batch, readHeads, memorySize]`
 * @returns `[batch, readHeads, cellSize]`
 */
export function readVectors(memory: tf.Tensor3D, readWeights: tf.Tensor3D): tf.Tensor3D {
  assertShape('readVectors', 'memory', memory, [null, null, null]);
  const [batch, memorySize] = memory.shape;
  assertShape('readVectors', 'readWeights', readWeights, [batch, null, memorySize]);
  return tf.matMul(readWeights, memory);
}
