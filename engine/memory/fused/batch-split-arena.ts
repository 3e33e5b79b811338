/**
 * The shared memory a split fused step hands its helper worker (`batch-split.ts`): a pool of reused
 * SharedArrayBuffers, the layouts of the forward, backward and tape arenas that both threads read the same way, and
 * the copies of batch rows between the whole batch's arrays and a part's.
 */
import { denseStepTapeBytes, type DenseStepTape, tapeOnBuffer } from './dense-step-tape';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepArrays,
  denseStepInputShapes,
  densePackedLayout,
  type DenseStepArrays,
  type DenseStepSizes,
} from './dense-step-layout';

/**
 * Shared buffers kept for reuse: a step allocates the same sizes every time, and fresh SharedArrayBuffers of
 * megabytes each step cost page faults and push V8 into collections. Idle buffers are capped at POOL_BYTES.
 */
const POOL_BYTES = 256 * 1024 * 1024;
const idleBuffers = new Map<number, SharedArrayBuffer[]>();
let idleBytes = 0;

export function acquireBuffer(bytes: number): SharedArrayBuffer {
  const idle = idleBuffers.get(bytes);
  const reused = idle?.pop();
  if (reused !== undefined) {
    idleBytes -= bytes;
    return reused;
  }
  return new SharedArrayBuffer(bytes);
}

export function releaseBuffer(buffer: SharedArrayBuffer): void {
  if (idleBytes + buffer.byteLength > POOL_BYTES) return;
  const idle = idleBuffers.get(buffer.byteLength) ?? [];
  idle.push(buffer);
  idleBuffers.set(buffer.byteLength, idle);
  idleBytes += buffer.byteLength;
}

/** Each input's rows [start, end) as views on the same arrays. */
export function rowViews(
  sizes: DenseStepSizes,
  inputs: DenseStepArrays<Float32Array>,
  start: number,
  end: number,
): DenseStepArrays<Float32Array> {
  const shapes = denseStepInputShapes(sizes);
  return denseStepArrays(
    DENSE_STEP_INPUT_NAMES.map((name) => {
      const rowSize = shapes[name].reduce((a, b) => a * b, 1);
      return inputs[name].subarray(start * rowSize, end * rowSize);
    }),
  );
}

export function sharedArray(length: number): Float32Array<SharedArrayBuffer> {
  return new Float32Array(acquireBuffer(4 * length));
}

/** Sixteen input arrays of `sizes.batch` rows as consecutive views on `arena` from element `start`. */
function inputViews(sizes: DenseStepSizes, arena: SharedArrayBuffer, start: number): DenseStepArrays<Float32Array> {
  const shapes = denseStepInputShapes(sizes);
  let at = start;
  return denseStepArrays(
    DENSE_STEP_INPUT_NAMES.map((name) => {
      const length = sizes.batch * shapes[name].reduce((a, b) => a * b, 1);
      const view = new Float32Array(arena, 4 * at, length);
      at += length;
      return view;
    }),
  );
}

/** Elements of the sixteen inputs of a step of these sizes. */
function inputElements(sizes: DenseStepSizes): number {
  const shapes = denseStepInputShapes(sizes);
  return DENSE_STEP_INPUT_NAMES.reduce((sum, name) => sum + sizes.batch * shapes[name].reduce((a, b) => a * b, 1), 0);
}

/** A forward job's arena: the rows' inputs, then their packed output. */
export function forwardJobViews(
  sizes: DenseStepSizes,
  arena: SharedArrayBuffer,
): { inputs: DenseStepArrays<Float32Array>; packed: Float32Array } {
  const inputCount = inputElements(sizes);
  return {
    inputs: inputViews(sizes, arena, 0),
    packed: new Float32Array(arena, 4 * inputCount, densePackedLayout(sizes).size),
  };
}

/** A backward job's arena: the rows' inputs, the packed output's gradient, then the input gradients. */
export function backwardJobViews(
  sizes: DenseStepSizes,
  arena: SharedArrayBuffer,
): {
  inputs: DenseStepArrays<Float32Array>;
  packedGradient: Float32Array;
  gradients: DenseStepArrays<Float32Array>;
} {
  const inputCount = inputElements(sizes);
  const packedSize = densePackedLayout(sizes).size;
  return {
    inputs: inputViews(sizes, arena, 0),
    packedGradient: new Float32Array(arena, 4 * inputCount, packedSize),
    gradients: inputViews(sizes, arena, inputCount + packedSize),
  };
}

/**
 * The worker's tape arena: the tape (`tapeOnBuffer`), then the small outputs the backward reads (the packed output
 * before the link matrix), which the worker copies there at the end of its forward.
 */
export function tapeArenaViews(
  sizes: DenseStepSizes,
  arena: SharedArrayBuffer,
): { tape: DenseStepTape; smallOutputs: Float32Array } {
  const tapeBytes = denseStepTapeBytes(sizes);
  return {
    tape: tapeOnBuffer(sizes, arena, 0),
    smallOutputs: new Float32Array(arena, tapeBytes, densePackedLayout(sizes).linkMatrix),
  };
}

export function forwardArenaBytes(sizes: DenseStepSizes): number {
  return 4 * (inputElements(sizes) + densePackedLayout(sizes).size);
}

export function backwardArenaBytes(sizes: DenseStepSizes): number {
  return 4 * (2 * inputElements(sizes) + densePackedLayout(sizes).size);
}

export function tapeArenaBytes(sizes: DenseStepSizes): number {
  // The tape's byte size is a multiple of 4; round up to 8 so pooled buffers of the same size class match.
  const bytes = denseStepTapeBytes(sizes) + 4 * densePackedLayout(sizes).linkMatrix;
  return Math.ceil(bytes / 8) * 8;
}

export function copyInputs(target: DenseStepArrays<Float32Array>, source: DenseStepArrays<Float32Array>): void {
  for (const name of DENSE_STEP_INPUT_NAMES) target[name].set(source[name]);
}

/**
 * Copy between a packed array of the whole batch and a packed array of its rows [start, start + part.batch):
 * `toWhole` writes the part into the whole, else the whole's rows into the part.
 */
export function movePackedRows(
  sizes: DenseStepSizes,
  whole: Float32Array,
  part: Float32Array,
  partBatch: number,
  start: number,
  toWhole: boolean,
): void {
  let wholeAt = 0;
  let partAt = 0;
  for (const { rowSize } of densePackedLayout(sizes).blocks) {
    const wholeRows = wholeAt + start * rowSize;
    const length = partBatch * rowSize;
    if (toWhole) whole.set(part.subarray(partAt, partAt + length), wholeRows);
    else part.set(whole.subarray(wholeRows, wholeRows + length), partAt);
    wholeAt += sizes.batch * rowSize;
    partAt += length;
  }
}
