/**
 * Temporal memory linkage of the DNC (Graves et al. 2016, Methods "Temporal memory linkage"): the precedence
 * weighting p remembers where the last writes went, and the link matrix L[i, j] records how much cell i was
 * written right after cell j. Read heads follow L forward (to what was written next) or backward.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape } from '../util/assert-shape';

/**
 * L_t[i, j] = (1 − w[i] − w[j]) · L_{t−1}[i, j] + w[i] · p_{t−1}[j], then L_t[i, i] = 0.
 *
 * @param prevLinkMatrix `[batch, memorySize, memorySize]`, in [0, 1], zero diagonal
 * @param writeWeights `[batch, memorySize]`, w^w_t in [0, 1], sum ≤ 1
 * @param prevPrecedence `[batch, memorySize]`, p_{t−1} in [0, 1], sum ≤ 1
 * @param offDiagonalMask `[memorySize, memorySize]`, 1 − I; pass a cached one to avoid rebuilding it each step. The
 *   sparse memories pass `[batch, memorySize, memorySize]`: 1 − I times their visible-pair mask.
 * @returns `[batch, memorySize, memorySize]`, in [0, 1], zero diagonal (and zero wherever the mask is)
 */
export function updateLinkMatrix(
  prevLinkMatrix: tf.Tensor3D,
  writeWeights: tf.Tensor2D,
  prevPrecedence: tf.Tensor2D,
  offDiagonalMask: tf.Tensor2D | tf.Tensor3D = offDiagonal(prevLinkMatrix.shape[1]),
): tf.Tensor3D {
  assertShape('updateLinkMatrix', 'prevLinkMatrix', prevLinkMatrix, [null, null, null]);
  const [batch, memorySize] = prevLinkMatrix.shape;
  assertShape('updateLinkMatrix', 'prevLinkMatrix', prevLinkMatrix, [batch, memorySize, memorySize]);
  assertShape('updateLinkMatrix', 'writeWeights', writeWeights, [batch, memorySize]);
  assertShape('updateLinkMatrix', 'prevPrecedence', prevPrecedence, [batch, memorySize]);
  assertShape(
    'updateLinkMatrix',
    'offDiagonalMask',
    offDiagonalMask,
    offDiagonalMask.rank === 3 ? [batch, memorySize, memorySize] : [memorySize, memorySize],
  );
  const rowWeights = tf.expandDims(writeWeights, 2);
  const columnWeights = tf.expandDims(writeWeights, 1);
  const keptFraction = tf.sub(tf.sub(1, rowWeights), columnWeights);
  const newLinks = tf.mul(rowWeights, tf.expandDims(prevPrecedence, 1));
  return tf.mul(tf.add(tf.mul(keptFraction, prevLinkMatrix), newLinks), offDiagonalMask);
}

/** 1 − I of size `memorySize`, built on the host (no kernel). */
export function offDiagonal(memorySize: number): tf.Tensor2D {
  const values = new Float32Array(memorySize * memorySize).fill(1);
  for (let cell = 0; cell < memorySize; cell++) values[cell * memorySize + cell] = 0;
  return tf.tensor2d(values, [memorySize, memorySize]);
}

/**
 * p_t = (1 − Σ_n w^w_t[n]) · p_{t−1} + w^w_t.
 *
 * @param prevPrecedence `[batch, memorySize]`, in [0, 1], sum ≤ 1
 * @param writeWeights `[batch, memorySize]`, in [0, 1], sum ≤ 1
 * @returns `[batch, memorySize]`, in [0, 1], sum ≤ 1
 */
export function updatePrecedence(prevPrecedence: tf.Tensor2D, writeWeights: tf.Tensor2D): tf.Tensor2D {
  assertShape('updatePrecedence', 'prevPrecedence', prevPrecedence, [null, null]);
  assertShape('updatePrecedence', 'writeWeights', writeWeights, prevPrecedence.shape);
  return tf.add(tf.mul(tf.sub(1, tf.sum(writeWeights, 1, true)), prevPrecedence), writeWeights);
}

/** Forward and backward weightings of every read head. */
export interface DirectionalWeights {
  /** f_h = L_t w^r_{t−1,h}: `[batch, readHeads, memorySize]`, in [0, 1]. */
  readonly forwardWeights: tf.Tensor3D;
  /** b_h = L_tᵀ w^r_{t−1,h}: `[batch, readHeads, memorySize]`, in [0, 1]. */
  readonly backwardWeights: tf.Tensor3D;
}

/**
 * Follow the links from each head's previous read position, all heads at once.
 *
 * @param linkMatrix `[batch, memorySize, memorySize]`, the updated L_t
 * @param prevReadWeights `[batch, readHeads, memorySize]`, w^r_{t−1}
 */
export function directionalWeights(linkMatrix: tf.Tensor3D, prevReadWeights: tf.Tensor3D): DirectionalWeights {
  assertShape('directionalWeights', 'linkMatrix', linkMatrix, [null, null, null]);
  const [batch, memorySize] = linkMatrix.shape;
  assertShape('directionalWeights', 'prevReadWeights', prevReadWeights, [batch, null, memorySize]);
  return {
    // f[h, i] = Σ_j L[i, j] w[h, j]  (row-vector form: w Lᵀ)
    forwardWeights: tf.matMul(prevReadWeights, linkMatrix, false, true),
    // b[h, j] = Σ_i w[h, i] L[i, j]  (w L)
    backwardWeights: tf.matMul(prevReadWeights, linkMatrix),
  };
}
