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

/** Subtracted from the scores of cells outside a head's candidates, so softmax gives them exactly 0 (float32). */
export const MASK_PENALTY = 1e9;

/**
 * Content weighting C(M, k, β) = softmax over cells of β_h · D(k_h, M_n), for all heads in one op. The sparse
 * memories (Rae et al. 2016) pass `candidateMask`: the softmax then runs over each head's candidate cells only;
 * with every cell a candidate it is the dense weighting.
 *
 * @param memory `[batch, memorySize, cellSize]`
 * @param keys `[batch, heads, cellSize]`
 * @param strengths `[batch, heads]`, β in (0, ∞)
 * @param candidateMask `[batch, heads, memorySize]`, 1 for a candidate cell, 0 elsewhere (default: all 1)
 * @returns `[batch, heads, memorySize]`, each row in [0, 1] and summing to 1, 0 outside the candidates
 */
export function contentWeights(
  memory: tf.Tensor3D,
  keys: tf.Tensor3D,
  strengths: tf.Tensor2D,
  candidateMask?: tf.Tensor3D,
): tf.Tensor3D {
  const [batch, memorySize] = memory.shape;
  const heads = keys.shape[1];
  assertShape('contentWeights', 'strengths', strengths, [batch, heads]);
  const scores = tf.mul(cosineSimilarity(memory, keys), tf.expandDims(strengths, 2));
  if (candidateMask === undefined) return tf.softmax(scores) as tf.Tensor3D;
  assertShape('contentWeights', 'candidateMask', candidateMask, [batch, heads, memorySize]);
  return tf.softmax(tf.add(scores, tf.mul(tf.sub(candidateMask, 1), MASK_PENALTY))) as tf.Tensor3D;
}
