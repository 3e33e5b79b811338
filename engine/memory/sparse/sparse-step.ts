/**
 * The differentiable part of a sparse-memory step (Rae et al. 2016, §3.2–3.6), on the visible set only: every
 * tensor here is `[batch, V, …]` with V ≪ N, so the tape — and the backward pass — costs O(V·W) per step whatever
 * N is. The host decides which cells are visible; these helpers gather them, write, read by content and follow
 * the SDNC's temporal links. Every equation the dense DNC shares is the dense mechanism's own function applied to
 * the visible set: the step calls `eraseAndWrite`, `contentWeights` (with a candidate mask) and `updatePrecedence`
 * directly, and the link update and read-mode mix below only build the visible set's masks around
 * `updateLinkMatrix`, `directionalWeights` and `readWeighting`. What is sparse-only lives here: the gathers and
 * SAM's write weighting. Rows come out of the journal by `gatherRows` (host loops, scatter-add gradient); the
 * small selections use one-hot matrix products rather than `gather`, whose gradient needs UnsortedSegmentSum
 * (missing on wasm) — a matMul's gradient exists on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherRows } from '../../util/row-gather';
import { readWeighting } from '../read-weighting';
import { directionalWeights, offDiagonal, updateLinkMatrix } from '../temporal-linkage';

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
  return tf.add(hostRows, gatherRows(journal, journalIndex));
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

/**
 * The SDNC's link update on the visible set: the dense DNC's L[i,j] = ((1 − w_i − w_j)·L_{t−1}[i,j] + w_i·p_{t−1}[j])
 * (`temporal-linkage.ts`) for visible i ≠ j, `[batch, V, V]` in [0, 1], zero diagonal: its mask is 1 − I times the
 * visible-pair mask (padding slots get no links).
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
  const pairMask = tf.mul(tf.expandDims(visibleMask, 2), tf.expandDims(visibleMask, 1));
  const mask = tf.mul(offDiagonal(prevLinks.shape[1]), pairMask) as tf.Tensor3D;
  return updateLinkMatrix(prevLinks, writeWeights, prevPrecedence, mask);
}

/**
 * SDNC read weights: π_b·b + π_f·f + π_c·c per head, with f = L·w^R_{t−1} and b = Lᵀ·w^R_{t−1} over the visible
 * set — the dense DNC's directional weights and read-mode mix (`temporal-linkage.ts`, `read-weighting.ts`).
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
  const { forwardWeights, backwardWeights } = directionalWeights(links, prevReadWeights);
  return readWeighting(readModes, backwardWeights, forwardWeights, content);
}
