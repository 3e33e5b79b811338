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
import type { DenseMemoryState } from '../dense-step';
import { interfaceSize } from '../interface';
import type { MemoryStepResult } from '../types';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepArrays,
  denseStepInputShapes,
  type DenseStepInputName,
  type DenseStepSizes,
} from './dense-step-layout';
import { float32Data, hostData, packedStep, toArrays } from './fused-packed-step';
import { activateInterface, activateInterfaceBackward, allocateInterfaceArrays } from './interface-activation';

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
