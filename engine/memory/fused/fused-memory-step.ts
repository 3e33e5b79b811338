/**
 * The dense DNC memory step (Graves et al. 2016, Methods: memory addressing — usage, allocation, write weighting,
 * erase/write, temporal linkage, read weighting, read vectors) as ONE taped TensorFlow.js op:
 * `multiOutputGradient` over the typed-array kernel in `dense-step-kernel.ts` with the analytic gradient of
 * `dense-step-kernel-backward.ts`.
 * Plain tfjs pays ≈20 µs per taped op and one step is dozens of ops; here a step is one custom op with seven
 * outputs. The kernel reads every input with `dataSync` once (a backend sync, which is the point), except state it
 * made itself in the previous step, whose host values it kept; it keeps what its backward needs in the gradient
 * closure as typed arrays, so no tensor outlives the call but its outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { multiOutputGradient } from '../../util/custom-gradient';
import type { DenseMemoryState } from '../dense-step';
import { type DenseDebugName, denseDebugOutput } from '../debug-tensors';
import type { MemoryStepDebug, MemoryStepResult } from '../types';
import { tensorFilledInPlace, transientValues } from '../../util/device-backend';
import { type DenseKernelRun, runDenseStep } from './batch-split';
import type { DenseStepTape } from './dense-step-tape';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepArrays,
  denseStepInputShapes,
  densePackedLayout,
  type DensePackedLayout,
  type DenseStepArrays,
  type DenseStepInputName,
  type DenseStepSizes,
  type FloatArray,
} from './dense-step-layout';
import { activateInterface, activateInterfaceBackward, allocateInterfaceArrays } from './interface-activation';
import { interfaceSize } from '../interface';

/** The parsed interface of one step, after activations (reference/dnc-algorithm.md §1). */
export interface FusedDenseInterface {
  /** k_r: `[batch, readHeads, cellSize]`, in (−1, 1) after tanh. */
  readonly readKeys: tf.Tensor3D;
  /** β_r: `[batch, readHeads]`, > 0 (softplus). */
  readonly readStrengths: tf.Tensor2D;
  /** k_w: `[batch, cellSize]`. */
  readonly writeKey: tf.Tensor2D;
  /** β_w: `[batch]` or `[batch, 1]`, > 0. */
  readonly writeStrength: tf.Tensor1D | tf.Tensor2D;
  /** e: `[batch, cellSize]`, in [0, 1]. */
  readonly eraseVector: tf.Tensor2D;
  /** v: `[batch, cellSize]`. */
  readonly writeVector: tf.Tensor2D;
  /** f: `[batch, readHeads]`, in [0, 1]. */
  readonly freeGates: tf.Tensor2D;
  /** g_a: `[batch]` or `[batch, 1]`, in [0, 1]. */
  readonly allocationGate: tf.Tensor1D | tf.Tensor2D;
  /** g_w: `[batch]` or `[batch, 1]`, in [0, 1]. */
  readonly writeGate: tf.Tensor1D | tf.Tensor2D;
  /** π: `[batch, readHeads, 3]`, each row a distribution over (backward, forward, content). */
  readonly readModes: tf.Tensor3D;
}

/** The fused step reads and writes exactly the dense memory's state. */
export type FusedDenseState = DenseMemoryState;

/** What the forward pass leaves for the debug read-out. */
interface ForwardRecord {
  readonly packed: Float32Array;
  readonly tape: DenseStepTape;
  readonly inputs: DenseStepArrays<Float32Array>;
}

function sameShape(actual: readonly number[], expected: readonly number[]): boolean {
  return actual.length === expected.length && actual.every((size, axis) => size === expected[axis]);
}

/** Sizes from the state; every other argument is checked against them. */
function checkedSizes(parsed: FusedDenseInterface, prev: FusedDenseState): DenseStepSizes {
  if (prev.memory.rank !== 3 || prev.readWeights.rank !== 3) {
    throw new Error(
      `fusedMemoryStep: prev.memory [${prev.memory.shape}] and prev.readWeights [${prev.readWeights.shape}] must be ` +
        `rank 3`,
    );
  }
  const [batch, memorySize, cellSize] = prev.memory.shape;
  const sizes: DenseStepSizes = { batch, memorySize, cellSize, readHeads: prev.readWeights.shape[1] };
  const rowShapes = denseStepInputShapes(sizes);
  for (const name of DENSE_STEP_INPUT_NAMES) {
    const tensor = inputTensor(parsed, prev, name);
    const expected = [batch, ...rowShapes[name]];
    // Scalars per row come as [batch] or, from the interface parser, as [batch, 1]; both have the same layout.
    const scalarColumn = expected.length === 1 && sameShape(tensor.shape, [batch, 1]);
    if (!sameShape(tensor.shape, expected) && !scalarColumn) {
      throw new Error(`fusedMemoryStep: ${argumentName(name)} has shape [${tensor.shape}], expected [${expected}]`);
    }
    if (tensor.dtype !== 'float32') {
      throw new Error(`fusedMemoryStep: ${argumentName(name)} has dtype ${tensor.dtype}, expected float32`);
    }
  }
  return sizes;
}

const STATE_FIELDS: Readonly<Partial<Record<DenseStepInputName, keyof FusedDenseState>>> = {
  prevMemory: 'memory',
  prevLinkMatrix: 'linkMatrix',
  prevPrecedence: 'precedence',
  prevReadWeights: 'readWeights',
  prevWriteWeights: 'writeWeights',
  prevUsage: 'usage',
};

function argumentName(name: DenseStepInputName): string {
  const field = STATE_FIELDS[name];
  return field === undefined ? `parsed.${name}` : `prev.${String(field)}`;
}

function inputTensor(parsed: FusedDenseInterface, prev: FusedDenseState, name: DenseStepInputName): tf.Tensor {
  switch (name) {
    case 'prevMemory':
      return prev.memory;
    case 'prevLinkMatrix':
      return prev.linkMatrix;
    case 'prevPrecedence':
      return prev.precedence;
    case 'prevReadWeights':
      return prev.readWeights;
    case 'prevWriteWeights':
      return prev.writeWeights;
    case 'prevUsage':
      return prev.usage;
    default:
      return parsed[name];
  }
}

function float32Data(tensor: tf.Tensor, what: string): Float32Array {
  const data = tensor.dataSync();
  if (!(data instanceof Float32Array)) throw new Error(`fusedMemoryStep: ${what} is ${tensor.dtype}, expected float32`);
  return data;
}

function toArrays(values: readonly Float32Array[]): DenseStepArrays<Float32Array> {
  return denseStepArrays(values);
}

/**
 * Batch element 0 of what the dashboard shows, read from the kernel's arrays (no extra sync): the same names, axes
 * and ranges as the plain path's debug output.
 */
function debugFor(sizes: DenseStepSizes, forward: ForwardRecord): MemoryStepDebug {
  const { memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  const { packed, tape, inputs } = forward;
  const layout = densePackedLayout(sizes);
  const first = (values: FloatArray, offset: number, shape: number[]): tf.Tensor =>
    tf.tensor(Float32Array.from(values.subarray(offset, offset + shape.reduce((a, b) => a * b, 1))), shape);
  const source: Record<DenseDebugName, () => tf.Tensor> = {
    memory: () => first(packed, layout.memory, [cells, width]),
    linkMatrix: () => first(packed, layout.linkMatrix, [cells, cells]),
    precedence: () => first(packed, layout.precedence, [cells]),
    readWeights: () => first(packed, layout.readWeights, [heads, cells]),
    writeWeights: () => first(packed, layout.writeWeights, [cells]),
    usage: () => first(packed, layout.usage, [cells]),
    allocationWeights: () => first(tape.allocationWeights, 0, [cells]),
    writeContentWeights: () => first(tape.writeContentWeights, 0, [cells]),
    readContentWeights: () => first(tape.readContentWeights, 0, [heads, cells]),
    readModes: () => first(inputs.readModes, 0, [heads, 3]),
    freeGates: () => first(inputs.freeGates, 0, [heads]),
    allocationGate: () => first(inputs.allocationGate, 0, [1]),
    writeGate: () => first(inputs.writeGate, 0, [1]),
    readVectors: () => first(packed, layout.readVectors, [heads, width]),
  };
  return denseDebugOutput((name) => source[name]());
}

/** How one fused op reads its input tensors into the kernel's arrays and hands the kernel's gradients back. */
interface KernelInputs {
  readonly arrays: DenseStepArrays<Float32Array>;
  /**
   * One gradient tensor per op input, in input order, from the kernel's sixteen input gradients; the link matrix's
   * is `linkGradient`, already a tensor (`kernelGradients.prevLinkMatrix` may no longer be readable: do not read it).
   */
  readonly gradients: (kernelGradients: DenseStepArrays<Float32Array>, linkGradient: tf.Tensor) => tf.Tensor[];
}

/**
 * The host values of the tensors this op made, by tensor: the next step reads its previous state from here instead
 * of copying it back out of the backend (`dataSync`), at N 1024 a 32 MB link matrix a step. The arrays are views on
 * the kernel's output, which nothing writes after the step (tensors are immutable, and so are these).
 */
const hostValues = new WeakMap<tf.Tensor, Float32Array>();

/** A float32 input's values: the host copy this op made it from, else one `dataSync`. */
function hostData(tensor: tf.Tensor, what: string): Float32Array {
  return hostValues.get(tensor) ?? float32Data(tensor, what);
}

/**
 * The seven output tensors, each made at its own shape straight from its block of the kernel's packed output, with
 * that block kept as its host value for the next step. A function of its own so that no closure of the op captures
 * `packed`: the gradient closure lives until back-propagation reaches the step, and would keep the whole output
 * (at N 1024 its 32 MB link matrix) alive with it.
 */
function outputTensors(layout: DensePackedLayout, batch: number, packed: Float32Array): tf.Tensor[] {
  return layout.blocks.map(({ offset, rowShape, rowSize }) => {
    const view = packed.subarray(offset, offset + batch * rowSize);
    const tensor = tf.tensor(view, [batch, ...rowShape]);
    hostValues.set(tensor, view);
    return tensor;
  });
}

/**
 * The packed output gradient of the last backward, kept only weakly: successive steps of one back-propagation reuse
 * it (at N 1024 it is 32 MB, a new one each step was garbage faster than V8 collected it), and between passes it
 * can be collected.
 */
let packedGradientScratch: WeakRef<Float32Array> | undefined;

function packedGradientArray(size: number): Float32Array {
  const reused = packedGradientScratch?.deref();
  if (reused !== undefined && reused.length === size) return reused;
  const fresh = new Float32Array(size);
  packedGradientScratch = new WeakRef(fresh);
  return fresh;
}

/**
 * Drop the host values of outputs already disposed: a disposed tensor is never an input again. Called once the
 * step's backward has run; by then the next step's backward, the only other reader of this step's link matrix,
 * has run too, so the packed output can be collected during back-propagation instead of after it.
 */
function forgetDisposedOutputs(outputs: readonly tf.Tensor[]): void {
  for (const tensor of outputs) if (tensor.isDisposed) hostValues.delete(tensor);
}

/**
 * The shared op: the kernel over `inputs` as one taped op with seven outputs, each made at its own shape straight
 * from the kernel's packed output (no split, no reshape, nothing cloned for the gradient).
 */
function packedStep(
  sizes: DenseStepSizes,
  inputs: readonly tf.Tensor[],
  read: (tensors: readonly tf.Tensor[]) => KernelInputs,
  debug: boolean,
): MemoryStepResult<FusedDenseState> {
  const { batch } = sizes;
  const layout = densePackedLayout(sizes);
  const kernelShapes = denseStepInputShapes(sizes);
  let forwardResult: ForwardRecord | undefined;

  const kernel = multiOutputGradient((tensors) => {
    // The gradient closure keeps typed arrays, never tensors (those may be disposed before backprop).
    const { arrays, gradients } = read(tensors);
    const packed = new Float32Array(layout.size);
    // Dropped once the backward has run: it holds this step's inputs (the previous link matrix among them).
    let run: DenseKernelRun | undefined = runDenseStep(sizes, arrays, packed);
    forwardResult = { packed, tape: run.firstRowsTape, inputs: arrays };
    const values = outputTensors(layout, batch, packed);
    return {
      values,
      gradFunc: (dys) => {
        const step = run;
        if (step === undefined) throw new Error("fusedMemoryStep: this step's backward already ran");
        run = undefined;
        // Every block is overwritten from the dys, so the array a previous step used serves as well as a new one.
        const packedGradient = packedGradientArray(layout.size);
        // Each dy is copied as soon as it is read (a wasm heap view is valid until tfjs next allocates).
        dys.forEach((dy, index) => packedGradient.set(transientValues(dy), layout.blocks[index].offset));
        let kernelGradients: DenseStepArrays<Float32Array> | undefined;
        // The link matrix's gradient (B·N², the largest) is written straight into its tensor.
        const linkGradient = tensorFilledInPlace([batch, ...kernelShapes.prevLinkMatrix], (linkValues) => {
          kernelGradients = toArrays(
            DENSE_STEP_INPUT_NAMES.map((name) =>
              name === 'prevLinkMatrix'
                ? linkValues
                : new Float32Array(batch * kernelShapes[name].reduce((a, b) => a * b, 1)),
            ),
          );
          step.backward(packedGradient, kernelGradients);
        });
        forgetDisposedOutputs(values);
        if (kernelGradients === undefined) throw new Error('fusedMemoryStep: the backward produced no gradients');
        return gradients(kernelGradients, linkGradient);
      },
    };
  });

  // In DENSE_STEP_OUTPUT_NAMES order.
  const [readVectors, memory, precedence, readWeights, writeWeights, usage, linkMatrix] = kernel(...inputs);
  const result: MemoryStepResult<FusedDenseState> = {
    readVectors: readVectors as tf.Tensor3D,
    state: {
      memory: memory as tf.Tensor3D,
      linkMatrix: linkMatrix as tf.Tensor3D,
      precedence: precedence as tf.Tensor2D,
      readWeights: readWeights as tf.Tensor3D,
      writeWeights: writeWeights as tf.Tensor2D,
      usage: usage as tf.Tensor2D,
    },
  };
  const forward = forwardResult;
  // The kernel closure (kept by the gradient tape) shares this scope: drop the record so it does not keep the
  // whole packed output alive until back-propagation.
  forwardResult = undefined;
  if (!debug || forward === undefined) return result;
  return { ...result, debug: debugFor(sizes, forward) };
}

/**
 * One dense memory step for the whole batch as a single differentiable op (drop-in for the plain tfjs step).
 * Gradients reach every interface part and every previous-state tensor. Pure: `prev` is not disposed or changed;
 * the caller owns the returned tensors (including debug tensors, present only with `{ debug: true }`, for batch
 * element 0 without the batch axis).
 *
 * @example
 * const { readVectors, state } = tf.tidy(() => fusedMemoryStep(parsed, prevState));
 */
export function fusedMemoryStep(
  parsed: FusedDenseInterface,
  prev: FusedDenseState,
  options: { debug?: boolean } = {},
): MemoryStepResult<FusedDenseState> {
  const sizes = checkedSizes(parsed, prev);
  const inputs = DENSE_STEP_INPUT_NAMES.map((name) => inputTensor(parsed, prev, name));
  return packedStep(
    sizes,
    inputs,
    (tensors) => {
      const shapes = tensors.map((tensor) => tensor.shape);
      return {
        arrays: toArrays(tensors.map((tensor, index) => hostData(tensor, argumentName(DENSE_STEP_INPUT_NAMES[index])))),
        gradients: (kernelGradients, linkGradient) =>
          DENSE_STEP_INPUT_NAMES.map((name, index) =>
            name === 'prevLinkMatrix' ? linkGradient : tf.tensor(kernelGradients[name], shapes[index]),
          ),
      };
    },
    options.debug === true,
  );
}

const STATE_INPUT_NAMES = [
  'prevMemory',
  'prevLinkMatrix',
  'prevPrecedence',
  'prevReadWeights',
  'prevWriteWeights',
  'prevUsage',
] as const;

/**
 * The same step from the raw interface vector ξ_raw = ξ Wᵀ + b: the activations (tanh, softplus, sigmoid,
 * per-head softmax; `interface-activation.ts`) run inside the op, so a DNC memory step is the interface matMul
 * plus this one op instead of some ten parsing kernels forward and thirty backward. Same values and gradients as
 * `fusedMemoryStep(parseInterface(interfaceRaw), prev)`.
 * @param interfaceRaw `[batch, RW+3W+5R+3]`, pre-activation, packed as `interfaceLayout`
 * @param prev the previous state (sizes taken from it)
 */
export function fusedMemoryStepFromRaw(
  interfaceRaw: tf.Tensor2D,
  prev: FusedDenseState,
  options: { debug?: boolean } = {},
): MemoryStepResult<FusedDenseState> {
  if (prev.memory.rank !== 3 || prev.readWeights.rank !== 3) {
    throw new Error(
      `fusedMemoryStepFromRaw: prev.memory [${prev.memory.shape}] and prev.readWeights [${prev.readWeights.shape}] ` +
        `must be rank 3`,
    );
  }
  const [batch, memorySize, cellSize] = prev.memory.shape;
  const sizes: DenseStepSizes = { batch, memorySize, cellSize, readHeads: prev.readWeights.shape[1] };
  const width = interfaceSize(sizes.readHeads, cellSize);
  if (
    interfaceRaw.rank !== 2 ||
    interfaceRaw.shape[0] !== batch ||
    interfaceRaw.shape[1] !== width ||
    interfaceRaw.dtype !== 'float32'
  ) {
    throw new Error(
      `fusedMemoryStepFromRaw: interfaceRaw must be float32 [${batch}, ${width}] (batch, RW+3W+5R+3), got ` +
        `${interfaceRaw.dtype} [${interfaceRaw.shape}]`,
    );
  }
  const rowShapes = denseStepInputShapes(sizes);
  // In STATE_INPUT_NAMES order.
  const stateTensors: readonly tf.Tensor[] = [
    prev.memory,
    prev.linkMatrix,
    prev.precedence,
    prev.readWeights,
    prev.writeWeights,
    prev.usage,
  ];
  const stateShapes = stateTensors.map((tensor) => tensor.shape);
  STATE_INPUT_NAMES.forEach((name, index) => {
    const tensor = stateTensors[index];
    if (!sameShape(tensor.shape, [batch, ...rowShapes[name]]) || tensor.dtype !== 'float32') {
      throw new Error(
        `fusedMemoryStepFromRaw: ${argumentName(name)} must be float32 [${[batch, ...rowShapes[name]]}], got ` +
          `${tensor.dtype} [${tensor.shape}]`,
      );
    }
  });
  return packedStep(
    sizes,
    [interfaceRaw, ...stateTensors],
    (tensors) => {
      const raw = float32Data(tensors[0], 'interfaceRaw');
      const parts = allocateInterfaceArrays(sizes);
      activateInterface(sizes, raw, parts);
      const state = STATE_INPUT_NAMES.map((name, index) => hostData(tensors[index + 1], argumentName(name)));
      const arrays = denseStepArrays([
        parts.readKeys,
        parts.readStrengths,
        parts.writeKey,
        parts.writeStrength,
        parts.eraseVector,
        parts.writeVector,
        parts.freeGates,
        parts.allocationGate,
        parts.writeGate,
        parts.readModes,
        ...state,
      ]);
      return {
        arrays,
        gradients: (kernelGradients, linkGradient) => {
          const rawGradient = new Float32Array(raw.length);
          activateInterfaceBackward(sizes, raw, parts, kernelGradients, rawGradient);
          return [
            tf.tensor2d(rawGradient, [batch, width]),
            ...STATE_INPUT_NAMES.map((name, index) =>
              name === 'prevLinkMatrix' ? linkGradient : tf.tensor(kernelGradients[name], stateShapes[index]),
            ),
          ];
        },
      };
    },
    options.debug === true,
  );
}
