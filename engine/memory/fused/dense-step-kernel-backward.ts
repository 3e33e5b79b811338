/**
 * Analytic backward pass of the fused dense DNC memory step (Graves et al. 2016, Methods: memory addressing),
 * the reverse of `denseStepForward`, steps 11 down to 1. Gradients flow where pytorch-dnc's autograd sends them:
 * through the usage update including its write-weights term (no stop-gradient), through the sorted usage values
 * of the allocation but not through the sort order, and through both norms of the cosine similarity (a zero norm
 * contributes no gradient, as torch's norm backward does). A float32 step's link pass (9 and 6) and its loops over
 * memory rows (11, 8, 5 and 2) run in WebAssembly SIMD (`link-pass-simd.ts`, `memory-rows-simd.ts`); the loops here
 * stay their definition. Content addressing's backward (8 and 2) lives in `dense-step-content-backward.ts`, the link
 * pass's (9 and 6) in `dense-step-linkage-backward.ts`, allocation's and usage's (3 and 1) in
 * `dense-step-usage-backward.ts`.
 */
import {
  densePackedLayout,
  denseRowOffsets,
  type DenseStepArrays,
  type DenseStepSizes,
  type FloatArray,
} from './dense-step-layout';
import { readContentBackward, writeContentBackward } from './dense-step-content-backward';
import { linkageBackward } from './dense-step-linkage-backward';
import type { DenseStepTape } from './dense-step-tape';
import { allocationBackward, usageBackward } from './dense-step-usage-backward';
import { linkPassSimdApplies } from './link-pass-simd';
import { LinkPassBackward } from './link-pass-simd-backward';
import { memoryRowsSimdApplies } from './memory-rows-simd';
import { MemoryRowsBackward } from './memory-rows-simd-backward';

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
    readContentBackward(
      b,
      cells,
      width,
      heads,
      cellOffset,
      headOffset,
      headCellOffset,
      out,
      inputs,
      packed,
      tape,
      contentGradient,
      rows,
      dotCoefficients,
      normCoefficients,
      keyNormGradient,
      memoryGradient,
      g,
    );

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

    // 9 and 6 in one pass over L, row by row.
    linkageBackward(
      b,
      cells,
      heads,
      cellOffset,
      linkOffset,
      headCellOffset,
      out,
      inputs,
      packedGradient,
      writeWeights,
      forwardGradient,
      backwardGradient,
      writeWeightsGradient,
      forwardGradientsI,
      prevReadsI,
      prevReadGradientsI,
      links,
      g,
    );

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

    // 3. a[φ_j] = (1 − s_j)·P_j with P_{j+1} = P_j·s_j, s_j = û[φ_j].
    allocationBackward(cells, cellOffset, tape, allocationGradient, usageGradient);

    // 2. c_w = softmax(β_w·cos(M_prev, k_w)).
    writeContentBackward(
      b,
      cells,
      width,
      cellOffset,
      memoryOffset,
      wordOffset,
      inputs,
      tape,
      writeContentGradient,
      rows,
      dotCoefficients,
      normCoefficients,
      keyNormGradient,
      memoryGradient,
      g,
    );

    // 1. u = (u_prev + (1 − u_prev)·w_w,prev)·Π_h q_h.
    usageBackward(
      cells,
      heads,
      cellOffset,
      headOffset,
      headCellOffset,
      inputs,
      tape,
      usageGradient,
      retentionPrefix,
      retentionSuffix,
      g,
    );
  }
  links?.finish();
  rows?.finish(g);
}
