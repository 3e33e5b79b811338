/**
 * The differentiable part of a sparse-memory step (Rae et al. 2016, §3.2–3.6), on the visible set only: every
 * tensor here is `[batch, V, …]` with V ≪ N, so the tape — and the backward pass — costs O(V·W) per step whatever
 * N is. The host decides which cells are visible; these helpers gather them, write, read by content and follow
 * the SDNC's temporal links. Every equation the dense DNC shares is the dense mechanism's own function applied to
 * the visible set: the step calls `eraseAndWrite`, `contentWeights` (with a candidate mask) and `updatePrecedence`
 * directly, and the link update and read-mode mix below only build the visible set's masks around
 * `updateLinkMatrix`, `directionalWeights` and `readWeighting`. What is sparse-only lives here: the gathers and
 * SAM's write weighting. Rows come out of the journal by `gatherRows` and go into it by `appendToJournal` (host
 * loops, scatter-add gradients); the small selections are matrix products with one-hot matrices built on the host,
 * rather than `gather`, whose gradient needs UnsortedSegmentSum (missing on wasm) — a matMul's gradient exists on
 * every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherRows, prependRows } from '../../util/row-gather';
import { contentWeights } from '../content-addressing';
import { eraseAndWrite } from '../erase-write';
import { readWeighting } from '../read-weighting';
import { directionalWeights, offDiagonal, updateLinkMatrix, updatePrecedence } from '../temporal-linkage';
import type { SparseInterface } from './sparse-interface';
import type { StepValues } from './step-outcome';
import type { VisibleStepPlan, VisibleStepSizes } from './visible-step-types';

/**
 * A float one-hot selection built on the host: row i of `[slots.length, depth]` row-major is 1 at `slots[i]`, all
 * zero when `slots[i]` is −1. Plain values, not kernels: the step's selections are known on the host already.
 */
export function hostOneHot(slots: ArrayLike<number>, depth: number): Float32Array {
  const values = new Float32Array(slots.length * depth);
  for (let i = 0; i < slots.length; i++) if (slots[i] >= 0) values[i * depth + slots[i]] = 1;
  return values;
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
 * The next state's journal `[batch, J, W]`: the rows of `memory` (`[batch, V, W]`) at `writeSlots` (`[batch, S]`
 * int32, −1 for a zero row), newest first, followed by `journal`'s first J − S rows (the oldest S drop out).
 */
export function appendToJournal(journal: tf.Tensor3D, memory: tf.Tensor3D, writeSlots: tf.Tensor2D): tf.Tensor3D {
  return prependRows(journal, memory, writeSlots);
}

/**
 * Spread sparse per-head weights over the visible set: `[batch, R, K]` → `[batch, R, V]`, weight k of head h going
 * to the slot `selection[b·R + h, k]` picks (distinct slots per head, or none). One matrix product whose every sum
 * has at most one non-zero term, so the values (and gradients) are exactly the weights.
 *
 * @param selection `[batch·R, K, V]` one-hot rows (`hostOneHot` of the slots, −1 giving a zero row)
 */
export function spreadOverVisible(weights: tf.Tensor3D, selection: tf.Tensor3D): tf.Tensor3D {
  const [batch, heads, slots] = weights.shape;
  const spread = tf.matMul(tf.reshape(weights, [batch * heads, 1, slots]), selection);
  return tf.reshape(spread, [batch, heads, selection.shape[2]]);
}

/**
 * Pick `[batch, R, K]` values out of `[batch, R, V]` at the slots of `selection` (`[batch·R, K, V]` one-hot rows;
 * a zero row picks 0), exactly, as in `spreadOverVisible`.
 */
export function pickSlots(values: tf.Tensor3D, selection: tf.Tensor3D): tf.Tensor3D {
  const [batch, heads, visible] = values.shape;
  const picked = tf.matMul(tf.reshape(values, [batch * heads, 1, visible]), selection, false, true);
  return tf.reshape(picked, [batch, heads, selection.shape[1]]);
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

/** The tensors a visible step differentiates through (the rest of its inputs is the host's `VisibleStepPlan`). */
export interface VisibleStepTensors {
  /** `[batch, J, W]` the previous state's journal. */
  readonly journal: tf.Tensor3D;
  /** `[batch, R, K]` the previous state's top-K read weights. */
  readonly prevReadWeights: tf.Tensor3D;
  /** `[batch, P]` the previous state's kept precedence (SDNC; `[batch, 0]` for SAM). */
  readonly prevPrecedence: tf.Tensor2D;
  readonly controls: SparseInterface;
}

/** What a visible step produces; the read-back `values` are the host copies of memory, write and read weights. */
export interface VisibleStepResult {
  /** `[batch, V, W]` visible rows after the write. */
  readonly memory: tf.Tensor3D;
  /** `[batch, V]` w^W. */
  readonly writeWeights: tf.Tensor2D;
  /** `[batch, R, V]` w^R. */
  readonly readWeights: tf.Tensor3D;
  /** `[batch, R, W]` r. */
  readonly readVectors: tf.Tensor3D;
  /** SDNC: `[batch, V, V]` L_t over the visible set (the fused step gives it only when asked, off the tape). */
  readonly links: tf.Tensor3D | null;
  /** SDNC: `[batch, V]` p_t over the visible set. */
  readonly precedence: tf.Tensor2D | null;
  readonly values: StepValues;
}

/**
 * One step over the visible set as a composition of tfjs ops (the dense mechanisms' own functions on the visible
 * rows): the definition `visible-step-kernel.ts` is tested against.
 */
export function plainVisibleStep(
  sizes: VisibleStepSizes,
  plan: VisibleStepPlan,
  tensors: VisibleStepTensors,
): VisibleStepResult {
  const { batch, visible, cellSize, readHeads, sparseReads, precedenceSize } = sizes;
  const { controls } = tensors;
  const rows = gatherVisibleRows(
    tf.tensor3d(plan.hostRows, [batch, visible, cellSize]),
    tf.tensor2d(plan.journalIndex, [batch, visible], 'int32'),
    tensors.journal,
  );
  const selection = (slots: Int32Array, slotsPerRow: number) =>
    tf.tensor3d(hostOneHot(slots, visible), [slots.length / slotsPerRow, slotsPerRow, visible]);
  const prevReadWeights = spreadOverVisible(tensors.prevReadWeights, selection(plan.prevReadSlots, sparseReads));
  const leastUsed = tf.tensor2d(hostOneHot(plan.leastUsedSlots, visible), [batch, visible]);
  const writeWeights = sparseWriteWeights(prevReadWeights, leastUsed, controls.interpolationGate, controls.writeGate);
  const memory = eraseAndWrite(rows, writeWeights, controls.eraseVector, controls.writeVector);
  const candidateMask = tf.tensor3d(plan.candidateMask, [batch, readHeads, visible]);
  const content = contentWeights(memory, controls.readKeys, controls.readStrengths, candidateMask);
  let links: tf.Tensor3D | null = null;
  let precedence: tf.Tensor2D | null = null;
  let readWeights = content;
  if (controls.readModes !== null) {
    const visibleMask = tf.tensor2d(plan.visibleMask, [batch, visible]);
    const prevLinks = tf.tensor3d(plan.links, [batch, visible, visible]);
    const precedenceSlots = selection(plan.precedenceSlots, precedenceSize);
    const prevPrecedence = tf.reshape(
      spreadOverVisible(tf.reshape(tensors.prevPrecedence, [batch, 1, precedenceSize]), precedenceSlots),
      [batch, visible],
    ) as tf.Tensor2D;
    links = updateVisibleLinks(prevLinks, prevPrecedence, writeWeights, visibleMask);
    precedence = updatePrecedence(prevPrecedence, writeWeights);
    readWeights = mixReadModes(links, prevReadWeights, content, controls.readModes);
  }
  const readVectors = tf.matMul(readWeights, memory) as tf.Tensor3D;
  const values: StepValues = {
    memory: memory.dataSync() as Float32Array,
    write: writeWeights.dataSync() as Float32Array,
    read: readWeights.dataSync() as Float32Array,
  };
  return { memory, writeWeights, readWeights, readVectors, links, precedence, values };
}
