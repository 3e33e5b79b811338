/**
 * The O(N·W) loops over memory rows of the fused dense step (Graves et al. 2016, Methods "Memory addressing": the
 * content weightings' dot products and row norms, erase and write, the read vectors, and their gradients) in
 * WebAssembly SIMD, float32, four word positions per instruction: `wasm/memory-rows.wat`, assembled by
 * `npm run build:wasm` into `wasm/memory-rows-wasm.ts`. The JavaScript loops in `dense-step-kernel.ts` and
 * `dense-step-kernel-backward.ts` stay the definition; `memory-rows-simd.test.ts` holds this copy to them. The scalar
 * work between the loops (softmaxes, the allocation sort, gates, usage) stays in JavaScript and reads the results from
 * heap views.
 *
 * At B 100, N 16 a call per loop per batch row is cheap, but a copy per row is not: each step copies its whole-batch
 * arrays (memory, keys, erase and write vectors, and in the backward the gradients) into the module's memory once, the
 * kernel calls the module per batch row with offsets into them, and the results go back in one copy per array. Each
 * thread instantiates the module once and grows its memory to the largest step seen. It follows the link pass's switch
 * (`denseStepSimdMode` in `link-pass-simd.ts`): float32 steps only, never with `ENGRAM_DENSE_SIMD=off`. This file
 * loads the module and runs the forward; `memory-rows-simd-backward.ts` runs the backward on the same instance.
 */
import type { DenseStepArrays, DenseStepSizes, FloatArray } from './dense-step-layout';
import { densePackedLayout } from './dense-step-layout';
import { denseStepSimdMode } from './link-pass-simd';
import { MEMORY_ROWS_WASM_BASE64 } from './wasm/memory-rows-wasm';
import {
  allFloat32,
  growMemoryTo,
  instantiateSimdModule,
  regions,
  type SimdModuleExports,
} from '../../util/simd-module';

const EXPORTED_FUNCTIONS = [
  'rowDots',
  'eraseWrite',
  'readVectors',
  'readVectorsBackward',
  'contentBackward',
  'eraseWriteBackward',
] as const;

export type MemoryRowsExports = SimdModuleExports<(typeof EXPORTED_FUNCTIONS)[number]>;

/** This thread's instance: undefined until first asked for, null where WebAssembly SIMD is unavailable. */
let memoryRows: MemoryRowsExports | null | undefined;

/** This thread's instance, instantiated on the first call (for the forward and the backward alike). */
export function instance(): MemoryRowsExports | null {
  if (memoryRows !== undefined) return memoryRows;
  memoryRows = instantiateSimdModule(MEMORY_ROWS_WASM_BASE64, EXPORTED_FUNCTIONS, 'the dense memory rows');
  return memoryRows;
}

/** This thread's memory grown to `floats` float32 values and a view of it; null when it cannot grow (past 4 GiB). */
export function reserve(exports: MemoryRowsExports, floats: number): Float32Array | null {
  return growMemoryTo(exports.memory, floats) ? new Float32Array(exports.memory.buffer) : null;
}

/** Whether a step over these arrays takes the SIMD memory rows (checked once per step). */
export function memoryRowsSimdApplies(...arrays: readonly FloatArray[]): boolean {
  return denseStepSimdMode() !== 'off' && allFloat32(arrays) && instance() !== null;
}

/**
 * One forward step's memory rows in the heap. After `open`, per batch row b: `previousDots(b)` (step 2's sums over
 * the previous memory), `eraseWrite(b, w_w)` (step 5), `memoryDots(b)` (step 8's sums over the new memory) and
 * `readVectors(b, …)` (step 11); then `copyMemory` writes the new memory of every row into the packed output.
 */
export class MemoryRowsForward {
  /** ‖M_n‖² of the rows last summed: [N]. */
  readonly squares: Float32Array;
  /** M_n·k_h of the rows last summed: [heads, N] (one head for the write key). */
  readonly dots: Float32Array;

  private constructor(
    private readonly exports: MemoryRowsExports,
    private readonly heap: Float32Array,
    private readonly sizes: DenseStepSizes,
    private readonly at: {
      prevMemory: number;
      memory: number;
      writeKey: number;
      readKeys: number;
      erase: number;
      write: number;
      writeWeights: number;
      readWeights: number;
      squares: number;
      dots: number;
      vectors: number;
    },
  ) {
    this.squares = heap.subarray(at.squares, at.squares + sizes.memorySize);
    this.dots = heap.subarray(at.dots, at.dots + sizes.readHeads * sizes.memorySize);
  }

  /** Copies the step's inputs in; null when the memory cannot grow to the step (the caller keeps the JS loops). */
  static open(sizes: DenseStepSizes, inputs: DenseStepArrays): MemoryRowsForward | null {
    const exports = instance();
    if (exports === null) return null;
    const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
    const take = regions();
    const at = {
      prevMemory: take(batch * cells * width),
      memory: take(batch * cells * width),
      writeKey: take(batch * width),
      readKeys: take(batch * heads * width),
      erase: take(batch * width),
      write: take(batch * width),
      writeWeights: take(cells),
      readWeights: take(heads * cells),
      squares: take(cells),
      dots: take(heads * cells),
      vectors: take(heads * width),
    };
    const heap = reserve(exports, take(0));
    if (heap === null) return null;
    heap.set(inputs.prevMemory, at.prevMemory);
    heap.set(inputs.writeKey, at.writeKey);
    heap.set(inputs.readKeys, at.readKeys);
    heap.set(inputs.eraseVector, at.erase);
    heap.set(inputs.writeVector, at.write);
    return new MemoryRowsForward(exports, heap, sizes, at);
  }

  /** Step 2's sums for batch row b: ‖M_prev,n‖² into `squares`, M_prev,n·k_w into `dots[0…N)`. */
  previousDots(b: number): void {
    const { memorySize: cells, cellSize: width } = this.sizes;
    const { at } = this;
    this.exports.rowDots(
      4 * (at.prevMemory + b * cells * width),
      cells,
      width,
      4 * (at.writeKey + b * width),
      1,
      4 * at.squares,
      4 * at.dots,
    );
  }

  /** Step 5 for batch row b, from the write weights w_w [N]. */
  eraseWrite(b: number, writeWeights: FloatArray): void {
    const { memorySize: cells, cellSize: width } = this.sizes;
    const { at } = this;
    this.heap.set(writeWeights, at.writeWeights);
    const memoryAt = b * cells * width;
    this.exports.eraseWrite(
      4 * (at.prevMemory + memoryAt),
      4 * (at.memory + memoryAt),
      cells,
      width,
      4 * at.writeWeights,
      4 * (at.erase + b * width),
      4 * (at.write + b * width),
    );
  }

  /** Step 8's sums for batch row b: ‖M_n‖² of the new memory into `squares`, M_n·k_r,h into `dots` [R,N]. */
  memoryDots(b: number): void {
    const { memorySize: cells, cellSize: width, readHeads: heads } = this.sizes;
    const { at } = this;
    this.exports.rowDots(
      4 * (at.memory + b * cells * width),
      cells,
      width,
      4 * (at.readKeys + b * heads * width),
      heads,
      4 * at.squares,
      4 * at.dots,
    );
  }

  /** Step 11 for batch row b: read weights w_r [R,N] in, read vectors [R,W] assigned into `target`. */
  readVectors(b: number, readWeights: FloatArray, target: FloatArray): void {
    const { memorySize: cells, cellSize: width, readHeads: heads } = this.sizes;
    const { at, heap } = this;
    heap.set(readWeights, at.readWeights);
    heap.fill(0, at.vectors, at.vectors + heads * width);
    this.exports.readVectors(
      4 * (at.memory + b * cells * width),
      cells,
      width,
      4 * at.readWeights,
      heads,
      4 * at.vectors,
    );
    target.set(heap.subarray(at.vectors, at.vectors + heads * width));
  }

  /** The new memory of every batch row [B,N,W] into `packed`'s memory block. */
  copyMemory(packed: FloatArray): void {
    const { batch, memorySize: cells, cellSize: width } = this.sizes;
    const size = batch * cells * width;
    packed.set(this.heap.subarray(this.at.memory, this.at.memory + size), densePackedLayout(this.sizes).memory);
  }
}
