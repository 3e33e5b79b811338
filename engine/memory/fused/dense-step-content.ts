/**
 * Content addressing for the fused dense memory step (Graves et al. 2016, Methods: "Content-based addressing"):
 * row norms and dot products of memory rows with a key, and the softmax over cells of β·cos(M_n, k) with
 * pytorch-dnc's cosine `dot / (‖M‖‖k‖ + 1e-6)`, on typed arrays. Used by `denseStepForward` for the write key
 * (step 2) and the read keys (step 8).
 */
import * as constants from '../../util/constants';
import type { FloatArray } from './dense-step-layout';

// A local copy: tsx compiles an imported binding to a getter call, and this is read in the innermost loops
// (about 5 % of the kernel's time at B 100, N 16, W 20, R 4).
const COSINE_EPSILON = constants.COSINE_EPSILON;

/** Euclidean norms of `count` rows of width `width` starting at `offset`, into `norms[normOffset…]`. */
export function rowNorms(
  rows: FloatArray,
  offset: number,
  count: number,
  width: number,
  norms: Float64Array,
  normOffset: number,
): void {
  for (let row = 0; row < count; row++) {
    let sum = 0;
    const base = offset + row * width;
    for (let k = 0; k < width; k++) sum += rows[base + k] * rows[base + k];
    norms[normOffset + row] = Math.sqrt(sum);
  }
}

/** ‖k‖ of the `width` values at `key[keyOffset…]`. */
export function vectorNorm(key: FloatArray, keyOffset: number, width: number): number {
  let keySquares = 0;
  for (let k = 0; k < width; k++) keySquares += key[keyOffset + k] * key[keyOffset + k];
  return Math.sqrt(keySquares);
}

/** The dot products M_n·k of `cells` rows at `memory[memoryOffset…]` with the key, into `dots[0…cells)`. */
export function rowDots(
  memory: FloatArray,
  memoryOffset: number,
  key: FloatArray,
  keyOffset: number,
  cells: number,
  width: number,
  dots: Float64Array,
): void {
  for (let n = 0; n < cells; n++) {
    let dot = 0;
    const base = memoryOffset + n * width;
    for (let k = 0; k < width; k++) dot += memory[base + k] * key[keyOffset + k];
    dots[n] = dot;
  }
}

/**
 * Content weighting (paper: C(M, k, β)): softmax over cells of β·cos(M_n, k), with pytorch-dnc's cosine, from the
 * dot products M_n·k at `dots[dotsOffset…]`, the row norms and ‖k‖. Writes cosines and weights at `outOffset`.
 */
export function contentWeighting(
  dots: FloatArray,
  dotsOffset: number,
  memoryNorms: Float64Array,
  normOffset: number,
  keyNorm: number,
  strength: number,
  cells: number,
  cosines: Float64Array,
  weights: Float64Array,
  outOffset: number,
): void {
  let maxLogit = -Infinity;
  for (let n = 0; n < cells; n++) {
    const cosine = dots[dotsOffset + n] / (memoryNorms[normOffset + n] * keyNorm + COSINE_EPSILON);
    cosines[outOffset + n] = cosine;
    const logit = strength * cosine;
    if (logit > maxLogit) maxLogit = logit;
  }
  let total = 0;
  for (let n = 0; n < cells; n++) {
    const e = Math.exp(strength * cosines[outOffset + n] - maxLogit);
    weights[outOffset + n] = e;
    total += e;
  }
  for (let n = 0; n < cells; n++) weights[outOffset + n] /= total;
}
