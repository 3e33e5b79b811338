/**
 * Fused forward pass of one dense DNC memory step (Graves et al. 2016, Methods: "Memory addressing", dynamic
 * memory allocation, write weighting, temporal memory linkage, read weighting), computed for the whole batch in
 * plain loops over typed arrays instead of dozens of tiny tfjs kernels. It follows pytorch-dnc 2.0's numerics
 * (reference/dnc-algorithm.md §2, steps 1–11): literal usage update, cosine `dot / (‖M‖‖k‖ + 1e-6)`, allocation
 * on `δ + (1 − δ)·u` with an exclusive cumulative product, link diagonal zeroed after the update. Allocation ties
 * go to the lowest cell index (stable order), as this project decided, not torch.topk's undocumented order.
 *
 * Arithmetic is JavaScript doubles, except that a float32 step's O(N²) link pass (steps 6 and 9) and its O(N·W) loops
 * over memory rows (steps 2, 5, 8 and 11) run in float32 WebAssembly SIMD (`link-pass-simd.ts`, `memory-rows-simd.ts`,
 * held to the loops here by their tests); the big state (memory, link matrix, …) is
 * written straight into the caller's packed output array (Float32Array in the engine, Float64Array in gradient checks),
 * and the small per-cell intermediates the backward pass needs are kept in Float64Arrays (`DenseStepTape`).
 * The analytic backward lives in `dense-step-kernel-backward.ts`, the data layout in `dense-step-layout.ts`, the tape
 * in `dense-step-tape.ts`, content addressing in `dense-step-content.ts` and the free-list sort in
 * `dense-step-free-list.ts`.
 */
import * as constants from '../../util/constants';
import { contentWeighting, rowDots, rowNorms, vectorNorm } from './dense-step-content';
import { sortFreeList } from './dense-step-free-list';
import {
  denseRowOffsets,
  densePackedLayout,
  type DenseStepArrays,
  type DenseStepSizes,
  type FloatArray,
} from './dense-step-layout';
import { allocateTape, type DenseStepTape } from './dense-step-tape';
import { LinkPassForward, linkPassSimdApplies } from './link-pass-simd';
import { MemoryRowsForward, memoryRowsSimdApplies } from './memory-rows-simd';

// A local copy: tsx compiles an imported binding to a getter call, and this is read in the innermost loops
// (about 5 % of the kernel's time at B 100, N 16, W 20, R 4).
const ALLOCATION_DELTA = constants.ALLOCATION_DELTA;

/**
 * Run one memory step for every batch row. Writes read vectors and the new state into `packed`
 * (`layout.size` elements, see `densePackedLayout`) and returns the tape for `denseStepBackward`: `into` when given
 * (zeroed first, `tapeOnBuffer`), else new arrays.
 */
export function denseStepForward(
  sizes: DenseStepSizes,
  inputs: DenseStepArrays,
  packed: FloatArray,
  into?: DenseStepTape,
): DenseStepTape {
  const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  const layout = densePackedLayout(sizes);
  if (packed.length !== layout.size) {
    throw new Error(`denseStepForward: packed output has ${packed.length} elements, expected ${layout.size}`);
  }
  let tape: DenseStepTape;
  if (into === undefined) {
    tape = allocateTape(sizes);
  } else {
    // A reused tape (`tapeOnBuffer`) starts from zeros like a fresh one: some entries are accumulated.
    for (const array of Object.values(into) as (Float64Array | Int32Array)[]) array.fill(0);
    tape = into;
  }
  const uh = new Float64Array(cells);
  const sortKeys = new Float64Array(cells);
  const readVector = new Float64Array(width);
  const dots = new Float64Array(cells);
  // Steps 6 and 9 (the O(N²) link pass) in WebAssembly SIMD for float32 arrays (`link-pass-simd.ts`).
  const links = linkPassSimdApplies(packed, inputs.prevLinkMatrix, inputs.prevPrecedence, inputs.prevReadWeights)
    ? LinkPassForward.open(
        sizes,
        inputs.prevLinkMatrix,
        inputs.prevPrecedence,
        inputs.prevReadWeights,
        packed.subarray(layout.linkMatrix, layout.linkMatrix + batch * cells * cells),
      )
    : null;
  // Steps 2, 5, 8 and 11 (the O(N·W) loops over memory rows) likewise (`memory-rows-simd.ts`).
  const rows = memoryRowsSimdApplies(
    packed,
    inputs.prevMemory,
    inputs.writeKey,
    inputs.readKeys,
    inputs.eraseVector,
    inputs.writeVector,
  )
    ? MemoryRowsForward.open(sizes, inputs)
    : null;

  for (let b = 0; b < batch; b++) {
    const out = denseRowOffsets(layout, sizes, b);
    const cellOffset = b * cells;
    const memoryOffset = b * cells * width;
    const linkOffset = b * cells * cells;
    const headCellOffset = b * heads * cells;
    const headOffset = b * heads;
    const wordOffset = b * width;

    // 1. Usage: u ← (u + (1 − u)·w_w) · Π_h (1 − f_h·w_r,h), from the previous write and read weights.
    for (let n = 0; n < cells; n++) {
      const prevUsage = inputs.prevUsage[cellOffset + n];
      const afterWrite = prevUsage + (1 - prevUsage) * inputs.prevWriteWeights[cellOffset + n];
      let retention = 1;
      for (let h = 0; h < heads; h++) {
        retention *= 1 - inputs.freeGates[headOffset + h] * inputs.prevReadWeights[headCellOffset + h * cells + n];
      }
      tape.usageAfterWrite[cellOffset + n] = afterWrite;
      tape.usage[cellOffset + n] = afterWrite * retention;
      packed[out.usage + n] = afterWrite * retention;
    }

    // 2. Write content weights c_w over the previous memory.
    const writeKeyNorm = vectorNorm(inputs.writeKey, wordOffset, width);
    tape.writeKeyNorms[b] = writeKeyNorm;
    if (rows === null) {
      rowNorms(inputs.prevMemory, memoryOffset, cells, width, tape.prevMemoryNorms, cellOffset);
      rowDots(inputs.prevMemory, memoryOffset, inputs.writeKey, wordOffset, cells, width, dots);
    } else {
      rows.previousDots(b);
      for (let n = 0; n < cells; n++) tape.prevMemoryNorms[cellOffset + n] = Math.sqrt(rows.squares[n]);
    }
    contentWeighting(
      rows === null ? dots : rows.dots,
      0,
      tape.prevMemoryNorms,
      cellOffset,
      writeKeyNorm,
      inputs.writeStrength[b],
      cells,
      tape.writeCosines,
      tape.writeContentWeights,
      cellOffset,
    );

    // 3. Allocation a: free list φ in ascending û; a[φ_j] = (1 − û[φ_j])·Π_{i<j} û[φ_i].
    const order = tape.sortOrder.subarray(cellOffset, cellOffset + cells);
    for (let n = 0; n < cells; n++) {
      uh[n] = ALLOCATION_DELTA + (1 - ALLOCATION_DELTA) * tape.usage[cellOffset + n];
      // Order by the float32 value a float32 implementation sorts, so near-ties break the same way (by index).
      sortKeys[n] = Math.fround(uh[n]);
      order[n] = n;
    }
    sortFreeList(order, sortKeys, cells);
    let product = 1;
    for (let j = 0; j < cells; j++) {
      const cell = order[j];
      const sorted = uh[cell];
      tape.sortedUsage[cellOffset + j] = sorted;
      tape.exclusiveProducts[cellOffset + j] = product;
      tape.allocationWeights[cellOffset + cell] = (1 - sorted) * product;
      product *= sorted;
    }

    // 4. Write weights w_w = g_w·(g_a·a + (1 − g_a)·c_w).
    const writeGate = inputs.writeGate[b];
    const allocationGate = inputs.allocationGate[b];
    let writeSum = 0;
    for (let n = 0; n < cells; n++) {
      const weight =
        writeGate *
        (allocationGate * tape.allocationWeights[cellOffset + n] +
          (1 - allocationGate) * tape.writeContentWeights[cellOffset + n]);
      tape.writeWeights[cellOffset + n] = weight;
      packed[out.writeWeights + n] = weight;
      writeSum += weight;
    }
    const writeWeights = tape.writeWeights.subarray(cellOffset, cellOffset + cells);

    // 5. Erase then add: M ← M ⊙ (1 − w_w eᵀ) + w_w vᵀ. (The SIMD rows keep the new memory in their heap until
    // the batch is done.)
    if (rows !== null) rows.eraseWrite(b, writeWeights);
    for (let n = 0; n < cells && rows === null; n++) {
      const weight = writeWeights[n];
      const row = n * width;
      for (let k = 0; k < width; k++) {
        packed[out.memory + row + k] =
          inputs.prevMemory[memoryOffset + row + k] * (1 - weight * inputs.eraseVector[wordOffset + k]) +
          weight * inputs.writeVector[wordOffset + k];
      }
    }

    // 6 and 9 in one pass over L, row by row: the new links L[i,j] ← (1 − w_w[i] − w_w[j])·L[i,j] + w_w[i]·p[j]
    // (previous p; no self-links), then, while the row is in cache, the temporal weights from the previous read
    // weights f_h = L·w_r,h and b_h = Lᵀ·w_r,h.
    const prevLinks = inputs.prevLinkMatrix;
    const prevPrecedence = inputs.prevPrecedence;
    const prevRead = inputs.prevReadWeights;
    const forwardWeights = tape.forwardWeights;
    const backwardWeights = tape.backwardWeights;
    links?.row(
      b,
      writeWeights,
      forwardWeights.subarray(headCellOffset, headCellOffset + heads * cells),
      backwardWeights.subarray(headCellOffset, headCellOffset + heads * cells),
    );
    for (let i = 0; i < cells && links === null; i++) {
      const weightI = writeWeights[i];
      const linkRow = out.linkMatrix + i * cells;
      const prevRow = linkOffset + i * cells;
      for (let j = 0; j < cells; j++) {
        packed[linkRow + j] =
          i === j
            ? 0
            : (1 - weightI - writeWeights[j]) * prevLinks[prevRow + j] + weightI * prevPrecedence[cellOffset + j];
      }
      for (let h = 0; h < heads; h++) {
        const headCells = headCellOffset + h * cells;
        const prevReadI = prevRead[headCells + i];
        let forward = 0;
        for (let j = 0; j < cells; j++) {
          const link = packed[linkRow + j];
          forward += link * prevRead[headCells + j];
          backwardWeights[headCells + j] += link * prevReadI;
        }
        forwardWeights[headCells + i] = forward;
      }
    }

    // 7. Precedence p ← (1 − Σ w_w)·p + w_w.
    for (let n = 0; n < cells; n++) {
      packed[out.precedence + n] = (1 - writeSum) * inputs.prevPrecedence[cellOffset + n] + writeWeights[n];
    }

    // 8. Read content weights c_r,h over the new memory (as stored, so float32 in the engine like pytorch).
    if (rows === null) {
      rowNorms(packed, out.memory, cells, width, tape.memoryNorms, cellOffset);
    } else {
      rows.memoryDots(b);
      for (let n = 0; n < cells; n++) tape.memoryNorms[cellOffset + n] = Math.sqrt(rows.squares[n]);
    }
    for (let h = 0; h < heads; h++) {
      const keyOffset = (headOffset + h) * width;
      const readKeyNorm = vectorNorm(inputs.readKeys, keyOffset, width);
      tape.readKeyNorms[headOffset + h] = readKeyNorm;
      if (rows === null) rowDots(packed, out.memory, inputs.readKeys, keyOffset, cells, width, dots);
      contentWeighting(
        rows === null ? dots : rows.dots,
        rows === null ? 0 : h * cells,
        tape.memoryNorms,
        cellOffset,
        readKeyNorm,
        inputs.readStrengths[headOffset + h],
        cells,
        tape.readCosines,
        tape.readContentWeights,
        headCellOffset + h * cells,
      );
    }

    // 10–11. Read weights w_r = π_b·b + π_f·f + π_c·c_r, then read vectors r = Mᵀ·w_r.
    for (let h = 0; h < heads; h++) {
      const headCells = headCellOffset + h * cells;
      const modes = (headOffset + h) * 3;
      const backwardMode = inputs.readModes[modes];
      const forwardMode = inputs.readModes[modes + 1];
      const contentMode = inputs.readModes[modes + 2];
      const readWeightsAt = out.readWeights + h * cells;
      const readVectorAt = out.readVectors + h * width;
      readVector.fill(0);
      for (let n = 0; n < cells; n++) {
        const weight =
          backwardMode * tape.backwardWeights[headCells + n] +
          forwardMode * tape.forwardWeights[headCells + n] +
          contentMode * tape.readContentWeights[headCells + n];
        packed[readWeightsAt + n] = weight;
        if (rows !== null) continue;
        const stored = packed[readWeightsAt + n];
        const row = out.memory + n * width;
        for (let k = 0; k < width; k++) readVector[k] += stored * packed[row + k];
      }
      if (rows === null) for (let k = 0; k < width; k++) packed[readVectorAt + k] = readVector[k];
    }
    if (rows !== null) {
      rows.readVectors(
        b,
        packed.subarray(out.readWeights, out.readWeights + heads * cells),
        packed.subarray(out.readVectors, out.readVectors + heads * width),
      );
    }
  }
  links?.finish();
  rows?.copyMemory(packed);
  return tape;
}
