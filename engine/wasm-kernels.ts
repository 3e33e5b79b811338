/**
 * Copy-free replacements for three kernels of tfjs-backend-wasm 4.22 — not part of the paper.
 *
 * - **Identity** (`tf.clone`, and every tensor the tape saves for a gradient) allocates and copies on wasm; the cpu
 *   backend shares the data instead. Tensors are immutable and wasm's Reshape already shares its input's memory by
 *   reference count, so Identity does the same here. A copy-task training step saves ≈330 tensors this way.
 * - **Slice** reads its WHOLE input out of the heap (`readSync`, a copy) before copying the slice, and **SplitV**
 *   slices once per piece, so splitting into k pieces copies the input k + 1 times: the optimizer's flat parameter
 *   vector and the per-timestep split of the controller's input projection, every iteration. The replacement
 *   copies only the slice, straight from a view of the heap.
 *
 * Strings keep the original kernels. `prepareWasmBackend` installs the replacements once; the originals stay
 * reachable (`originalWasmKernel`) so tests can hold the new ones to them.
 */
import * as tf from '@tensorflow/tfjs';

type KernelFunction = tf.KernelConfig['kernelFunc'];
type KernelArguments = Parameters<KernelFunction>[0];

/** The part of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackendLike {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function isWasmBackend(backend: unknown): backend is WasmBackendLike {
  return (
    typeof backend === 'object' &&
    backend !== null &&
    'incRef' in backend &&
    'makeOutput' in backend &&
    'typedArrayFromHeap' in backend
  );
}

function wasmBackendOf(args: KernelArguments, kernel: string): WasmBackendLike {
  if (!isWasmBackend(args.backend)) {
    throw new Error(`wasm-kernels ${kernel}: the backend is not tfjs-backend-wasm (no typedArrayFromHeap/incRef)`);
  }
  return args.backend;
}

function inputX(args: KernelArguments, kernel: string): tf.TensorInfo {
  const x = (args.inputs as { x?: tf.TensorInfo }).x;
  if (x === undefined) throw new Error(`wasm-kernels ${kernel}: input x is missing`);
  return x;
}

/** Identity that shares the input's memory (one more reference) instead of copying it. */
function sharedIdentity(original: KernelFunction): KernelFunction {
  return (args) => {
    const x = inputX(args, 'Identity');
    if (x.dtype === 'string') return original(args);
    wasmBackendOf(args, 'Identity').incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/**
 * Copy the box `begin … begin + size` of `x` into a new tensor, reading `x` through a view of the heap.
 * @param x any rank ≥ 1, float32/int32/bool
 * @param begin, size already resolved (no −1) by `slice_util.parseSliceParams`
 */
function copySlice(backend: WasmBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const count = size.reduce((a, b) => a * b, 1);
  if (count === 0) return out;
  // Views only after makeOutput: an allocation may grow (and so move) the heap.
  const source = backend.typedArrayFromHeap(x);
  const target = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = tf.slice_util.computeFlatOffset(begin, strides);
    target.set(source.subarray(offset, offset + count));
    return out;
  }
  // Walk the outer indices like an odometer; the innermost axis is one contiguous run each time.
  const rank = x.shape.length;
  const run = size[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  let written = 0;
  while (written < count) {
    let from = begin[rank - 1];
    for (let axis = 0; axis < rank - 1; axis++) from += (begin[axis] + index[axis]) * strides[axis];
    if (run >= 16) target.set(source.subarray(from, from + run), written);
    else for (let k = 0; k < run; k++) target[written + k] = source[from + k];
    written += run;
    for (let axis = rank - 2; axis >= 0; axis--) {
      if (++index[axis] < size[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

function heapSlice(original: KernelFunction): KernelFunction {
  return (args) => {
    const x = inputX(args, 'Slice');
    if (x.dtype === 'string' || x.shape.length === 0) return original(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [resolvedBegin, resolvedSize] = tf.slice_util.parseSliceParams(x, begin, size);
    return copySlice(wasmBackendOf(args, 'Slice'), x, resolvedBegin, resolvedSize);
  };
}

function heapSplitV(original: KernelFunction): KernelFunction {
  return (args) => {
    const x = inputX(args, 'SplitV');
    if (x.dtype === 'string') return original(args);
    const backend = wasmBackendOf(args, 'SplitV');
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const [splitAxis] = tf.util.parseAxisParam(axis, x.shape);
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, splitAxis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((piece) => {
      const size = [...x.shape];
      size[splitAxis] = piece;
      const part = copySlice(backend, x, [...begin], size);
      begin[splitAxis] += piece;
      return part;
    });
  };
}

const REPLACEMENTS: readonly [string, (original: KernelFunction) => KernelFunction][] = [
  ['Identity', sharedIdentity],
  ['Slice', heapSlice],
  ['SplitV', heapSplitV],
];

const originals = new Map<string, KernelFunction>();

/**
 * Install the replacements for the wasm backend (idempotent). Call after tfjs-backend-wasm is loaded; the engine's
 * backend choice does. `ENGRAM_WASM_KERNELS=off` keeps tfjs's own kernels (for comparisons).
 */
export function prepareWasmBackend(env: Readonly<Record<string, string | undefined>> = process.env): void {
  if (env.ENGRAM_WASM_KERNELS === 'off') return;
  for (const [name, replace] of REPLACEMENTS) {
    if (originals.has(name)) continue;
    const config = tf.getKernel(name, 'wasm');
    if (config === undefined) continue;
    originals.set(name, config.kernelFunc);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...config, kernelFunc: replace(config.kernelFunc) });
  }
}

/** Put tfjs's own kernels back (tests and comparisons). */
export function restoreWasmKernels(): void {
  for (const [name, kernelFunc] of originals) {
    const config = tf.getKernel(name, 'wasm');
    if (config === undefined) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...config, kernelFunc });
  }
  originals.clear();
}

/** tfjs's own kernel that `prepareWasmBackend` replaced, or undefined when none was replaced. */
export function originalWasmKernel(name: 'Identity' | 'Slice' | 'SplitV'): KernelFunction | undefined {
  return originals.get(name);
}
