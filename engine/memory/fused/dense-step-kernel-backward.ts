/**
 * Analytic backward pass of the fused dense DNC memory step (Graves et al. 2016, Methods: memory addressing),
 * the reverse of `denseStepForward`, steps 11 down to 1. Gradients flow where pytorch-dnc's autograd sends them:
 * through the usage update including its write-weights term (no stop-gradient), through the sorted usage values
 * of the allocation but not through the sort order, and through both norms of the cosine similarity (a zero norm
 * contributes no gradient, as torch's norm backward does). A float32 step's link pass (9 and 6) and its loops over
 * memory rows (11, 8, 5 and 2) run in WebAssembly SIMD (`link-pass-simd.ts`, `memory-rows-simd.ts`); the loops here
 * stay their definition.
 */
import * as constants from '../../util/constants';
import type { DenseStepTape } from './dense-step-kernel';
import {
  densePackedLayout,
  denseRowOffsets,
  type DenseStepArrays,
  type DenseStepSizes,
  type FloatArray,
} from './dense-step-layout';
import { linkPassSimdApplies } from './link-pass-simd';
import { LinkPassBackward } from './link-pass-simd-backward';
import { memoryRowsSimdApplies } from './memory-rows-simd';
import { MemoryRowsBackward } from './memory-rows-simd-backward';

// Local copies: tsx compiles an imported binding to a getter call, and these are read in the innermost loops
// (about 5 % of the kernel's time at B 100, N 16, W 20, R 4).
const ALLOCATION_DELTA = constants.ALLOCATION_DELTA;
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
 * Gradients of one fused step. `packed` is the forward's output; only its blocks before the link matrix are read
 * (`packed.subarray(0, layout.linkMatrix)` suffices). `packedGradient` is dLoss/d(packed) in the full layout;
 * `gradients` receives dLoss/d(input) for every input (overwritten, same shapes as `inputs`).
 */
export function denseStepBackward(
  sizes: DenseStepSizes,
  inputs: DenseStepArrays,
  packed: FloatArray,
  tape: DenseStepTape,
  packedGradient: FloatArray,
  gradients: DenseStepArrays,
): void {
  const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  const layout = densePackedLayout(sizes);
  // Every gradient but the link matrix's is accumulated into; that one (B·N² entries) is assigned in full below,
  // which saves a pass over the largest array.
  for (const [name, array] of Object.entries(gradients)) if (name !== 'prevLinkMatrix') array.fill(0);
  const memoryGradient = new Float64Array(cells * width);
  const forwardGradientsI = new Float64Array(heads);
  const prevReadsI = new Float64Array(heads);
  const prevReadGradientsI = new Float64Array(heads);
  const readWeightsGradient = new Float64Array(heads * cells);
  const forwardGradient = new Float64Array(heads * cells);
  const backwardGradient = new Float64Array(heads * cells);
  const contentGradient = new Float64Array(heads * cells);
  const writeWeightsGradient = new Float64Array(cells);
  const usageGradient = new Float64Array(cells);
  const allocationGradient = new Float64Array(cells);
  const writeContentGradient = new Float64Array(cells);
  const retentionPrefix = new Float64Array(heads + 1);
  const retentionSuffix = new Float64Array(heads + 1);
  const dotCoefficients = new Float64Array(cells);
  const normCoefficients = new Float64Array(cells);
  const keyNormGradient = new Float64Array(1);
  const g = gradients;
  // Steps 9 and 6 (the O(N²) link pass) in WebAssembly SIMD for float32 arrays (`link-pass-simd.ts`).
  const links = linkPassSimdApplies(
    packedGradient,
    inputs.prevLinkMatrix,
    inputs.prevPrecedence,
    inputs.prevReadWeights,
    g.prevLinkMatrix,
    g.prevReadWeights,
    g.prevPrecedence,
  )
    ? LinkPassBackward.open(
        sizes,
        inputs.prevLinkMatrix,
        inputs.prevPrecedence,
        inputs.prevReadWeights,
        packedGradient.subarray(layout.linkMatrix, layout.linkMatrix + batch * cells * cells),
        g.prevLinkMatrix,
      )
    : null;
  // Steps 11, 8, 5 and 2 (the O(N·W) loops over memory rows) likewise (`memory-rows-simd.ts`).
  const rows = memoryRowsSimdApplies(
    packed,
    packedGradient,
    inputs.prevMemory,
    inputs.writeKey,
    inputs.readKeys,
    inputs.eraseVector,
    inputs.writeVector,
    g.prevMemory,
    g.writeKey,
    g.readKeys,
    g.eraseVector,
    g.writeVector,
  )
    ? MemoryRowsBackward.open(sizes, inputs, packed, packedGradient)
    : null;

  for (let b = 0; b < batch; b++) {
    const out = denseRowOffsets(layout, sizes, b);
    const cellOffset = b * cells;
    const memoryOffset = b * cells * width;
    const linkOffset = b * cells * cells;
    const headCellOffset = b * heads * cells;
    const headOffset = b * heads;
    const wordOffset = b * width;
    const writeWeights = tape.writeWeights.subarray(cellOffset, cellOffset + cells);

    // (The SIMD rows keep dLoss/dM in their heap.)
    for (let i = 0; i < cells * width && rows === null; i++) memoryGradient[i] = packedGradient[out.memory + i];
    for (let i = 0; i < heads * cells; i++) readWeightsGradient[i] = packedGradient[out.readWeights + i];
    for (let n = 0; n < cells; n++) {
      writeWeightsGradient[n] = packedGradient[out.writeWeights + n];
      usageGradient[n] = packedGradient[out.usage + n];
    }

    // 11. r_h = Mᵀ w_r,h.
    if (rows !== null) {
      rows.readVectorsBackward(b);
      for (let i = 0; i < heads * cells; i++) readWeightsGradient[i] += rows.readWeightSums[i];
    }
    for (let h = 0; h < heads && rows === null; h++) {
      const vectorGradientAt = out.readVectors + h * width;
      for (let n = 0; n < cells; n++) {
        const readWeight = packed[out.readWeights + h * cells + n];
        const row = n * width;
        let sum = 0;
        for (let k = 0; k < width; k++) {
          const vectorGradient = packedGradient[vectorGradientAt + k];
          memoryGradient[row + k] += vectorGradient * readWeight;
          sum += vectorGradient * packed[out.memory + row + k];
        }
        readWeightsGradient[h * cells + n] += sum;
      }
    }

    // 10. w_r = π_b·b + π_f·f + π_c·c_r.
    for (let h = 0; h < heads; h++) {
      const modes = (headOffset + h) * 3;
      const headCells = headCellOffset + h * cells;
      let backwardModeGradient = 0;
      let forwardModeGradient = 0;
      let contentModeGradient = 0;
      for (let n = 0; n < cells; n++) {
        const weightGradient = readWeightsGradient[h * cells + n];
        backwardModeGradient += weightGradient * tape.backwardWeights[headCells + n];
        forwardModeGradient += weightGradient * tape.forwardWeights[headCells + n];
        contentModeGradient += weightGradient * tape.readContentWeights[headCells + n];
        backwardGradient[h * cells + n] = inputs.readModes[modes] * weightGradient;
        forwardGradient[h * cells + n] = inputs.readModes[modes + 1] * weightGradient;
        contentGradient[h * cells + n] = inputs.readModes[modes + 2] * weightGradient;
      }
      g.readModes[modes] = backwardModeGradient;
      g.readModes[modes + 1] = forwardModeGradient;
      g.readModes[modes + 2] = contentModeGradient;
    }

    // 8. c_r,h = softmax(β_h·cos(M_new, k_h)).
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

    // 7. p = (1 − Σ w_w)·p_prev + w_w.
    let writeSum = 0;
    let precedenceDot = 0;
    for (let n = 0; n < cells; n++) {
      writeSum += writeWeights[n];
      precedenceDot += packedGradient[out.precedence + n] * inputs.prevPrecedence[cellOffset + n];
    }
    for (let n = 0; n < cells; n++) {
      const precedenceGradient = packedGradient[out.precedence + n];
      g.prevPrecedence[cellOffset + n] += (1 - writeSum) * precedenceGradient;
      writeWeightsGradient[n] += precedenceGradient - precedenceDot;
    }

    // 9 and 6 in one pass over L, row by row. f[i] = Σ_j L[i,j]·w_r[j] and b[j] = Σ_i L[i,j]·w_r[i] (previous read
    // weights) add their terms to dL[i,j], which is then complete and flows through
    // L[i,j] = (1 − w_w[i] − w_w[j])·L_prev[i,j] + w_w[i]·p_prev[j] off the diagonal (the diagonal is constant 0).
    const prevLinks = inputs.prevLinkMatrix;
    const prevPrecedence = inputs.prevPrecedence;
    const prevRead = inputs.prevReadWeights;
    const prevReadGradient = g.prevReadWeights;
    const prevLinksGradient = g.prevLinkMatrix;
    const prevPrecedenceGradient = g.prevPrecedence;
    links?.row(
      b,
      writeWeights,
      forwardGradient,
      backwardGradient,
      prevReadGradient.subarray(headCellOffset, headCellOffset + heads * cells),
      writeWeightsGradient,
      prevPrecedenceGradient.subarray(cellOffset, cellOffset + cells),
    );
    for (let i = 0; i < cells && links === null; i++) {
      const linkRow = out.linkMatrix + i * cells;
      const prevRow = linkOffset + i * cells;
      const weightI = writeWeights[i];
      for (let h = 0; h < heads; h++) {
        forwardGradientsI[h] = forwardGradient[h * cells + i];
        prevReadsI[h] = prevRead[headCellOffset + h * cells + i];
        prevReadGradientsI[h] = 0;
      }
      // One pass over the row (it streams three N² arrays; separate passes per term cost twice as much at N 256).
      // The new L[i,j] is recomputed from the inputs rather than read back, so the forward's output need not be
      // kept for the backward pass (it is the largest array of the step).
      let rowSum = 0;
      if (heads === 1) {
        // The same loop with the head loop unrolled: at one head its per-element overhead was ≈30% of this pass.
        const forwardGradientI = forwardGradientsI[0];
        const prevReadI = prevReadsI[0];
        let prevReadGradientI = 0;
        for (let j = 0; j < cells; j++) {
          if (i === j) {
            prevLinksGradient[prevRow + j] = 0;
            continue;
          }
          const prevLink = prevLinks[prevRow + j];
          const precedenceJ = prevPrecedence[cellOffset + j];
          const keep = 1 - weightI - writeWeights[j];
          const link = keep * prevLink + weightI * precedenceJ;
          const headCellJ = headCellOffset + j;
          const backwardGradientJ = backwardGradient[j];
          const linkGradientIJ =
            packedGradient[linkRow + j] + (forwardGradientI * prevRead[headCellJ] + backwardGradientJ * prevReadI);
          prevReadGradient[headCellJ] += forwardGradientI * link;
          prevReadGradientI += backwardGradientJ * link;
          prevLinksGradient[prevRow + j] = keep * linkGradientIJ;
          rowSum += linkGradientIJ * (precedenceJ - prevLink);
          writeWeightsGradient[j] -= linkGradientIJ * prevLink;
          prevPrecedenceGradient[cellOffset + j] += linkGradientIJ * weightI;
        }
        prevReadGradientsI[0] = prevReadGradientI;
      } else
        for (let j = 0; j < cells; j++) {
          if (i === j) {
            prevLinksGradient[prevRow + j] = 0;
            continue;
          }
          const prevLink = prevLinks[prevRow + j];
          const precedenceJ = prevPrecedence[cellOffset + j];
          const keep = 1 - weightI - writeWeights[j];
          const link = keep * prevLink + weightI * precedenceJ;
          let linkGradientIJ = packedGradient[linkRow + j];
          for (let h = 0; h < heads; h++) {
            const headCellJ = headCellOffset + h * cells + j;
            const backwardGradientJ = backwardGradient[h * cells + j];
            linkGradientIJ += forwardGradientsI[h] * prevRead[headCellJ] + backwardGradientJ * prevReadsI[h];
            prevReadGradient[headCellJ] += forwardGradientsI[h] * link;
            prevReadGradientsI[h] += backwardGradientJ * link;
          }
          prevLinksGradient[prevRow + j] = keep * linkGradientIJ;
          rowSum += linkGradientIJ * (precedenceJ - prevLink);
          writeWeightsGradient[j] -= linkGradientIJ * prevLink;
          prevPrecedenceGradient[cellOffset + j] += linkGradientIJ * weightI;
        }
      for (let h = 0; h < heads; h++) prevReadGradient[headCellOffset + h * cells + i] += prevReadGradientsI[h];
      writeWeightsGradient[i] += rowSum;
    }

    // 5. M = M_prev ⊙ (1 − w_w eᵀ) + w_w vᵀ.
    if (rows !== null) {
      rows.eraseWriteBackward(b, writeWeights);
      for (let n = 0; n < cells; n++) writeWeightsGradient[n] += rows.writeWeightSums[n];
    }
    for (let n = 0; n < cells && rows === null; n++) {
      const weight = writeWeights[n];
      const row = n * width;
      let sum = 0;
      for (let k = 0; k < width; k++) {
        const gradient = memoryGradient[row + k];
        const prevCell = inputs.prevMemory[memoryOffset + row + k];
        const erase = inputs.eraseVector[wordOffset + k];
        g.prevMemory[memoryOffset + row + k] = gradient * (1 - weight * erase);
        sum += gradient * (inputs.writeVector[wordOffset + k] - prevCell * erase);
        g.eraseVector[wordOffset + k] -= gradient * prevCell * weight;
        g.writeVector[wordOffset + k] += gradient * weight;
      }
      writeWeightsGradient[n] += sum;
    }

    // 4. w_w = g_w·(g_a·a + (1 − g_a)·c_w).
    const writeGate = inputs.writeGate[b];
    const allocationGate = inputs.allocationGate[b];
    let writeGateGradient = 0;
    let allocationGateGradient = 0;
    for (let n = 0; n < cells; n++) {
      const gradient = writeWeightsGradient[n];
      const allocation = tape.allocationWeights[cellOffset + n];
      const content = tape.writeContentWeights[cellOffset + n];
      writeGateGradient += gradient * (allocationGate * allocation + (1 - allocationGate) * content);
      allocationGateGradient += gradient * writeGate * (allocation - content);
      allocationGradient[n] = gradient * writeGate * allocationGate;
      writeContentGradient[n] = gradient * writeGate * (1 - allocationGate);
    }
    g.writeGate[b] = writeGateGradient;
    g.allocationGate[b] = allocationGateGradient;

    // 3. a[φ_j] = (1 − s_j)·P_j with P_{j+1} = P_j·s_j, s_j = û[φ_j]: reverse sweep, no division by s.
    let productGradient = 0;
    for (let j = cells - 1; j >= 0; j--) {
      const cell = tape.sortOrder[cellOffset + j];
      const gradient = allocationGradient[cell];
      const sorted = tape.sortedUsage[cellOffset + j];
      const product = tape.exclusiveProducts[cellOffset + j];
      const sortedGradient = (productGradient - gradient) * product;
      productGradient = gradient * (1 - sorted) + productGradient * sorted;
      usageGradient[cell] += (1 - ALLOCATION_DELTA) * sortedGradient;
    }

    // 2. c_w = softmax(β_w·cos(M_prev, k_w)).
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

    // 1. u = (u_prev + (1 − u_prev)·w_w,prev)·Π_h q_h with q_h = 1 − f_h·w_r,h (prefix/suffix products: no division).
    for (let n = 0; n < cells; n++) {
      const gradient = usageGradient[n];
      const prevUsage = inputs.prevUsage[cellOffset + n];
      retentionPrefix[0] = 1;
      for (let h = 0; h < heads; h++) {
        retentionPrefix[h + 1] =
          retentionPrefix[h] *
          (1 - inputs.freeGates[headOffset + h] * inputs.prevReadWeights[headCellOffset + h * cells + n]);
      }
      retentionSuffix[heads] = 1;
      for (let h = heads - 1; h >= 0; h--) {
        retentionSuffix[h] =
          retentionSuffix[h + 1] *
          (1 - inputs.freeGates[headOffset + h] * inputs.prevReadWeights[headCellOffset + h * cells + n]);
      }
      const afterWriteGradient = gradient * retentionPrefix[heads];
      g.prevUsage[cellOffset + n] = afterWriteGradient * (1 - inputs.prevWriteWeights[cellOffset + n]);
      g.prevWriteWeights[cellOffset + n] = afterWriteGradient * (1 - prevUsage);
      const retentionGradient = gradient * tape.usageAfterWrite[cellOffset + n];
      for (let h = 0; h < heads; h++) {
        const factorGradient = retentionGradient * retentionPrefix[h] * retentionSuffix[h + 1];
        const readAt = headCellOffset + h * cells + n;
        g.freeGates[headOffset + h] -= factorGradient * inputs.prevReadWeights[readAt];
        g.prevReadWeights[readAt] -= factorGradient * inputs.freeGates[headOffset + h];
      }
    }
  }
  links?.finish();
  rows?.finish(g);
}
