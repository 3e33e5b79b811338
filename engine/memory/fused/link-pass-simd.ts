/**
 * The O(N²) temporal-linkage pass of the fused dense step (Graves et al. 2016, Methods "Temporal memory linkage":
 * the link update L ← (1 − w_i − w_j)·L + w_i·p_j with a zero diagonal, and the temporal weightings f = L·w_r,
 * b = Lᵀ·w_r, with their gradients) in WebAssembly SIMD, float32, four cells per instruction: `wasm/link-pass.wat`,
 * assembled by `npm run build:wasm` into `wasm/link-pass-wasm.ts`. The JavaScript loops in `dense-step-kernel.ts`
 * and `dense-step-kernel-backward.ts` stay the definition; `link-pass-simd.test.ts` holds this copy to them.
 *
 * Each thread instantiates the module once and keeps its memory, grown to the largest step seen, for every later
 * step. A step's arrays are copied in a chunk of batch rows at a time (the whole batch up to N 1024 at B 1), rows
 * padded with zeros to a multiple of 4 cells, and its link matrices (or their gradients) out the same way.
 * `ENGRAM_DENSE_SIMD=off` or `setDenseStepSimd('off')` keeps the JavaScript loops; 'auto' (the default) uses SIMD
 * for float32 arrays (the engine's) where WebAssembly SIMD is available, and the JavaScript loops for float64
 * (the gradient checks'). This file holds the switch, the module and its heap, and the forward;
 * `link-pass-simd-backward.ts` runs the backward on the same instance.
 */
import type { DenseStepSizes, FloatArray } from './dense-step-layout';
import { LINK_PASS_WASM_BASE64 } from './wasm/link-pass-wasm';
import {
  allFloat32,
  growMemoryTo,
  instantiateSimdModule,
  regions,
  type SimdMode,
  type SimdModuleExports,
  simdModeSwitch,
} from '../../util/simd-module';
import { ChunkWindow, chunkRows } from './chunk-window';

/** 'auto': SIMD for float32 steps where available; 'off': always the JavaScript loops. */
export type DenseStepSimdMode = SimdMode;

const simdSwitch = simdModeSwitch('ENGRAM_DENSE_SIMD', 'setDenseStepSimd');

/**
 * The fused dense step's SIMD mode, for its link pass and its memory rows (`memory-rows-simd.ts`) alike:
 * `setDenseStepSimd`'s, else `ENGRAM_DENSE_SIMD` ('auto' or 'off'; default 'auto').
 */
export function denseStepSimdMode(): DenseStepSimdMode {
  return simdSwitch.mode();
}

/** Force the mode for this thread (`null` returns to the environment's); the two-core split passes it on. */
export function setDenseStepSimd(mode: DenseStepSimdMode | null): void {
  simdSwitch.set(mode);
}

export type LinkPassExports = SimdModuleExports<'linkForward' | 'linkBackward'>;

/** This thread's instance: undefined until first asked for, null where WebAssembly SIMD is unavailable. */
let linkPass: LinkPassExports | null | undefined;
/** A float32 view of the instance's memory, replaced whenever the memory grows (growing detaches the old one). */
let heap = new Float32Array(0);

/** This thread's instance, instantiated on the first call (for the forward and the backward alike). */
export function instance(): LinkPassExports | null {
  if (linkPass !== undefined) return linkPass;
  linkPass = instantiateSimdModule(LINK_PASS_WASM_BASE64, ['linkForward', 'linkBackward'], 'the dense link pass');
  if (linkPass !== null) heap = new Float32Array(linkPass.memory.buffer);
  return linkPass;
}

/** Grow this thread's memory to hold `floats` float32 values; false when it cannot (past WebAssembly's 4 GiB). */
export function reserve(exports: LinkPassExports, floats: number): boolean {
  if (!growMemoryTo(exports.memory, floats)) return false;
  if (heap.buffer !== exports.memory.buffer) heap = new Float32Array(exports.memory.buffer);
  return true;
}

/** Whether a step over these arrays takes the SIMD link pass (checked once per step). */
export function linkPassSimdApplies(...arrays: readonly FloatArray[]): boolean {
  return denseStepSimdMode() !== 'off' && allFloat32(arrays) && instance() !== null;
}

/** N rounded up to whole SIMD vectors. */
export function strideOf(cells: number): number {
  return Math.ceil(cells / 4) * 4;
}

/** `count` rows of `cells` values into the heap at `at`, each padded with zeros to `stride`. */
export function putRows(values: FloatArray, count: number, cells: number, stride: number, at: number): void {
  if (stride === cells) {
    heap.set(values.subarray(0, count * cells), at);
    return;
  }
  for (let row = 0; row < count; row++) {
    const start = at + row * stride;
    heap.set(values.subarray(row * cells, (row + 1) * cells), start);
    heap.fill(0, start + cells, start + stride);
  }
}

/** `count` padded rows from the heap at `at` into `target` (assigned). */
export function takeRows(target: FloatArray, count: number, cells: number, stride: number, at: number): void {
  if (stride === cells) {
    target.set(heap.subarray(at, at + count * cells));
    return;
  }
  for (let row = 0; row < count; row++)
    target.set(heap.subarray(at + row * stride, at + row * stride + cells), row * cells);
}

/** Zeros the heap from `start` up to `end`. */
export function zeroHeap(start: number, end: number): void {
  heap.fill(0, start, end);
}

/** `count` padded rows from the heap at `at` added into `target`. */
export function addRows(target: FloatArray, count: number, cells: number, stride: number, at: number): void {
  for (let row = 0; row < count; row++) {
    const from = at + row * stride;
    const to = row * cells;
    for (let n = 0; n < cells; n++) target[to + n] += heap[from + n];
  }
}

/**
 * The forward link pass of one step in SIMD. `open` takes the step's prevLinks [B,N,N] (zero diagonal),
 * prevPrecedence [B,N] and prevReadWeights [B,R,N], and `links` [B,N,N], which receives the new link matrices; the
 * kernel calls `row(b, …)` for b = 0, 1, … in order and then `finish()`. The inputs go into the heap a chunk of batch
 * rows at a time (one copy per array per chunk) and the new links come out the same way.
 */
export class LinkPassForward {
  private readonly window: ChunkWindow;

  private constructor(
    private readonly exports: LinkPassExports,
    private readonly sizes: DenseStepSizes,
    private readonly stride: number,
    rowsPerChunk: number,
    private readonly arrays: {
      prevLinks: FloatArray;
      prevPrecedence: FloatArray;
      prevReadWeights: FloatArray;
      links: FloatArray;
    },
    private readonly at: {
      links: number;
      precedence: number;
      prevRead: number;
      writeWeights: number;
      forward: number;
      backward: number;
    },
  ) {
    const load = (start: number, end: number) => this.load(start, end);
    const writeOut = (start: number, end: number) => this.writeOut(start, end);
    this.window = new ChunkWindow(sizes.batch, rowsPerChunk, load, writeOut);
  }

  /** Null (nothing written) when the memory cannot grow to the step: the caller keeps the JavaScript loops. */
  static open(
    sizes: DenseStepSizes,
    prevLinks: FloatArray,
    prevPrecedence: FloatArray,
    prevReadWeights: FloatArray,
    links: FloatArray,
  ): LinkPassForward | null {
    const exports = instance();
    if (exports === null) return null;
    const { batch, memorySize: cells, readHeads: heads } = sizes;
    const stride = strideOf(cells);
    const rows = chunkRows(batch, cells, stride);
    const take = regions();
    const at = {
      links: take(rows * cells * stride),
      precedence: take(rows * stride),
      prevRead: take(rows * heads * stride),
      writeWeights: take(stride),
      forward: take(heads * stride),
      backward: take(heads * stride),
    };
    if (!reserve(exports, take(0))) return null;
    const arrays = { prevLinks, prevPrecedence, prevReadWeights, links };
    return new LinkPassForward(exports, sizes, stride, rows, arrays, at);
  }

  /**
   * Batch row b with its write weights w_w [N] in [0, 1]: f and b [R,N] assigned into `forwardWeights` and
   * `backwardWeights`; its new links go into `links` when its chunk is done.
   */
  row(b: number, writeWeights: FloatArray, forwardWeights: FloatArray, backwardWeights: FloatArray): void {
    const inChunk = this.window.enter(b);
    const { memorySize: cells, readHeads: heads } = this.sizes;
    const { at, stride } = this;
    putRows(writeWeights, 1, cells, stride, at.writeWeights);
    zeroHeap(at.backward, at.backward + heads * stride);
    this.exports.linkForward(
      cells,
      stride,
      heads,
      4 * (at.links + inChunk * cells * stride),
      4 * at.writeWeights,
      4 * (at.precedence + inChunk * stride),
      4 * (at.prevRead + inChunk * heads * stride),
      4 * at.forward,
      4 * at.backward,
    );
    takeRows(forwardWeights, heads, cells, stride, at.forward);
    takeRows(backwardWeights, heads, cells, stride, at.backward);
  }

  /** Writes the last chunk's new links out. */
  finish(): void {
    this.window.flush();
  }

  private load(b: number, end: number): void {
    const { memorySize: cells, readHeads: heads } = this.sizes;
    const { arrays, at, stride } = this;
    const count = end - b;
    putRows(arrays.prevLinks.subarray(b * cells * cells, end * cells * cells), count * cells, cells, stride, at.links);
    putRows(arrays.prevPrecedence.subarray(b * cells, end * cells), count, cells, stride, at.precedence);
    const reads = arrays.prevReadWeights.subarray(b * heads * cells, end * heads * cells);
    putRows(reads, count * heads, cells, stride, at.prevRead);
  }

  private writeOut(start: number, end: number): void {
    const { memorySize: cells } = this.sizes;
    const target = this.arrays.links.subarray(start * cells * cells, end * cells * cells);
    takeRows(target, (end - start) * cells, cells, this.stride, this.at.links);
  }
}
