/**
 * The tape of the fused dense memory step (`dense-step-kernel.ts`): the per-cell intermediates of the forward
 * (usage, the allocation sort, content cosines and norms, write weights, temporal weights) that the analytic
 * backward (`dense-step-kernel-backward.ts`) reads, laid out in fresh arrays or as views on one shared buffer.
 */
import type { DenseStepSizes } from './dense-step-layout';

/** What the backward pass needs from the forward, per batch row, beyond the inputs and the packed output. */
export interface DenseStepTape {
  /** u after the write term, before retention ψ: [B,N]. */
  readonly usageAfterWrite: Float64Array;
  /** Usage after retention, u: [B,N]. */
  readonly usage: Float64Array;
  /** Allocation order φ (ascending û, ties to the lower index): [B,N]. */
  readonly sortOrder: Int32Array;
  /** û[φ_j]: [B,N]. */
  readonly sortedUsage: Float64Array;
  /** Π_{i<j} û[φ_i]: [B,N]. */
  readonly exclusiveProducts: Float64Array;
  /** a: [B,N]. */
  readonly allocationWeights: Float64Array;
  /** c_w: [B,N]; cosines and norms of the previous memory rows and the write key. */
  readonly writeContentWeights: Float64Array;
  readonly writeCosines: Float64Array;
  readonly prevMemoryNorms: Float64Array;
  readonly writeKeyNorms: Float64Array;
  /** w_w: [B,N]. */
  readonly writeWeights: Float64Array;
  /** c_r: [B,R,N]; cosines [B,R,N], new-memory row norms [B,N], read key norms [B,R]. */
  readonly readContentWeights: Float64Array;
  readonly readCosines: Float64Array;
  readonly memoryNorms: Float64Array;
  readonly readKeyNorms: Float64Array;
  /** Temporal weightings f = L·w_r and b = Lᵀ·w_r: [B,R,N]. */
  readonly forwardWeights: Float64Array;
  readonly backwardWeights: Float64Array;
}

/** The tape's arrays in one place: name and length (elements) for sizes B, N, R; sortOrder is the Int32 one. */
function tapeLengths(sizes: DenseStepSizes): [keyof DenseStepTape, number][] {
  const bn = sizes.batch * sizes.memorySize;
  const brn = bn * sizes.readHeads;
  return [
    ['usageAfterWrite', bn],
    ['usage', bn],
    ['sortedUsage', bn],
    ['exclusiveProducts', bn],
    ['allocationWeights', bn],
    ['writeContentWeights', bn],
    ['writeCosines', bn],
    ['prevMemoryNorms', bn],
    ['writeKeyNorms', sizes.batch],
    ['writeWeights', bn],
    ['readContentWeights', brn],
    ['readCosines', brn],
    ['memoryNorms', bn],
    ['readKeyNorms', sizes.batch * sizes.readHeads],
    ['forwardWeights', brn],
    ['backwardWeights', brn],
    ['sortOrder', bn],
  ];
}

/** Bytes a tape of these sizes takes in one buffer (`tapeOnBuffer`). */
export function denseStepTapeBytes(sizes: DenseStepSizes): number {
  return tapeLengths(sizes).reduce((bytes, [name, length]) => bytes + length * (name === 'sortOrder' ? 4 : 8), 0);
}

/**
 * A tape whose arrays are views on `buffer` from `byteOffset` (8-byte aligned), `denseStepTapeBytes(sizes)` bytes:
 * how the fused step's second thread hands its tape over without a copy (both threads lay it out the same way).
 */
export function tapeOnBuffer(sizes: DenseStepSizes, buffer: ArrayBufferLike, byteOffset = 0): DenseStepTape {
  if (byteOffset % 8 !== 0) throw new Error(`tapeOnBuffer: byteOffset must be a multiple of 8, got ${byteOffset}`);
  let at = byteOffset;
  const views = new Map<keyof DenseStepTape, Float64Array | Int32Array>();
  for (const [name, length] of tapeLengths(sizes)) {
    views.set(name, name === 'sortOrder' ? new Int32Array(buffer, at, length) : new Float64Array(buffer, at, length));
    at += length * (name === 'sortOrder' ? 4 : 8);
  }
  return tapeFrom((name) => views.get(name) as Float64Array, views.get('sortOrder') as Int32Array);
}

/** A tape of fresh, zeroed arrays for a step of these sizes. */
export function allocateTape(sizes: DenseStepSizes): DenseStepTape {
  const lengths = new Map(tapeLengths(sizes));
  return tapeFrom((name) => new Float64Array(lengths.get(name) ?? 0), new Int32Array(lengths.get('sortOrder') ?? 0));
}

/** One object literal, so every tape shares one hidden class (see `denseStepArrays`). */
function tapeFrom(array: (name: keyof DenseStepTape) => Float64Array, sortOrder: Int32Array): DenseStepTape {
  return {
    usageAfterWrite: array('usageAfterWrite'),
    usage: array('usage'),
    sortOrder,
    sortedUsage: array('sortedUsage'),
    exclusiveProducts: array('exclusiveProducts'),
    allocationWeights: array('allocationWeights'),
    writeContentWeights: array('writeContentWeights'),
    writeCosines: array('writeCosines'),
    prevMemoryNorms: array('prevMemoryNorms'),
    writeKeyNorms: array('writeKeyNorms'),
    writeWeights: array('writeWeights'),
    readContentWeights: array('readContentWeights'),
    readCosines: array('readCosines'),
    memoryNorms: array('memoryNorms'),
    readKeyNorms: array('readKeyNorms'),
    forwardWeights: array('forwardWeights'),
    backwardWeights: array('backwardWeights'),
  };
}
