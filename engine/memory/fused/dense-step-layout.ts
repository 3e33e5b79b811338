/**
 * Data layout of the fused dense DNC memory step (Graves et al. 2016, Methods "Memory addressing"): the sizes
 * (B, N, W, R), the sixteen inputs — the parsed interface of the write and read heads and the previous memory
 * state — as flat row-major typed arrays, and where the read vectors and the new state sit in the packed output.
 * Shared by the kernel's forward and backward, the tfjs wrapper, the tests and the bench.
 */

/** Any of the float typed arrays a kernel reads. */
export type FloatArray = Float32Array | Float64Array;

/** Sizes of one fused step. */
export interface DenseStepSizes {
  /** B: batch rows. */
  readonly batch: number;
  /** N: memory cells. */
  readonly memorySize: number;
  /** W: cell width. */
  readonly cellSize: number;
  /** R: read heads. */
  readonly readHeads: number;
}

/**
 * Row-major input arrays of one step (batch first). Interface parts are after their activations.
 * readKeys [B,R,W], readStrengths [B,R], writeKey [B,W], writeStrength [B], eraseVector [B,W], writeVector [B,W],
 * freeGates [B,R], allocationGate [B], writeGate [B], readModes [B,R,3] (backward, forward, content);
 * prevMemory [B,N,W], prevLinkMatrix [B,N,N], prevPrecedence [B,N], prevReadWeights [B,R,N],
 * prevWriteWeights [B,N], prevUsage [B,N].
 */
export interface DenseStepArrays<A extends FloatArray = FloatArray> {
  readonly readKeys: A;
  readonly readStrengths: A;
  readonly writeKey: A;
  readonly writeStrength: A;
  readonly eraseVector: A;
  readonly writeVector: A;
  readonly freeGates: A;
  readonly allocationGate: A;
  readonly writeGate: A;
  readonly readModes: A;
  readonly prevMemory: A;
  readonly prevLinkMatrix: A;
  readonly prevPrecedence: A;
  readonly prevReadWeights: A;
  readonly prevWriteWeights: A;
  readonly prevUsage: A;
}

/** The input names in the order the tfjs wrapper passes them (and receives their gradients). */
export const DENSE_STEP_INPUT_NAMES = [
  'readKeys',
  'readStrengths',
  'writeKey',
  'writeStrength',
  'eraseVector',
  'writeVector',
  'freeGates',
  'allocationGate',
  'writeGate',
  'readModes',
  'prevMemory',
  'prevLinkMatrix',
  'prevPrecedence',
  'prevReadWeights',
  'prevWriteWeights',
  'prevUsage',
] as const;

export type DenseStepInputName = (typeof DENSE_STEP_INPUT_NAMES)[number];

/**
 * The sixteen arrays, in `DENSE_STEP_INPUT_NAMES` order, as one object literal. Every object the kernels read is
 * built here so that all share one hidden class: objects assembled by spread or `Object.fromEntries` came with
 * varying maps, and V8 threw the kernels' optimized code away on them ("wrong map" deopts, then slow code until
 * re-optimized).
 */
export function denseStepArrays<A extends FloatArray>(values: readonly A[]): DenseStepArrays<A> {
  if (values.length !== DENSE_STEP_INPUT_NAMES.length) {
    throw new Error(
      `denseStepArrays: values has ${values.length} arrays, expected ${DENSE_STEP_INPUT_NAMES.length} ` +
        `(${DENSE_STEP_INPUT_NAMES.join(', ')})`,
    );
  }
  const [
    readKeys,
    readStrengths,
    writeKey,
    writeStrength,
    eraseVector,
    writeVector,
    freeGates,
    allocationGate,
    writeGate,
    readModes,
    prevMemory,
    prevLinkMatrix,
    prevPrecedence,
    prevReadWeights,
    prevWriteWeights,
    prevUsage,
  ] = values;
  return {
    readKeys,
    readStrengths,
    writeKey,
    writeStrength,
    eraseVector,
    writeVector,
    freeGates,
    allocationGate,
    writeGate,
    readModes,
    prevMemory,
    prevLinkMatrix,
    prevPrecedence,
    prevReadWeights,
    prevWriteWeights,
    prevUsage,
  };
}

/** Per-batch-row shape (without the batch axis) of each input. */
export function denseStepInputShapes(sizes: DenseStepSizes): Record<DenseStepInputName, number[]> {
  const { memorySize: n, cellSize: w, readHeads: r } = sizes;
  return {
    readKeys: [r, w],
    readStrengths: [r],
    writeKey: [w],
    writeStrength: [],
    eraseVector: [w],
    writeVector: [w],
    freeGates: [r],
    allocationGate: [],
    writeGate: [],
    readModes: [r, 3],
    prevMemory: [n, w],
    prevLinkMatrix: [n, n],
    prevPrecedence: [n],
    prevReadWeights: [r, n],
    prevWriteWeights: [n],
    prevUsage: [n],
  };
}

/** The outputs of a step, in the order of their blocks in the packed output. */
export const DENSE_STEP_OUTPUT_NAMES = [
  'readVectors',
  'memory',
  'precedence',
  'readWeights',
  'writeWeights',
  'usage',
  'linkMatrix',
] as const;

export type DenseStepOutputName = (typeof DENSE_STEP_OUTPUT_NAMES)[number];

/** One output's block in the packed output. */
export interface DensePackedBlock {
  readonly name: DenseStepOutputName;
  /** Where the block starts. */
  readonly offset: number;
  /** The shape of one batch row of this output (the block holds `batch` of them, one after the other). */
  readonly rowShape: readonly number[];
  /** Elements per batch row: the product of `rowShape`. */
  readonly rowSize: number;
}

/**
 * Where each output sits in the packed output, a flat array of `size` elements holding one contiguous block per
 * output, batch-major inside: read vectors [B,R,W], then the new state memory [B,N,W], precedence [B,N],
 * readWeights [B,R,N], writeWeights [B,N], usage [B,N] and last the link matrix [B,N,N]. Contiguous blocks make
 * each output one subarray (its tensor is made straight from it); the big link matrix comes last so that the small
 * outputs, which the backward keeps, are one prefix (`packed.slice(0, linkMatrix)`).
 */
export interface DensePackedLayout {
  readonly readVectors: number;
  readonly memory: number;
  readonly precedence: number;
  readonly readWeights: number;
  readonly writeWeights: number;
  readonly usage: number;
  readonly linkMatrix: number;
  /** Elements per batch row, summed over the outputs. */
  readonly stride: number;
  /** Total elements: batch · stride. */
  readonly size: number;
  /** Every block, in `DENSE_STEP_OUTPUT_NAMES` order. */
  readonly blocks: readonly DensePackedBlock[];
}

export function densePackedLayout(sizes: DenseStepSizes): DensePackedLayout {
  const { batch, memorySize: n, cellSize: w, readHeads: r } = sizes;
  const rowShapes: Record<DenseStepOutputName, readonly number[]> = {
    readVectors: [r, w],
    memory: [n, w],
    precedence: [n],
    readWeights: [r, n],
    writeWeights: [n],
    usage: [n],
    linkMatrix: [n, n],
  };
  let offset = 0;
  const blocks = DENSE_STEP_OUTPUT_NAMES.map((name) => {
    const rowShape = rowShapes[name];
    const rowSize = rowShape.reduce((a, c) => a * c, 1);
    const block: DensePackedBlock = { name, offset, rowShape, rowSize };
    offset += batch * rowSize;
    return block;
  });
  const [readVectors, memory, precedence, readWeights, writeWeights, usage, linkMatrix] = blocks.map((b) => b.offset);
  return {
    readVectors,
    memory,
    precedence,
    readWeights,
    writeWeights,
    usage,
    linkMatrix,
    stride: offset / batch,
    size: offset,
    blocks,
  };
}

/** Start of batch row `b` of every output inside the packed array. */
export interface DenseRowOffsets {
  readonly readVectors: number;
  readonly memory: number;
  readonly linkMatrix: number;
  readonly precedence: number;
  readonly readWeights: number;
  readonly writeWeights: number;
  readonly usage: number;
}

export function denseRowOffsets(layout: DensePackedLayout, sizes: DenseStepSizes, b: number): DenseRowOffsets {
  const { memorySize: n, cellSize: w, readHeads: r } = sizes;
  return {
    readVectors: layout.readVectors + b * r * w,
    memory: layout.memory + b * n * w,
    linkMatrix: layout.linkMatrix + b * n * n,
    precedence: layout.precedence + b * n,
    readWeights: layout.readWeights + b * r * n,
    writeWeights: layout.writeWeights + b * n,
    usage: layout.usage + b * n,
  };
}
