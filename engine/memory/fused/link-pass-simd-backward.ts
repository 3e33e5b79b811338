/**
 * The backward of the fused dense step's O(N²) temporal-linkage pass (Graves et al. 2016, Methods "Temporal memory
 * linkage": the gradients of L ← (1 − w_i − w_j)·L + w_i·p_j and of f = L·w_r, b = Lᵀ·w_r) in WebAssembly SIMD, on
 * the module and heap of `link-pass-simd.ts`, which also holds the forward and the SIMD switch;
 * `dense-step-kernel-backward.ts`'s JavaScript loops stay the definition (`link-pass-simd.test.ts`).
 */
import type { DenseStepSizes, FloatArray } from './dense-step-layout';
import { regions } from '../../util/simd-module';
import { ChunkWindow, chunkRows } from './chunk-window';
import {
  addRows,
  instance,
  type LinkPassExports,
  putRows,
  reserve,
  strideOf,
  takeRows,
  zeroHeap,
} from './link-pass-simd';

/**
 * The link pass's backward of one step in SIMD. `open` takes prevLinks, prevPrecedence and prevReadWeights as
 * `LinkPassForward`, `linkGradient` [B,N,N] (dLoss/dL of the new links) and `prevLinksGradient` [B,N,N], which
 * receives dLoss/dL_prev (assigned); the kernel calls `row(b, …)` for b = 0, 1, … in order and then `finish()`.
 */
export class LinkPassBackward {
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
      linkGradient: FloatArray;
      prevLinksGradient: FloatArray;
    },
    private readonly at: {
      prevLinks: number;
      linkGradient: number;
      precedence: number;
      prevRead: number;
      writeWeights: number;
      forwardGradient: number;
      backwardGradient: number;
      prevReadGradient: number;
      writeWeightsGradient: number;
      precedenceGradient: number;
      scratch: number;
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
    linkGradient: FloatArray,
    prevLinksGradient: FloatArray,
  ): LinkPassBackward | null {
    const exports = instance();
    if (exports === null) return null;
    const { batch, memorySize: cells, readHeads: heads } = sizes;
    const stride = strideOf(cells);
    const rows = chunkRows(batch, cells, stride);
    const take = regions();
    const at = {
      prevLinks: take(rows * cells * stride),
      linkGradient: take(rows * cells * stride),
      precedence: take(rows * stride),
      prevRead: take(rows * heads * stride),
      writeWeights: take(stride),
      forwardGradient: take(heads * stride),
      backwardGradient: take(heads * stride),
      prevReadGradient: take(heads * stride),
      writeWeightsGradient: take(stride),
      precedenceGradient: take(stride),
      scratch: take(stride),
    };
    if (!reserve(exports, take(0))) return null;
    const arrays = { prevLinks, prevPrecedence, prevReadWeights, linkGradient, prevLinksGradient };
    return new LinkPassBackward(exports, sizes, stride, rows, arrays, at);
  }

  /**
   * Batch row b: w_w [N], dLoss/df and dLoss/db [R,N] in; added into `prevReadGradient` [R,N],
   * `writeWeightsGradient` [N] and `precedenceGradient` [N]; its dLoss/dL_prev goes out when its chunk is done.
   */
  row(
    b: number,
    writeWeights: FloatArray,
    forwardGradient: FloatArray,
    backwardGradient: FloatArray,
    prevReadGradient: FloatArray,
    writeWeightsGradient: FloatArray,
    precedenceGradient: FloatArray,
  ): void {
    const inChunk = this.window.enter(b);
    const { memorySize: cells, readHeads: heads } = this.sizes;
    const { at, stride } = this;
    putRows(writeWeights, 1, cells, stride, at.writeWeights);
    putRows(forwardGradient, heads, cells, stride, at.forwardGradient);
    putRows(backwardGradient, heads, cells, stride, at.backwardGradient);
    zeroHeap(at.prevReadGradient, at.scratch);
    this.exports.linkBackward(
      cells,
      stride,
      heads,
      4 * (at.prevLinks + inChunk * cells * stride),
      4 * at.writeWeights,
      4 * (at.precedence + inChunk * stride),
      4 * (at.prevRead + inChunk * heads * stride),
      4 * at.forwardGradient,
      4 * at.backwardGradient,
      4 * (at.linkGradient + inChunk * cells * stride),
      4 * at.prevReadGradient,
      4 * at.writeWeightsGradient,
      4 * at.precedenceGradient,
      4 * at.scratch,
    );
    addRows(prevReadGradient, heads, cells, stride, at.prevReadGradient);
    addRows(writeWeightsGradient, 1, cells, stride, at.writeWeightsGradient);
    addRows(precedenceGradient, 1, cells, stride, at.precedenceGradient);
  }

  /** Writes the last chunk's dLoss/dL_prev out. */
  finish(): void {
    this.window.flush();
  }

  private load(b: number, end: number): void {
    const { memorySize: cells, readHeads: heads } = this.sizes;
    const { arrays, at, stride } = this;
    const count = end - b;
    const matrices = (values: FloatArray) => values.subarray(b * cells * cells, end * cells * cells);
    putRows(matrices(arrays.prevLinks), count * cells, cells, stride, at.prevLinks);
    putRows(matrices(arrays.linkGradient), count * cells, cells, stride, at.linkGradient);
    putRows(arrays.prevPrecedence.subarray(b * cells, end * cells), count, cells, stride, at.precedence);
    const reads = arrays.prevReadWeights.subarray(b * heads * cells, end * heads * cells);
    putRows(reads, count * heads, cells, stride, at.prevRead);
  }

  private writeOut(start: number, end: number): void {
    const { memorySize: cells } = this.sizes;
    const target = this.arrays.prevLinksGradient.subarray(start * cells * cells, end * cells * cells);
    takeRows(target, (end - start) * cells, cells, this.stride, this.at.linkGradient);
  }
}
