/**
 * Backward of dynamic memory allocation and the usage update in the fused dense memory step (Graves et al. 2016,
 * Methods: "Dynamic memory allocation"), steps 3 and 1 of `denseStepBackward`: through the sorted usage values of
 * the allocation but not through the sort order, and through the usage update including its write-weights term.
 */
import * as constants from '../../util/constants';
import type { DenseStepArrays } from './dense-step-layout';
import type { DenseStepTape } from './dense-step-tape';

// A local copy: tsx compiles an imported binding to a getter call, and this is read in the innermost loops
// (about 5 % of the kernel's time at B 100, N 16, W 20, R 4).
const ALLOCATION_DELTA = constants.ALLOCATION_DELTA;

/**
 * Step 3 for one batch row: a[φ_j] = (1 − s_j)·P_j with P_{j+1} = P_j·s_j, s_j = û[φ_j]: reverse sweep, no division
 * by s. Adds dLoss/du into `usageGradient` ([N]) from dLoss/da in `allocationGradient` ([N]).
 */
export function allocationBackward(
  cells: number,
  cellOffset: number,
  tape: DenseStepTape,
  allocationGradient: Float64Array,
  usageGradient: Float64Array,
): void {
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
}

/**
 * Step 1 for one batch row: u = (u_prev + (1 − u_prev)·w_w,prev)·Π_h q_h with q_h = 1 − f_h·w_r,h (prefix/suffix
 * products: no division). Writes dLoss/du_prev and dLoss/dw_w,prev, adds dLoss/df and dLoss/dw_r,prev into `g`, from
 * `usageGradient` (dLoss/du: [N]); `retentionPrefix` and `retentionSuffix` ([R+1]) are scratch.
 */
export function usageBackward(
  cells: number,
  heads: number,
  cellOffset: number,
  headOffset: number,
  headCellOffset: number,
  inputs: DenseStepArrays,
  tape: DenseStepTape,
  usageGradient: Float64Array,
  retentionPrefix: Float64Array,
  retentionSuffix: Float64Array,
  g: DenseStepArrays,
): void {
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
