/**
 * The differentiable part of a sparse-memory step (Rae et al. 2016, §3.2–3.6), on the visible set only: every
 * tensor here is `[batch, V, …]` with V ≪ N, so the tape — and the backward pass — costs O(V·W) per step whatever
 * N is. The host decides which cells are visible; these helpers gather them, write, read by content and follow
 * the SDNC's temporal links. Selections use one-hot matrix products rather than `gather`, whose gradient needs
 * UnsortedSegmentSum (missing on wasm) — a matMul's gradient exists on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { COSINE_EPSILON } from '../../util/constants';
import { safeNorm } from '../../util/vector-norm';

/** Subtracted from the scores of cells outside a head's candidates so softmax gives them exactly 0. */
const MASK_PENALTY = 1e9;

/** `[...indices.shape, depth]` float one-hot; −1 gives an all-zero row (cast apart: wasm's float oneHot is wrong). */
export function oneHotFloat(indices: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(indices, depth), 'float32');
}

/**
 * Visible rows `[batch, V, W]`: host rows (constants) plus the journal's differentiable copies of rows written
 * in recent steps, so gradients from this step's reads reach the writes that made those rows.
 *
 * @param hostRows `[batch, V, W]`, zero where `journalIndex` ≥ 0
 * @param journalIndex `[batch, V]` int32, −1 for host rows
 * @param journal `[batch, J, W]`
 */
export function gatherVisibleRows(hostRows: tf.Tensor3D, journalIndex: tf.Tensor2D, journal: tf.Tensor3D): tf.Tensor3D {
  const select = oneHotFloat(journalIndex, journal.shape[1]) as tf.Tensor3D;
  return tf.add(hostRows, tf.matMul(select, journal));
}

/**
 * Spread sparse per-head weights over the visible set: `[batch, R, K]` at slots `[batch, R, K]` → `[batch, R, V]`
 * (slot −1 contributes nothing).
 */
export function spreadOverVisible(weights: tf.Tensor3D, slots: tf.Tensor3D, visibleSize: number): tf.Tensor3D {
  return tf.sum(tf.mul(tf.expandDims(weights, 3), oneHotFloat(slots, visibleSize)), 2);
}

/** Pick `[batch, R, K]` values at `slots` out of `[batch, R, V]`. */
export function pickSlots(values: tf.Tensor3D, slots: tf.Tensor3D): tf.Tensor3D {
  return tf.sum(tf.mul(tf.expandDims(values, 2), oneHotFloat(slots, values.shape[2])), 3);
}

/**
 * SAM's write weighting w^W = α·(γ·w̄^R_{t−1} + (1 − γ)·I^U), `[batch, V]`, in [0, 1], sum ≤ 1. w̄^R is the mean of
 * the heads' previous read weights (per-head weights are kept apart, never multiplied together).
 *
 * @param prevReadWeights `[batch, R, V]`; @param leastUsed `[batch, V]` one-hot; gates `[batch, 1]`
 */
export function sparseWriteWeights(
  prevReadWeights: tf.Tensor3D,
  leastUsed: tf.Tensor2D,
  interpolationGate: tf.Tensor2D,
  writeGate: tf.Tensor2D,
): tf.Tensor2D {
  const previous = tf.mean(prevReadWeights, 1);
  const mixed = tf.add(tf.mul(interpolationGate, previous), tf.mul(tf.sub(1, interpolationGate), leastUsed));
  return tf.mul(writeGate, mixed);
}

/** M ← M ⊙ (1 − w eᵀ) + w aᵀ on the visible rows `[batch, V, W]`. */
export function eraseAndWrite(
  rows: tf.Tensor3D,
  writeWeights: tf.Tensor2D,
  eraseVector: tf.Tensor2D,
  writeVector: tf.Tensor2D,
): tf.Tensor3D {
  const weights = tf.expandDims(writeWeights, 2);
  const erase = tf.mul(weights, tf.expandDims(eraseVector, 1));
  return tf.add(tf.mul(rows, tf.sub(1, erase)), tf.mul(weights, tf.expandDims(writeVector, 1)));
}

/**
 * Content weighting restricted to each head's candidates: softmax over {candidates} of β·cos(M_i, k), `[batch, R, V]`,
 * rows sum to 1. With every cell a candidate this is exactly the dense DNC's content read.
 *
 * @param rows `[batch, V, W]`; @param keys `[batch, R, W]`; @param strengths `[batch, R]`; @param candidateMask
 * `[batch, R, V]`
 */
export function maskedContentWeights(
  rows: tf.Tensor3D,
  keys: tf.Tensor3D,
  strengths: tf.Tensor2D,
  candidateMask: tf.Tensor3D,
): tf.Tensor3D {
  const dot = tf.matMul(keys, rows, false, true);
  const norms = tf.mul(tf.expandDims(safeNorm(keys), 2), tf.expandDims(safeNorm(rows), 1));
  const similarity = tf.div(dot, tf.add(norms, COSINE_EPSILON));
  const scores = tf.add(
    tf.mul(similarity, tf.expandDims(strengths, 2)),
    tf.mul(tf.sub(candidateMask, 1), MASK_PENALTY),
  );
  return tf.softmax(scores) as tf.Tensor3D;
}

/**
 * The SDNC's link update on the visible set: L[i,j] = ((1 − w_i − w_j)·L_{t−1}[i,j] + w_i·p_{t−1}[j]) for visible
 * i ≠ j, `[batch, V, V]` in [0, 1], zero diagonal (masked with 1 − I, not I).
 *
 * @param prevLinks `[batch, V, V]`; @param prevPrecedence `[batch, V]`; @param writeWeights `[batch, V]`; @param
 * visibleMask `[batch, V]`
 */
export function updateVisibleLinks(
  prevLinks: tf.Tensor3D,
  prevPrecedence: tf.Tensor2D,
  writeWeights: tf.Tensor2D,
  visibleMask: tf.Tensor2D,
): tf.Tensor3D {
  const visibleSize = prevLinks.shape[1];
  const rowWrite = tf.expandDims(writeWeights, 2);
  const columnWrite = tf.expandDims(writeWeights, 1);
  const decayed = tf.mul(tf.sub(tf.sub(1, rowWrite), columnWrite), prevLinks);
  const added = tf.mul(rowWrite, tf.expandDims(prevPrecedence, 1));
  const offDiagonal = tf.sub(1, tf.eye(visibleSize));
  const pairMask = tf.mul(tf.expandDims(visibleMask, 2), tf.expandDims(visibleMask, 1));
  return tf.mul(tf.add(decayed, added), tf.mul(offDiagonal, pairMask));
}

/**
 * The precedence update p_t = (1 − Σ_i w_i)·p_{t−1} + w_t on the visible set, `[batch, V]`, sum ≤ 1 — from the
 * write weights (pytorch-dnc's SDNC uses the read weights here).
 *
 * @param prevPrecedence `[batch, V]`; @param writeWeights `[batch, V]`
 */
export function updatePrecedence(prevPrecedence: tf.Tensor2D, writeWeights: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.mul(tf.sub(1, tf.sum(writeWeights, 1, true)), prevPrecedence), writeWeights);
}

/**
 * SDNC read weights: π_b·b + π_f·f + π_c·c per head, with f = L·w^R_{t−1} and b = Lᵀ·w^R_{t−1} over the visible set.
 *
 * @param links `[batch, V, V]`; @param prevReadWeights `[batch, R, V]`; @param content `[batch, R, V]`;
 * @param readModes `[batch, R, 3]` (backward, forward, content)
 * @returns `[batch, R, V]`, rows sum ≤ 1
 */
export function mixReadModes(
  links: tf.Tensor3D,
  prevReadWeights: tf.Tensor3D,
  content: tf.Tensor3D,
  readModes: tf.Tensor3D,
): tf.Tensor3D {
  const forward = tf.matMul(prevReadWeights, links, false, true);
  const backward = tf.matMul(prevReadWeights, links);
  const [backwardMode, forwardMode, contentMode] = tf.split(readModes, 3, 2);
  return tf.addN([
    tf.mul(backwardMode, backward),
    tf.mul(forwardMode, forward),
    tf.mul(contentMode, content),
  ]) as tf.Tensor3D;
}
