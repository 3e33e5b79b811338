/**
 * Backward of content addressing in the fused dense memory step (Graves et al. 2016, Methods: "Content-based
 * addressing"), the reverse of `dense-step-content.ts`: gradients through the softmax of β·cos(M_n, k) and through
 * both norms of the cosine (a zero norm contributes no gradient, as torch's norm backward does), for the read keys
 * over the new memory (step 8) and the write key over the previous memory (step 2) of `denseStepBackward`.
 */
import * as constants from '../../util/constants';
import type { DenseRowOffsets, DenseStepArrays, FloatArray } from './dense-step-layout';
import type { DenseStepTape } from './dense-step-tape';
import type { MemoryRowsBackward } from './memory-rows-simd-backward';

// A local copy: tsx compiles an imported binding to a getter call, and this is read in the innermost loops
// (about 5 % of the kernel's time at B 100, N 16, W 20, R 4).
const COSINE_EPSILON = constants.COSINE_EPSILON;

/**
 * The per-cell part of the backward of softmax_n(β·cos(M_n, k)) for one key, from dLoss/dc at
 * `weightGradient[weightGradientOffset…]`: dLoss/d(M_n·k) into `dotCoefficients[n]` and the coefficient of M_n in
 * dLoss/dM_n from ‖M_n‖ into `normCoefficients[n]` (both 0 where dLoss/dcos is 0). Returns dLoss/dβ; dLoss/d‖k‖ goes
 * into `keyNormGradient[0]`.
 */
function cosineCoefficients(
  memoryNorms: Float64Array,
  normOffset: number,
  keyNorm: number,
  strength: number,
  cells: number,
  cosines: Float64Array,
  weights: Float64Array,
  outOffset: number,
  weightGradient: Float64Array,
  weightGradientOffset: number,
  dotCoefficients: FloatArray,
  normCoefficients: FloatArray,
  keyNormGradient: Float64Array,
): number {
  let weightedSum = 0;
  for (let n = 0; n < cells; n++) weightedSum += weightGradient[weightGradientOffset + n] * weights[outOffset + n];
  let strengthGradient = 0;
  let keyNormCoefficient = 0;
  for (let n = 0; n < cells; n++) {
    const logitGradient = weights[outOffset + n] * (weightGradient[weightGradientOffset + n] - weightedSum);
    const cosine = cosines[outOffset + n];
    strengthGradient += logitGradient * cosine;
    const cosineGradient = logitGradient * strength;
    if (cosineGradient === 0) {
      dotCoefficients[n] = 0;
      normCoefficients[n] = 0;
      continue;
    }
    const memoryNorm = memoryNorms[normOffset + n];
    const denominator = memoryNorm * keyNorm + COSINE_EPSILON;
    dotCoefficients[n] = cosineGradient / denominator;
    // d cos / d denominator = −cos / denominator; the denominator depends on both norms.
    const denominatorGradient = (-cosineGradient * cosine) / denominator;
    normCoefficients[n] = memoryNorm > 0 ? (denominatorGradient * keyNorm) / memoryNorm : 0;
    keyNormCoefficient += denominatorGradient * memoryNorm;
  }
  keyNormGradient[0] = keyNormCoefficient;
  return strengthGradient;
}

/**
 * The rest of the content weighting's backward for one key, from `cosineCoefficients`: adds
 * dotCoefficients[n]·k + normCoefficients[n]·M_n into `memoryGradient` (rows at `gradientOffset`) and
 * Σ_n dotCoefficients[n]·M_n + (dLoss/d‖k‖ / ‖k‖)·k into `keyGradient` (at `keyOffset`).
 */
function contentRowsBackward(
  memory: FloatArray,
  memoryOffset: number,
  key: FloatArray,
  keyOffset: number,
  keyNorm: number,
  keyNormGradient: number,
  cells: number,
  width: number,
  dotCoefficients: Float64Array,
  normCoefficients: Float64Array,
  memoryGradient: Float64Array,
  gradientOffset: number,
  keyGradient: FloatArray,
): void {
  for (let n = 0; n < cells; n++) {
    const dotGradient = dotCoefficients[n];
    const memoryNormCoefficient = normCoefficients[n];
    if (dotGradient === 0 && memoryNormCoefficient === 0) continue;
    const base = memoryOffset + n * width;
    const gradientBase = gradientOffset + n * width;
    for (let k = 0; k < width; k++) {
      memoryGradient[gradientBase + k] += dotGradient * key[keyOffset + k] + memoryNormCoefficient * memory[base + k];
      keyGradient[keyOffset + k] += dotGradient * memory[base + k];
    }
  }
  if (keyNorm > 0) {
    for (let k = 0; k < width; k++) keyGradient[keyOffset + k] += (keyNormGradient / keyNorm) * key[keyOffset + k];
  }
}

/**
 * Step 8 for batch row `b`, every read head: c_r,h = softmax(β_h·cos(M_new, k_h)). Writes dLoss/dβ_r, adds dLoss/dk_r
 * into `g`, and adds dLoss/dM (new memory) into `memoryGradient` (or the SIMD rows' heap), from `contentGradient`
 * (dLoss/dc_r: [R,N]).
 */
export function readContentBackward(
  b: number,
  cells: number,
  width: number,
  heads: number,
  cellOffset: number,
  headOffset: number,
  headCellOffset: number,
  out: DenseRowOffsets,
  inputs: DenseStepArrays,
  packed: FloatArray,
  tape: DenseStepTape,
  contentGradient: Float64Array,
  rows: MemoryRowsBackward | null,
  dotCoefficients: Float64Array,
  normCoefficients: Float64Array,
  keyNormGradient: Float64Array,
  memoryGradient: Float64Array,
  g: DenseStepArrays,
): void {
  for (let h = 0; h < heads; h++) {
    const keyNorm = tape.readKeyNorms[headOffset + h];
    g.readStrengths[headOffset + h] = cosineCoefficients(
      tape.memoryNorms,
      cellOffset,
      keyNorm,
      inputs.readStrengths[headOffset + h],
      cells,
      tape.readCosines,
      tape.readContentWeights,
      headCellOffset + h * cells,
      contentGradient,
      h * cells,
      rows === null ? dotCoefficients : rows.dotCoefficients,
      rows === null ? normCoefficients : rows.normCoefficients,
      keyNormGradient,
    );
    if (rows !== null) {
      rows.readContentBackward(b, h, keyNorm > 0 ? keyNormGradient[0] / keyNorm : 0);
      continue;
    }
    contentRowsBackward(
      packed,
      out.memory,
      inputs.readKeys,
      (headOffset + h) * width,
      keyNorm,
      keyNormGradient[0],
      cells,
      width,
      dotCoefficients,
      normCoefficients,
      memoryGradient,
      0,
      g.readKeys,
    );
  }
}

/**
 * Step 2 for batch row `b`: c_w = softmax(β_w·cos(M_prev, k_w)). Writes dLoss/dβ_w, adds dLoss/dk_w and dLoss/dM_prev
 * into `g` (through `memoryGradient`, zeroed here, as scratch), from `writeContentGradient` (dLoss/dc_w: [N]).
 */
export function writeContentBackward(
  b: number,
  cells: number,
  width: number,
  cellOffset: number,
  memoryOffset: number,
  wordOffset: number,
  inputs: DenseStepArrays,
  tape: DenseStepTape,
  writeContentGradient: Float64Array,
  rows: MemoryRowsBackward | null,
  dotCoefficients: Float64Array,
  normCoefficients: Float64Array,
  keyNormGradient: Float64Array,
  memoryGradient: Float64Array,
  g: DenseStepArrays,
): void {
  const writeKeyNorm = tape.writeKeyNorms[b];
  g.writeStrength[b] = cosineCoefficients(
    tape.prevMemoryNorms,
    cellOffset,
    writeKeyNorm,
    inputs.writeStrength[b],
    cells,
    tape.writeCosines,
    tape.writeContentWeights,
    cellOffset,
    writeContentGradient,
    0,
    rows === null ? dotCoefficients : rows.dotCoefficients,
    rows === null ? normCoefficients : rows.normCoefficients,
    keyNormGradient,
  );
  if (rows !== null) {
    rows.writeContentBackward(b, writeKeyNorm > 0 ? keyNormGradient[0] / writeKeyNorm : 0);
  } else {
    contentRowsBackward(
      inputs.prevMemory,
      memoryOffset,
      inputs.writeKey,
      wordOffset,
      writeKeyNorm,
      keyNormGradient[0],
      cells,
      width,
      dotCoefficients,
      normCoefficients,
      memoryGradient.fill(0),
      0,
      g.writeKey,
    );
    for (let i = 0; i < cells * width; i++) g.prevMemory[memoryOffset + i] += memoryGradient[i];
  }
}
