/**
 * The backward of the fused dense step's loops over memory rows (Graves et al. 2016, Methods "Memory addressing":
 * the gradients of the read vectors, the content weightings' cosines and erase and write) in WebAssembly SIMD, on the
 * module and heap of `memory-rows-simd.ts`, which also holds the forward; `dense-step-kernel-backward.ts`'s
 * JavaScript loops stay the definition (`memory-rows-simd.test.ts`).
 */
import type { DenseStepArrays, DenseStepSizes, FloatArray } from './dense-step-layout';
import { densePackedLayout } from './dense-step-layout';
import { instance, type MemoryRowsExports, reserve } from './memory-rows-simd';
import { regions } from '../../util/simd-module';

/**
 * One backward step's memory rows in the heap. `open` copies the memories, keys, erase and write vectors and the
 * packed gradient's memory and read-vector blocks in; per batch row b the kernel calls `readVectorsBackward(b)`,
 * `readContentBackward(b, h, …)`, `eraseWriteBackward(b, w_w)` and `writeContentBackward(b, …)`, filling
 * `dotCoefficients` and `normCoefficients` before each content call; `finish` writes the gradients of the previous
 * memory, the keys and the erase and write vectors out (assigned).
 */
export class MemoryRowsBackward {
  /** dr_h·M_n after `readVectorsBackward`: [R,N]. */
  readonly readWeightSums: Float32Array;
  /** Per-cell coefficients for the next content call: dLoss/d(M_n·k) and the memory-norm term's, [N] each. */
  readonly dotCoefficients: Float32Array;
  readonly normCoefficients: Float32Array;
  /** Σ_k dM·(v − M_prev·e) per cell after `eraseWriteBackward`: [N]. */
  readonly writeWeightSums: Float32Array;

  private constructor(
    private readonly exports: MemoryRowsExports,
    private readonly heap: Float32Array,
    private readonly sizes: DenseStepSizes,
    private readonly at: {
      prevMemory: number;
      memory: number;
      memoryGradient: number;
      prevMemoryGradient: number;
      writeKey: number;
      readKeys: number;
      erase: number;
      write: number;
      vectorGradient: number;
      readWeights: number;
      writeKeyGradient: number;
      readKeysGradient: number;
      eraseGradient: number;
      writeGradient: number;
      writeWeights: number;
      readWeightSums: number;
      dotCoefficients: number;
      normCoefficients: number;
      writeWeightSums: number;
    },
  ) {
    const { memorySize: cells, readHeads: heads } = sizes;
    this.readWeightSums = heap.subarray(at.readWeightSums, at.readWeightSums + heads * cells);
    this.dotCoefficients = heap.subarray(at.dotCoefficients, at.dotCoefficients + cells);
    this.normCoefficients = heap.subarray(at.normCoefficients, at.normCoefficients + cells);
    this.writeWeightSums = heap.subarray(at.writeWeightSums, at.writeWeightSums + cells);
  }

  /** Copies the step's arrays in; null when the memory cannot grow to the step (the caller keeps the JS loops). */
  static open(
    sizes: DenseStepSizes,
    inputs: DenseStepArrays,
    packed: FloatArray,
    packedGradient: FloatArray,
  ): MemoryRowsBackward | null {
    const exports = instance();
    if (exports === null) return null;
    const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
    const layout = densePackedLayout(sizes);
    const memorySize = batch * cells * width;
    const take = regions();
    const at = {
      prevMemory: take(memorySize),
      memory: take(memorySize),
      memoryGradient: take(memorySize),
      prevMemoryGradient: take(memorySize),
      writeKey: take(batch * width),
      readKeys: take(batch * heads * width),
      erase: take(batch * width),
      write: take(batch * width),
      vectorGradient: take(batch * heads * width),
      readWeights: take(batch * heads * cells),
      writeKeyGradient: take(batch * width),
      readKeysGradient: take(batch * heads * width),
      eraseGradient: take(batch * width),
      writeGradient: take(batch * width),
      writeWeights: take(cells),
      readWeightSums: take(heads * cells),
      dotCoefficients: take(cells),
      normCoefficients: take(cells),
      writeWeightSums: take(cells),
    };
    const heap = reserve(exports, take(0));
    if (heap === null) return null;
    heap.set(inputs.prevMemory, at.prevMemory);
    heap.set(packed.subarray(layout.memory, layout.memory + memorySize), at.memory);
    heap.set(packedGradient.subarray(layout.memory, layout.memory + memorySize), at.memoryGradient);
    heap.set(inputs.writeKey, at.writeKey);
    heap.set(inputs.readKeys, at.readKeys);
    heap.set(inputs.eraseVector, at.erase);
    heap.set(inputs.writeVector, at.write);
    heap.set(
      packedGradient.subarray(layout.readVectors, layout.readVectors + batch * heads * width),
      at.vectorGradient,
    );
    heap.set(packed.subarray(layout.readWeights, layout.readWeights + batch * heads * cells), at.readWeights);
    heap.fill(0, at.writeKeyGradient, at.writeGradient + batch * width);
    return new MemoryRowsBackward(exports, heap, sizes, at);
  }

  /** Backward of step 11 for batch row b: dM += Σ_h dr_h·w_r,h; dr_h·M_n into `readWeightSums`. */
  readVectorsBackward(b: number): void {
    const { memorySize: cells, cellSize: width, readHeads: heads } = this.sizes;
    const { at } = this;
    const memoryAt = b * cells * width;
    this.exports.readVectorsBackward(
      4 * (at.memory + memoryAt),
      cells,
      width,
      4 * (at.readWeights + b * heads * cells),
      heads,
      4 * (at.vectorGradient + b * heads * width),
      4 * (at.memoryGradient + memoryAt),
      4 * at.readWeightSums,
    );
  }

  /**
   * Backward of read head h's cosines for batch row b (step 8) into dM and dk_r,h, from `dotCoefficients` and
   * `normCoefficients`; `keyScale` is dLoss/d‖k‖ / ‖k‖ (0 for a zero key).
   */
  readContentBackward(b: number, head: number, keyScale: number): void {
    const { memorySize: cells, cellSize: width, readHeads: heads } = this.sizes;
    const { at } = this;
    const memoryAt = b * cells * width;
    const keyAt = (b * heads + head) * width;
    this.exports.contentBackward(
      4 * (at.memory + memoryAt),
      cells,
      width,
      4 * (at.readKeys + keyAt),
      4 * at.dotCoefficients,
      4 * at.normCoefficients,
      keyScale,
      4 * (at.memoryGradient + memoryAt),
      4 * (at.readKeysGradient + keyAt),
    );
  }

  /** Backward of step 5 for batch row b: assigns dM_prev, adds into de and dv, per-cell sums into `writeWeightSums`. */
  eraseWriteBackward(b: number, writeWeights: FloatArray): void {
    const { memorySize: cells, cellSize: width } = this.sizes;
    const { at } = this;
    this.heap.set(writeWeights, at.writeWeights);
    const memoryAt = b * cells * width;
    this.exports.eraseWriteBackward(
      4 * (at.memoryGradient + memoryAt),
      4 * (at.prevMemory + memoryAt),
      cells,
      width,
      4 * at.writeWeights,
      4 * (at.erase + b * width),
      4 * (at.write + b * width),
      4 * (at.prevMemoryGradient + memoryAt),
      4 * at.writeWeightSums,
      4 * (at.eraseGradient + b * width),
      4 * (at.writeGradient + b * width),
    );
  }

  /** Backward of the write key's cosines for batch row b (step 2), added into dM_prev and dk_w. */
  writeContentBackward(b: number, keyScale: number): void {
    const { memorySize: cells, cellSize: width } = this.sizes;
    const { at } = this;
    const memoryAt = b * cells * width;
    this.exports.contentBackward(
      4 * (at.prevMemory + memoryAt),
      cells,
      width,
      4 * (at.writeKey + b * width),
      4 * at.dotCoefficients,
      4 * at.normCoefficients,
      keyScale,
      4 * (at.prevMemoryGradient + memoryAt),
      4 * (at.writeKeyGradient + b * width),
    );
  }

  /** The gradients of the previous memory, keys, erase and write vectors of every batch row (assigned). */
  finish(gradients: DenseStepArrays): void {
    const { at, heap } = this;
    const copy = (target: FloatArray, from: number) => target.set(heap.subarray(from, from + target.length));
    copy(gradients.prevMemory, at.prevMemoryGradient);
    copy(gradients.writeKey, at.writeKeyGradient);
    copy(gradients.readKeys, at.readKeysGradient);
    copy(gradients.eraseVector, at.eraseGradient);
    copy(gradients.writeVector, at.writeGradient);
  }
}
