/**
 * Test helpers for the WebAssembly SIMD copies of the fused dense step's loops (`link-pass-simd.test.ts`,
 * `memory-rows-simd.test.ts`): one seeded step, forward and backward, and a comparison of two runs' outputs,
 * temporal weightings and all 16 input gradients, each within a tolerance of its array's scale.
 */
import assert from 'node:assert/strict';
import { denseStepForward } from './dense-step-kernel';
import { denseStepBackward } from './dense-step-kernel-backward';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepArrays,
  densePackedLayout,
  type DenseStepArrays,
  type DenseStepSizes,
  type FloatArray,
} from './dense-step-layout';
import { randomStepInputs, seededRandom } from './random-step-inputs';

/**
 * Float32 arithmetic in a different order (four lanes, float32 accumulators, sums over ≤ 67 terms) against the
 * JavaScript kernel's doubles rounded to float32: every element within 1e-5 of the array's largest magnitude. A
 * gradient element can be a difference of larger terms, so its error is bounded relative to the array's scale,
 * not its own value.
 */
export const RELATIVE_TOLERANCE = 1e-5;

export interface StepResult {
  readonly packed: FloatArray;
  readonly forwardWeights: Float64Array;
  readonly backwardWeights: Float64Array;
  readonly gradients: DenseStepArrays;
}

/**
 * One step of these sizes from seeded inputs and a seeded dLoss/d(packed), forward and backward, on float32 arrays
 * (the engine's), or on float64 arrays holding the same float32 values (`reference`: the JavaScript loops in doubles).
 */
export function seededStep(sizes: DenseStepSizes, seed: number, reference = false): StepResult {
  const make = (values: ArrayLike<number>): FloatArray =>
    reference ? Float64Array.from(Float32Array.from(values)) : Float32Array.from(values);
  const values = randomStepInputs(sizes, seed);
  const inputs = denseStepArrays(DENSE_STEP_INPUT_NAMES.map((name) => make(values[name])));
  const layout = densePackedLayout(sizes);
  const packed = make(new Float32Array(layout.size));
  const tape = denseStepForward(sizes, inputs, packed);
  const random = seededRandom(seed + 99);
  const packedGradient = make(Float32Array.from({ length: layout.size }, () => random() * 2 - 1));
  const gradients = denseStepArrays(DENSE_STEP_INPUT_NAMES.map((name) => make(new Float32Array(inputs[name].length))));
  denseStepBackward(sizes, inputs, packed.slice(0, layout.linkMatrix), tape, packedGradient, gradients);
  return { packed, forwardWeights: tape.forwardWeights, backwardWeights: tape.backwardWeights, gradients };
}

/** Largest |simd − js| over the array, as a fraction of the array's largest |js| (0 for an all-zero array). */
export function scaledError(simd: ArrayLike<number>, js: ArrayLike<number>): number {
  let scale = 0;
  let error = 0;
  for (let i = 0; i < js.length; i++) {
    scale = Math.max(scale, Math.abs(js[i]));
    error = Math.max(error, Math.abs(simd[i] - js[i]));
  }
  return scale === 0 ? error : error / scale;
}

/**
 * Asserts every packed output block, f, b and every input gradient of `simd` within `tolerance` of `js`'s
 * scale and finite; returns the largest scaled error seen.
 */
export function assertStepsClose(
  simd: StepResult,
  js: StepResult,
  sizes: DenseStepSizes,
  tolerance = RELATIVE_TOLERANCE,
): number {
  const layout = densePackedLayout(sizes);
  const blocks = layout.blocks.map((block): [string, ArrayLike<number>, ArrayLike<number>] => {
    const end = block.offset + sizes.batch * block.rowSize;
    return [`output ${block.name}`, simd.packed.subarray(block.offset, end), js.packed.subarray(block.offset, end)];
  });
  const checks: [string, ArrayLike<number>, ArrayLike<number>][] = [
    ...blocks,
    ['forward weights f', simd.forwardWeights, js.forwardWeights],
    ['backward weights b', simd.backwardWeights, js.backwardWeights],
    ...DENSE_STEP_INPUT_NAMES.map((name): [string, ArrayLike<number>, ArrayLike<number>] => [
      `d loss / d ${name}`,
      simd.gradients[name],
      js.gradients[name],
    ]),
  ];
  let largest = 0;
  for (const [what, simdValues, jsValues] of checks) {
    assert.equal(simdValues.length, jsValues.length, what);
    for (let i = 0; i < simdValues.length; i++) assert.ok(Number.isFinite(simdValues[i]), `${what}[${i}] finite`);
    const error = scaledError(simdValues, jsValues);
    assert.ok(error <= tolerance, `${what}: SIMD differs from the JavaScript loops by ${error} of the array's scale`);
    largest = Math.max(largest, error);
  }
  return largest;
}
