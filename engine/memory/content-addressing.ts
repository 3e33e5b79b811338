/**
 * Content-based addressing of the DNC (Graves et al. 2016, Methods "Content-based addressing"): a head's
 * weighting over cells is a softmax of its key's cosine similarity to every memory row, sharpened by its key
 * strength β. Used by the write head (with the previous memory) and by all read heads at once (with the new
 * memory). The cosine follows pytorch-dnc: ⟨M_n, k⟩ / (‖M_n‖·‖k‖ + 1e−6).
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape } from '../util/assert-shape';
import { COSINE_EPSILON } from '../util/constants';
import { safeNorm } from '../util/vector-norm';

/**
 * Cosine similarity of every key with every memory row, D(k_h, M_n).
 *
 * @param memory `[batch, memorySize, cellSize]`
 * @param keys `[batch, heads, cellSize]`
 * @returns `[batch, heads, memorySize]`, in [−1, 1]; 0 for an all-zero row or key
 */
export function cosineSimilarity(memory: tf.Tensor3D, keys: tf.Tensor3D): tf.Tensor3D {
  assertShape('cosineSimilarity', 'memory', memory, [null, null, null]);
  const [batch, , cellSize] = memory.shape;
  assertShape('cosineSimilarity', 'keys', keys, [batch, null, cellSize]);
  const dot = tf.matMul(keys, memory, false, true);
  // ‖k_h‖·‖M_n‖ for every pair, by broadcasting [batch, heads, 1] against [batch, 1, memorySize].
  const normProducts = tf.mul(tf.expandDims(safeNorm(keys), 2), tf.expandDims(safeNorm(memory), 1));
  return tf.div(dot, tf.add(normProducts, COSINE_EPSILON));
}

/**
 * Content weighting C(M, k, β) = softmax over cells of β_h · D(k_h, M_n), for all heads in one op.
 *
 * @param memory `[batch, memorySize, cellSize]`
 * @param keys `[batch, heads, cellSize]`
 * @param strengths `[batch, heads]`, β in (0, ∞)
 * @returns `[batch, heads, memorySize]`, each row in [0, 1] and summing to 1
 */
export function contentWeights(memory: tf.Tensor3D, keys: tf.Tensor3D, strengths: tf.Tensor2D): tf.Tensor3D {
  const [batch] = memory.shape;
  const heads = keys.shape[1];
  assertShape('contentWeights', 'strengths', strengths, [batch, heads]);
  return tf.softmax(tf.mul(cosineSimilarity(memory, keys), tf.expandDims(strengths, 2)));
}
