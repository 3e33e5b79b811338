/**
 * The O(N²) temporal-linkage pass of the fused dense step (Graves et al. 2016, Methods "Temporal memory linkage":
 * the link update L ← (1 − w_i − w_j)·L + w_i·p_j with a zero diagonal, and the temporal weightings f = L·w_r,
 * b = Lᵀ·w_r, with their gradients) in WebAssembly SIMD, float32, four cells per instruction: `wasm/link-pass.wat`,
 * assembled by `npm run build:wasm` into `wasm/link-pass-wasm.ts`. The JavaScript loops in `dense-step-kernel.ts`
 * and `dense-step-kernel-backward.ts` stay the definition; `link-pass-simd.test.ts` holds this copy to them.
 *
 * Each thread instantiates the module once and keeps its memory, grown to the largest step seen, for every later
 * step. A batch row's arrays are copied in (rows padded with zeros to a multiple of 4 cells) and its results out.
 * `ENGRAM_DENSE_SIMD=off` or `setDenseStepSimd('off')` keeps the JavaScript loops; 'auto' (the default) uses SIMD
 * for float32 arrays (the engine's) where WebAssembly SIMD is available, and the JavaScript loops for float64
 * (the gradient checks').
 */
import type { FloatArray } from './dense-step-layout';
import { LINK_PASS_WASM_BASE64 } from './wasm/link-pass-wasm';

/** 'auto': SIMD for float32 steps where available; 'off': always the JavaScript loops. */
export type DenseStepSimdMode = 'auto' | 'off';

let modeOverride: DenseStepSimdMode | null = null;

/**
 * The fused dense step's SIMD mode, for its link pass and its memory rows (`memory-rows-simd.ts`) alike:
 * `setDenseStepSimd`'s, else `ENGRAM_DENSE_SIMD` ('auto' or 'off'; default 'auto').
 */
export function denseStepSimdMode(): DenseStepSimdMode {
  if (modeOverride !== null) return modeOverride;
  const raw = process.env.ENGRAM_DENSE_SIMD;
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'off') return 'off';
  throw new Error(`ENGRAM_DENSE_SIMD must be 'auto' or 'off', got '${raw}'`);
}

/** Force the mode for this thread (`null` returns to the environment's); the two-core split passes it on. */
export function setDenseStepSimd(mode: DenseStepSimdMode | null): void {
  if (mode !== null && mode !== 'auto' && mode !== 'off') {
    throw new Error(`setDenseStepSimd: mode must be 'auto', 'off' or null, got '${String(mode)}'`);
  }
  modeOverride = mode;
}

interface LinkPassExports {
  readonly memory: WebAssembly.Memory;
  linkForward(...args: number[]): void;
  linkBackward(...args: number[]): void;
}

function isLinkPassExports(exports: WebAssembly.Exports): exports is WebAssembly.Exports & LinkPassExports {
  return (
    exports.memory instanceof WebAssembly.Memory &&
    typeof exports.linkForward === 'function' &&
    typeof exports.linkBackward === 'function'
  );
}

/** This thread's instance: undefined until first asked for, null where WebAssembly SIMD is unavailable. */
let linkPass: LinkPassExports | null | undefined;
/** A float32 view of the instance's memory, replaced whenever the memory grows (growing detaches the old one). */
let heap = new Float32Array(0);

function instance(): LinkPassExports | null {
  if (linkPass !== undefined) return linkPass;
  try {
    const module = new WebAssembly.Module(Buffer.from(LINK_PASS_WASM_BASE64, 'base64'));
    const { exports } = new WebAssembly.Instance(module);
    if (!isLinkPassExports(exports)) throw new Error('the module lacks memory, linkForward or linkBackward');
    linkPass = exports;
    heap = new Float32Array(exports.memory.buffer);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.warn(`[engram] WebAssembly SIMD is unavailable (${reason}); the dense link pass runs in JavaScript`);
    linkPass = null;
  }
  return linkPass;
}

const PAGE_BYTES = 65_536;

/** Grow this thread's memory to hold `floats` float32 values; false when it cannot (past WebAssembly's 4 GiB). */
function reserve(exports: LinkPassExports, floats: number): boolean {
  const bytes = 4 * floats;
  const have = exports.memory.buffer.byteLength;
  if (bytes > have) {
    try {
      exports.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    } catch {
      return false;
    }
  }
  if (heap.buffer !== exports.memory.buffer) heap = new Float32Array(exports.memory.buffer);
  return true;
}

/** Whether a step over these arrays takes the SIMD link pass (checked once per step). */
export function linkPassSimdApplies(...arrays: readonly FloatArray[]): boolean {
  if (denseStepSimdMode() === 'off') return false;
  for (const array of arrays) if (!(array instanceof Float32Array)) return false;
  return instance() !== null;
}

/** N rounded up to whole SIMD vectors. */
function strideOf(cells: number): number {
  return Math.ceil(cells / 4) * 4;
}

/** `count` rows of `cells` values into the heap at `at`, each padded with zeros to `stride`. */
function putRows(values: FloatArray, count: number, cells: number, stride: number, at: number): void {
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
function takeRows(target: FloatArray, count: number, cells: number, stride: number, at: number): void {
  if (stride === cells) {
    target.set(heap.subarray(at, at + count * cells));
    return;
  }
  for (let row = 0; row < count; row++)
    target.set(heap.subarray(at + row * stride, at + row * stride + cells), row * cells);
}

/** `count` padded rows from the heap at `at` added into `target`. */
function addRows(target: FloatArray, count: number, cells: number, stride: number, at: number): void {
  for (let row = 0; row < count; row++) {
    const from = at + row * stride;
    const to = row * cells;
    for (let n = 0; n < cells; n++) target[to + n] += heap[from + n];
  }
}

/**
 * One batch row of the forward link pass (views on that row's arrays).
 * prevLinks [N,N] (zero diagonal), writeWeights [N], prevPrecedence [N], prevReadWeights [R,N] in [0, 1];
 * links [N,N] receives the new link matrix, forwardWeights and backwardWeights [R,N] receive f and b (assigned).
 */
export interface LinkForwardRow {
  readonly cells: number;
  readonly heads: number;
  readonly prevLinks: FloatArray;
  readonly writeWeights: FloatArray;
  readonly prevPrecedence: FloatArray;
  readonly prevReadWeights: FloatArray;
  readonly links: FloatArray;
  readonly forwardWeights: FloatArray;
  readonly backwardWeights: FloatArray;
}

/** The forward link pass of one batch row in SIMD; false (nothing written) when the memory cannot grow to it. */
export function linkForwardSimd(row: LinkForwardRow): boolean {
  const exports = instance();
  if (exports === null) return false;
  const { cells, heads } = row;
  const stride = strideOf(cells);
  const links = 0;
  const writeWeights = links + cells * stride;
  const precedence = writeWeights + stride;
  const prevRead = precedence + stride;
  const forward = prevRead + heads * stride;
  const backward = forward + heads * stride;
  if (!reserve(exports, backward + heads * stride)) return false;
  putRows(row.prevLinks, cells, cells, stride, links);
  putRows(row.writeWeights, 1, cells, stride, writeWeights);
  putRows(row.prevPrecedence, 1, cells, stride, precedence);
  putRows(row.prevReadWeights, heads, cells, stride, prevRead);
  heap.fill(0, backward, backward + heads * stride);
  exports.linkForward(
    cells,
    stride,
    heads,
    4 * links,
    4 * writeWeights,
    4 * precedence,
    4 * prevRead,
    4 * forward,
    4 * backward,
  );
  takeRows(row.links, cells, cells, stride, links);
  takeRows(row.forwardWeights, heads, cells, stride, forward);
  takeRows(row.backwardWeights, heads, cells, stride, backward);
  return true;
}

/**
 * One batch row of the link pass's backward (views on that row's arrays). Inputs as `LinkForwardRow`, plus
 * forwardGradient and backwardGradient [R,N] (dLoss/df, dLoss/db) and linkGradient [N,N] (dLoss/dL of the new
 * links). prevLinksGradient [N,N] is assigned; prevReadGradient [R,N], writeWeightsGradient [N] and
 * precedenceGradient [N] are added to.
 */
export interface LinkBackwardRow {
  readonly cells: number;
  readonly heads: number;
  readonly prevLinks: FloatArray;
  readonly writeWeights: FloatArray;
  readonly prevPrecedence: FloatArray;
  readonly prevReadWeights: FloatArray;
  readonly forwardGradient: FloatArray;
  readonly backwardGradient: FloatArray;
  readonly linkGradient: FloatArray;
  readonly prevLinksGradient: FloatArray;
  readonly prevReadGradient: FloatArray;
  readonly writeWeightsGradient: FloatArray;
  readonly precedenceGradient: FloatArray;
}

/** The link pass's backward for one batch row in SIMD; false (nothing written) when the memory cannot grow to it. */
export function linkBackwardSimd(row: LinkBackwardRow): boolean {
  const exports = instance();
  if (exports === null) return false;
  const { cells, heads } = row;
  const stride = strideOf(cells);
  const prevLinks = 0;
  const linkGradient = prevLinks + cells * stride;
  const writeWeights = linkGradient + cells * stride;
  const precedence = writeWeights + stride;
  const prevRead = precedence + stride;
  const forwardGradient = prevRead + heads * stride;
  const backwardGradient = forwardGradient + heads * stride;
  const prevReadGradient = backwardGradient + heads * stride;
  const writeWeightsGradient = prevReadGradient + heads * stride;
  const precedenceGradient = writeWeightsGradient + stride;
  const scratch = precedenceGradient + stride;
  if (!reserve(exports, scratch + stride)) return false;
  putRows(row.prevLinks, cells, cells, stride, prevLinks);
  putRows(row.linkGradient, cells, cells, stride, linkGradient);
  putRows(row.writeWeights, 1, cells, stride, writeWeights);
  putRows(row.prevPrecedence, 1, cells, stride, precedence);
  putRows(row.prevReadWeights, heads, cells, stride, prevRead);
  putRows(row.forwardGradient, heads, cells, stride, forwardGradient);
  putRows(row.backwardGradient, heads, cells, stride, backwardGradient);
  heap.fill(0, prevReadGradient, scratch);
  exports.linkBackward(
    cells,
    stride,
    heads,
    4 * prevLinks,
    4 * writeWeights,
    4 * precedence,
    4 * prevRead,
    4 * forwardGradient,
    4 * backwardGradient,
    4 * linkGradient,
    4 * prevReadGradient,
    4 * writeWeightsGradient,
    4 * precedenceGradient,
    4 * scratch,
  );
  takeRows(row.prevLinksGradient, cells, cells, stride, linkGradient);
  addRows(row.prevReadGradient, heads, cells, stride, prevReadGradient);
  addRows(row.writeWeightsGradient, 1, cells, stride, writeWeightsGradient);
  addRows(row.precedenceGradient, 1, cells, stride, precedenceGradient);
  return true;
}
