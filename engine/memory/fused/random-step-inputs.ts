/**
 * Seeded random inputs for one dense memory step (Graves et al. 2016, Methods "Memory addressing"), valid by
 * construction: weightings summing below 1, a zero link diagonal, read modes that are distributions, and usages
 * spread at least 0.9/N apart so no allocation tie or sort-order flip occurs under small perturbations. Shared by
 * the fused kernel's gradient tests, its comparison with the plain path and `bench/memory-step.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseMemoryState } from '../dense-step';
import type { MemoryInterface } from '../interface';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepInputShapes,
  type DenseStepArrays,
  type DenseStepInputName,
  type DenseStepSizes,
} from './dense-step-layout';

/** Deterministic uniform [0, 1) generator (mulberry32) so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normalizeRows(values: Float64Array, rowLength: number, total: number): void {
  for (let start = 0; start < values.length; start += rowLength) {
    let sum = 0;
    for (let k = 0; k < rowLength; k++) sum += values[start + k];
    for (let k = 0; k < rowLength; k++) values[start + k] *= total / sum;
  }
}

/** Random valid inputs: weightings that sum below 1, distinct usages (no allocation ties), zero link diagonal. */
export function randomStepInputs(sizes: DenseStepSizes, seed: number): DenseStepArrays<Float64Array> {
  const random = seededRandom(seed);
  const shapes = denseStepInputShapes(sizes);
  const arrays = Object.fromEntries(
    DENSE_STEP_INPUT_NAMES.map((name) => {
      const size = sizes.batch * shapes[name].reduce((a, b) => a * b, 1);
      return [name, new Float64Array(size)];
    }),
  ) as Record<DenseStepInputName, Float64Array>;
  const fill = (name: DenseStepInputName, low: number, high: number) => {
    const array = arrays[name];
    for (let i = 0; i < array.length; i++) array[i] = low + (high - low) * random();
  };
  fill('readKeys', -0.9, 0.9);
  fill('writeKey', -0.9, 0.9);
  fill('writeVector', -0.9, 0.9);
  fill('readStrengths', 0.3, 3);
  fill('writeStrength', 0.3, 3);
  fill('eraseVector', 0.05, 0.95);
  fill('freeGates', 0.05, 0.95);
  fill('allocationGate', 0.2, 0.8);
  fill('writeGate', 0.3, 0.95);
  fill('readModes', 0.1, 1);
  normalizeRows(arrays.readModes, 3, 1);
  fill('prevMemory', -0.8, 0.8);
  fill('prevLinkMatrix', 0, 1);
  normalizeRows(arrays.prevLinkMatrix, sizes.memorySize, 0.7);
  const links = arrays.prevLinkMatrix;
  const { memorySize: cells } = sizes;
  for (let b = 0; b < sizes.batch; b++) for (let n = 0; n < cells; n++) links[(b * cells + n) * cells + n] = 0;
  fill('prevPrecedence', 0, 1);
  normalizeRows(arrays.prevPrecedence, cells, 0.8);
  fill('prevReadWeights', 0, 1);
  normalizeRows(arrays.prevReadWeights, cells, 0.9);
  fill('prevWriteWeights', 0, 1);
  normalizeRows(arrays.prevWriteWeights, cells, 0.85);
  // Usages spread evenly, shuffled, so no two are within 1/(2N) of each other: the sort order cannot flip under ±h.
  for (let b = 0; b < sizes.batch; b++) {
    const levels = Array.from({ length: cells }, (_, n) => 0.05 + (0.9 * (n + 0.5)) / cells);
    for (let n = cells - 1; n > 0; n--) {
      const k = Math.floor(random() * (n + 1));
      [levels[n], levels[k]] = [levels[k], levels[n]];
    }
    arrays.prevUsage.set(levels, b * cells);
  }
  return arrays;
}

/** Step inputs (in `DENSE_STEP_INPUT_NAMES` order) as the plain path's arguments; per-row scalars as [batch, 1]. */
export function stepArguments(
  xs: readonly tf.Tensor[],
  sizes: DenseStepSizes,
): { parsed: MemoryInterface; prev: DenseMemoryState } {
  const input = (name: DenseStepInputName) => xs[DENSE_STEP_INPUT_NAMES.indexOf(name)];
  const column = (name: DenseStepInputName) => tf.reshape<tf.Rank.R2>(input(name), [sizes.batch, 1]);
  return {
    parsed: {
      readKeys: input('readKeys') as tf.Tensor3D,
      readStrengths: input('readStrengths') as tf.Tensor2D,
      writeKey: input('writeKey') as tf.Tensor2D,
      writeStrength: column('writeStrength'),
      eraseVector: input('eraseVector') as tf.Tensor2D,
      writeVector: input('writeVector') as tf.Tensor2D,
      freeGates: input('freeGates') as tf.Tensor2D,
      allocationGate: column('allocationGate'),
      writeGate: column('writeGate'),
      readModes: input('readModes') as tf.Tensor3D,
    },
    prev: {
      memory: input('prevMemory') as tf.Tensor3D,
      linkMatrix: input('prevLinkMatrix') as tf.Tensor3D,
      precedence: input('prevPrecedence') as tf.Tensor2D,
      readWeights: input('prevReadWeights') as tf.Tensor3D,
      writeWeights: input('prevWriteWeights') as tf.Tensor2D,
      usage: input('prevUsage') as tf.Tensor2D,
    },
  };
}
