/**
 * Backward of temporal memory linkage in the fused dense memory step (Graves et al. 2016, Methods: "Temporal memory
 * linkage"), steps 9 and 6 of `denseStepBackward`: the temporal weightings f = L·w_r and b = Lᵀ·w_r and the link
 * update, in one pass over each row of L (in WebAssembly SIMD for float32 arrays, `link-pass-simd.ts`).
 */
import type { DenseRowOffsets, DenseStepArrays, FloatArray } from './dense-step-layout';
import type { LinkPassBackward } from './link-pass-simd-backward';

/**
 * 9 and 6 in one pass over L, row by row. f[i] = Σ_j L[i,j]·w_r[j] and b[j] = Σ_i L[i,j]·w_r[i] (previous read
 * weights) add their terms to dL[i,j], which is then complete and flows through
 * L[i,j] = (1 − w_w[i] − w_w[j])·L_prev[i,j] + w_w[i]·p_prev[j] off the diagonal (the diagonal is constant 0).
 * For batch row `b`: writes dLoss/dL_prev, adds dLoss/dw_r,prev and dLoss/dp_prev into `g` and dLoss/dw_w into
 * `writeWeightsGradient`, from dLoss/dL in `packedGradient` and dLoss/df, dLoss/db (`forwardGradient`,
 * `backwardGradient`: [R,N]).
 */
export function linkageBackward(
  b: number,
  cells: number,
  heads: number,
  cellOffset: number,
  linkOffset: number,
  headCellOffset: number,
  out: DenseRowOffsets,
  inputs: DenseStepArrays,
  packedGradient: FloatArray,
  writeWeights: Float64Array,
  forwardGradient: Float64Array,
  backwardGradient: Float64Array,
  writeWeightsGradient: Float64Array,
  forwardGradientsI: Float64Array,
  prevReadsI: Float64Array,
  prevReadGradientsI: Float64Array,
  links: LinkPassBackward | null,
  g: DenseStepArrays,
): void {
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
}
