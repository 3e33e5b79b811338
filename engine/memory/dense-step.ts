/**
 * One step of the DNC's dense memory (Graves et al. 2016, Methods, "Memory addressing" as a whole), composed
 * from the mechanism files in the order pytorch-dnc 2.0 runs them: usage, write content weights, allocation,
 * write weights, erase/write, links, precedence; then read content weights on the new memory, directional
 * weights on the new links from the previous read weights, read weights and read vectors.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape } from '../util/assert-shape';
import { allocationWeights as computeAllocation } from './allocation';
import { contentWeights } from './content-addressing';
import { eraseAndWrite } from './erase-write';
import type { MemoryInterface } from './interface';
import { READ_MODE_COUNT } from './interface';
import { readVectors as computeReadVectors, readWeighting } from './read-weighting';
import { directionalWeights, updateLinkMatrix, updatePrecedence } from './temporal-linkage';
import type { MemoryState } from './types';
import { updateUsage } from './usage';
import { writeWeighting } from './write-weighting';

/** The dense memory's state for a whole batch, one write head. Immutable; the caller owns and disposes it. */
export interface DenseMemoryState extends MemoryState {
  /** M: `[batch, memorySize, cellSize]`. */
  readonly memory: tf.Tensor3D;
  /** L: `[batch, memorySize, memorySize]`, in [0, 1], zero diagonal; L[i, j]: i written right after j. */
  readonly linkMatrix: tf.Tensor3D;
  /** p: `[batch, memorySize]`, in [0, 1], sum ≤ 1. */
  readonly precedence: tf.Tensor2D;
  /** w^r: `[batch, readHeads, memorySize]`, in [0, 1], rows sum ≤ 1. */
  readonly readWeights: tf.Tensor3D;
  /** w^w: `[batch, memorySize]`, in [0, 1], sum ≤ 1. */
  readonly writeWeights: tf.Tensor2D;
  /** u: `[batch, memorySize]`, in [0, 1]. */
  readonly usage: tf.Tensor2D;
}

/** Everything one dense step computed: the new state, the read vectors and every intermediate weighting. */
export interface DenseStepTrace {
  readonly state: DenseMemoryState;
  /** r_t: `[batch, readHeads, cellSize]`. */
  readonly readVectors: tf.Tensor3D;
  /** û: `[batch, memorySize]`, the usage clamped to [δ, 1] for the allocation sort. */
  readonly clampedUsage: tf.Tensor2D;
  /** φ: `[batch, memorySize]` int32, cells by ascending usage. */
  readonly sortOrder: tf.Tensor2D;
  /** a_t: `[batch, memorySize]`. */
  readonly allocationWeights: tf.Tensor2D;
  /** c^w_t: `[batch, memorySize]`, from the previous memory. */
  readonly writeContentWeights: tf.Tensor2D;
  /** c^r_t: `[batch, readHeads, memorySize]`, from the new memory. */
  readonly readContentWeights: tf.Tensor3D;
  /** f_t: `[batch, readHeads, memorySize]`. */
  readonly forwardWeights: tf.Tensor3D;
  /** b_t: `[batch, readHeads, memorySize]`. */
  readonly backwardWeights: tf.Tensor3D;
}

/** Options of one dense step. */
export interface DenseStepOptions {
  /** `[batch, memorySize]` int32: use this free-list order instead of sorting (fixture replay of tied usages). */
  readonly allocationSortOrder?: tf.Tensor2D;
  /** `[memorySize, memorySize]`, 1 − I, cached by the caller. */
  readonly offDiagonalMask?: tf.Tensor2D;
}

/** Check a state's six tensors against `[batch, N, W]`-style shapes; errors name the field. */
export function assertDenseState(
  fn: string,
  state: DenseMemoryState,
  batch: number,
  memorySize: number,
  cellSize: number,
  readHeads: number,
): void {
  assertShape(fn, 'prev.memory', state.memory, [batch, memorySize, cellSize]);
  assertShape(fn, 'prev.linkMatrix', state.linkMatrix, [batch, memorySize, memorySize]);
  assertShape(fn, 'prev.precedence', state.precedence, [batch, memorySize]);
  assertShape(fn, 'prev.readWeights', state.readWeights, [batch, readHeads, memorySize]);
  assertShape(fn, 'prev.writeWeights', state.writeWeights, [batch, memorySize]);
  assertShape(fn, 'prev.usage', state.usage, [batch, memorySize]);
}

/**
 * One pure memory step. Allocates its intermediates in the current scope: wrap it in `tf.tidy` and keep what
 * you need.
 *
 * @param prev the state after the previous step
 * @param controls the parsed interface of this step (`parseInterface`)
 */
export function denseMemoryStep(
  prev: DenseMemoryState,
  controls: MemoryInterface,
  options: DenseStepOptions = {},
): DenseStepTrace {
  const [batch, memorySize, cellSize] = prev.memory.shape;
  const readHeads = prev.readWeights.shape[1];
  assertDenseState('denseMemoryStep', prev, batch, memorySize, cellSize, readHeads);
  assertShape('denseMemoryStep', 'controls.readModes', controls.readModes, [batch, readHeads, READ_MODE_COUNT]);
  assertShape('denseMemoryStep', 'controls.writeKey', controls.writeKey, [batch, cellSize]);

  const usage = updateUsage(prev.usage, prev.writeWeights, controls.freeGates, prev.readWeights);
  const writeContent3d = contentWeights(prev.memory, tf.expandDims(controls.writeKey, 1), controls.writeStrength);
  const writeContentWeights: tf.Tensor2D = tf.reshape(writeContent3d, [batch, memorySize]);
  const allocation = computeAllocation(usage, options.allocationSortOrder);
  const writeWeights = writeWeighting(
    allocation.allocationWeights,
    writeContentWeights,
    controls.allocationGate,
    controls.writeGate,
  );
  const memory = eraseAndWrite(prev.memory, writeWeights, controls.eraseVector, controls.writeVector);
  const linkMatrix = updateLinkMatrix(prev.linkMatrix, writeWeights, prev.precedence, options.offDiagonalMask);
  const precedence = updatePrecedence(prev.precedence, writeWeights);

  const readContentWeights = contentWeights(memory, controls.readKeys, controls.readStrengths);
  const { forwardWeights, backwardWeights } = directionalWeights(linkMatrix, prev.readWeights);
  const readWeights = readWeighting(controls.readModes, backwardWeights, forwardWeights, readContentWeights);
  const readVectors = computeReadVectors(memory, readWeights);

  return {
    state: { memory, linkMatrix, precedence, readWeights, writeWeights, usage },
    readVectors,
    clampedUsage: allocation.clampedUsage,
    sortOrder: allocation.sortOrder,
    allocationWeights: allocation.allocationWeights,
    writeContentWeights,
    readContentWeights,
    forwardWeights,
    backwardWeights,
  };
}
