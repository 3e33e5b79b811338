/**
 * The DNC's dense external memory (Graves et al. 2016) as a `MemoryModule`: trainable interface weights that map
 * the controller output ξ to the heads' controls, and a pure step over an N×W memory with one write head and R
 * read heads, numerically matching pytorch-dnc 2.0's `Memory` (see `engine/README.md` for the dimension legend
 * and `docs/dnc-algorithm.md` for its deviations from the paper, which we keep only where the
 * fixtures require them; allocation ties go to the lowest cell index).
 */
import * as tf from '@tensorflow/tfjs';
import { assertDtype, assertPositiveInteger, assertShape } from '../util/assert-shape';
import { type DenseDebugName, denseDebugOutput } from './debug-tensors';
import { assertDenseState, denseMemoryStep } from './dense-step';
import type { DenseMemoryState, DenseStepTrace } from './dense-step';
import { computeInterfaceRaw, interfaceParameterShapes, parseInterface, prepareInterfaceLayer } from './interface';
import type { MemoryInterface } from './interface';
import { hasSynchronousReadback, tensorsLiveOnDevice } from '../util/device-backend';
import { fusedMemoryStepFromRaw } from './fused/fused-memory-step';
import { offDiagonal } from './temporal-linkage';
import type { MemoryModule, MemoryStepResult, PreparedInterface } from './types';

export type { DenseMemoryState, DenseStepTrace } from './dense-step';

/** Sizes and options of a dense memory. */
export interface DenseMemoryConfig {
  /** Width of ξ, the controller output the interface is computed from. */
  readonly inputSize: number;
  /** N: number of memory cells (pytorch-dnc `nr_cells`). */
  readonly memorySize: number;
  /** W: cell width (pytorch-dnc `cell_size`). */
  readonly cellSize: number;
  /** R: number of read heads. */
  readonly readHeads: number;
  /** Ten separate Linears instead of one packed `interface_weights` (pytorch-dnc `independent_linears`). */
  readonly independentLinears?: boolean;
  /** Seed of the PyTorch-style uniform(±1/√inputSize) initialisation. Default 0. */
  readonly seed?: number;
  /**
   * Run each step as one fused op with an analytic gradient (`fused/fused-memory-step.ts`) instead of one tfjs op
   * per mechanism. Same numbers and gradients; 1.2–6× faster per step on wasm, 20–60× on cpu. Default: true where
   * tensors live in host memory (cpu, wasm, tensorflow); false on a GPU backend, where the plain ops stay on the
   * device (the fused kernel is JS on typed arrays and would read every step back).
   */
  readonly fused?: boolean;
}

/** Options of `DenseMemory.step`. */
export interface DenseMemoryStepOptions {
  /** Return batch element 0's tensors for the debugger. */
  readonly debug?: boolean;
  /** `[batch, memorySize]` int32 free-list order to use instead of sorting the usage (fixture replay). */
  readonly allocationSortOrder?: tf.Tensor2D;
  /** The interface layer from `prepareInterface` on the same tape (else it is arranged for this step alone). */
  readonly preparedInterface?: PreparedInterface;
}

/** A named parameter value as stored in fixtures and checkpoints: row-major data with its shape. */
export interface ParameterRecord {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

// The full-batch tensor behind each debug table entry.
function debugSource(controls: MemoryInterface, trace: DenseStepTrace): Readonly<Record<DenseDebugName, tf.Tensor>> {
  const { state } = trace;
  return {
    memory: state.memory,
    linkMatrix: state.linkMatrix,
    precedence: state.precedence,
    readWeights: state.readWeights,
    writeWeights: state.writeWeights,
    usage: state.usage,
    allocationWeights: trace.allocationWeights,
    writeContentWeights: trace.writeContentWeights,
    readContentWeights: trace.readContentWeights,
    readModes: controls.readModes,
    freeGates: controls.freeGates,
    allocationGate: controls.allocationGate,
    writeGate: controls.writeGate,
    readVectors: trace.readVectors,
  };
}

// Batch element 0 of `tensor`, without the batch axis.
function firstBatchElement(tensor: tf.Tensor): tf.Tensor {
  const [, ...rest] = tensor.shape;
  return tf.reshape(tf.slice(tensor, 0, 1), rest);
}

/**
 * Dense DNC memory.
 *
 * @example
 * const memory = new DenseMemory({ inputSize: 64, memorySize: 16, cellSize: 8, readHeads: 2, seed: 1 });
 * let state = memory.initialState(4);
 * const { readVectors, state: next } = tf.tidy(() => memory.step(xi, state));
 */
export class DenseMemory implements MemoryModule<DenseMemoryState> {
  readonly kind = 'dnc';
  readonly inputSize: number;
  readonly memorySize: number;
  readonly cellSize: number;
  readonly readHeads: number;
  readonly independentLinears: boolean;
  /** Whether `step` runs the fused kernel (see `DenseMemoryConfig.fused`). */
  readonly fused: boolean;
  readonly variables: ReadonlyMap<string, tf.Variable>;
  private readonly parameterShapes: ReadonlyMap<string, readonly number[]>;
  /** 1 − I, kept for the life of the module so the link update does not rebuild it every step. */
  private readonly offDiagonalMask: tf.Tensor2D;

  constructor(config: DenseMemoryConfig) {
    for (const key of ['inputSize', 'memorySize', 'cellSize', 'readHeads'] as const) {
      assertPositiveInteger('DenseMemory', `config.${key}`, config[key]);
    }
    this.inputSize = config.inputSize;
    this.memorySize = config.memorySize;
    this.cellSize = config.cellSize;
    this.readHeads = config.readHeads;
    this.independentLinears = config.independentLinears ?? false;
    this.fused = config.fused ?? !tensorsLiveOnDevice();
    if (this.fused && !hasSynchronousReadback()) {
      throw new Error(
        `DenseMemory: config.fused runs the memory step on host typed arrays, which needs a synchronous readback; ` +
          `the '${tf.getBackend()}' backend has none in Node. Leave 'fused' unset to use the plain tfjs ops.`,
      );
    }
    this.parameterShapes = interfaceParameterShapes(
      this.inputSize,
      this.readHeads,
      this.cellSize,
      this.independentLinears,
    );
    const seed = config.seed ?? 0;
    // PyTorch's Linear draws weight and bias from uniform(±1/√fan_in).
    const bound = 1 / Math.sqrt(this.inputSize);
    const variables = new Map<string, tf.Variable>();
    let index = 0;
    for (const [name, shape] of this.parameterShapes) {
      const initial = tf.tidy(() => tf.randomUniform([...shape], -bound, bound, 'float32', seed * 1000 + index));
      variables.set(name, tf.variable(initial, true));
      initial.dispose();
      index += 1;
    }
    this.variables = variables;
    this.offDiagonalMask = tf.keep(offDiagonal(this.memorySize));
  }

  /**
   * Set the interface parameters from PyTorch-named records (`interface_weights.weight`, …; no module prefix).
   * Every parameter of this module must be present with its exact shape; unknown names are rejected too, so a
   * mismatched checkpoint fails loudly instead of half-loading.
   */
  loadParams(records: Readonly<Record<string, ParameterRecord>>): void {
    const unknown = Object.keys(records).filter((name) => !this.parameterShapes.has(name));
    if (unknown.length > 0) {
      throw new Error(
        `DenseMemory.loadParams: unknown parameter(s) ${unknown.join(', ')}; expected ` +
          `${[...this.parameterShapes.keys()].join(', ')}`,
      );
    }
    for (const [name, shape] of this.parameterShapes) {
      const record = records[name];
      if (record === undefined) throw new Error(`DenseMemory.loadParams: parameter '${name}' is missing`);
      const size = shape.reduce((product, dimension) => product * dimension, 1);
      const sameShape =
        record.shape.length === shape.length && record.shape.every((dimension, axis) => dimension === shape[axis]);
      if (!sameShape || record.data.length !== size) {
        throw new Error(
          `DenseMemory.loadParams: parameter '${name}' must have shape [${shape.join(', ')}] (${size} values), ` +
            `got shape [${record.shape.join(', ')}] with ${record.data.length} values`,
        );
      }
    }
    for (const [name, shape] of this.parameterShapes) {
      const variable = this.variables.get(name);
      if (variable === undefined) throw new Error(`DenseMemory.loadParams: no variable for '${name}'`);
      const value = tf.tensor(Float32Array.from(records[name].data), [...shape], 'float32');
      variable.assign(value);
      value.dispose();
    }
  }

  initialState(batchSize: number): DenseMemoryState {
    assertPositiveInteger('DenseMemory.initialState', 'batchSize', batchSize);
    return {
      memory: tf.zeros([batchSize, this.memorySize, this.cellSize]),
      linkMatrix: tf.zeros([batchSize, this.memorySize, this.memorySize]),
      precedence: tf.zeros([batchSize, this.memorySize]),
      readWeights: tf.zeros([batchSize, this.readHeads, this.memorySize]),
      writeWeights: tf.zeros([batchSize, this.memorySize]),
      usage: tf.zeros([batchSize, this.memorySize]),
    };
  }

  stateShapes(batchSize: number): Readonly<Record<string, readonly number[]>> {
    const cells = this.memorySize;
    return {
      memory: [batchSize, cells, this.cellSize],
      linkMatrix: [batchSize, cells, cells],
      precedence: [batchSize, cells],
      readWeights: [batchSize, this.readHeads, cells],
      writeWeights: [batchSize, cells],
      usage: [batchSize, cells],
    };
  }

  /** The interface layer arranged for one forward call's steps (see `PreparedInterface`). */
  prepareInterface(): PreparedInterface {
    return prepareInterfaceLayer(this.variables, this.readHeads, this.cellSize, this.independentLinears);
  }

  /** ξ_raw = ξ Wᵀ + b: `[batch, inputSize]` → `[batch, RW+3W+5R+3]`, before activations. */
  interfaceRaw(xi: tf.Tensor2D, prepared?: PreparedInterface): tf.Tensor2D {
    assertShape('DenseMemory.interfaceRaw', 'xi', xi, [null, this.inputSize]);
    return computeInterfaceRaw(xi, prepared ?? this.prepareInterface());
  }

  /** The parsed interface of `xi` (see `MemoryInterface` for shapes and ranges). */
  parseInterface(xi: tf.Tensor2D, prepared?: PreparedInterface): MemoryInterface {
    return parseInterface(this.interfaceRaw(xi, prepared), this.readHeads, this.cellSize);
  }

  /**
   * One step with every intermediate kept (for parity checks and tests). Allocates in the current scope: call
   * it inside `tf.tidy`.
   */
  trace(
    xi: tf.Tensor2D,
    prev: DenseMemoryState,
    options: DenseMemoryStepOptions = {},
  ): { controls: MemoryInterface; trace: DenseStepTrace } {
    this.checkStepArguments(xi, prev, options);
    const controls = this.parseInterface(xi, options.preparedInterface);
    const trace = denseMemoryStep(prev, controls, {
      allocationSortOrder: options.allocationSortOrder,
      offDiagonalMask: this.offDiagonalMask,
    });
    return { controls, trace };
  }

  step(
    xi: tf.Tensor2D,
    prev: DenseMemoryState,
    options: DenseMemoryStepOptions = {},
  ): MemoryStepResult<DenseMemoryState> {
    let result: MemoryStepResult<DenseMemoryState> | undefined;
    // An injected free-list order (fixture replay of tied usages) exists only on the plain path.
    if (this.fused && options.allocationSortOrder === undefined) {
      this.checkStepArguments(xi, prev, options);
      tf.tidy(() => {
        const raw = this.interfaceRaw(xi, options.preparedInterface);
        const fused = fusedMemoryStepFromRaw(raw, prev, { debug: options.debug });
        result = fused;
        return [fused.readVectors, ...Object.values(fused.state), ...Object.values(fused.debug?.tensors ?? {})];
      });
      if (result === undefined) throw new Error('DenseMemory.step: the fused step produced no result');
      return result;
    }
    // tf.tidy keeps the tensors listed in its return value (the same objects, not copies) and frees the rest.
    tf.tidy(() => {
      const { controls, trace } = this.trace(xi, prev, options);
      const { state, readVectors } = trace;
      const keep: tf.Tensor[] = [readVectors, ...Object.values(state)];
      if (options.debug !== true) {
        result = { readVectors, state };
        return keep;
      }
      const source = debugSource(controls, trace);
      const debug = denseDebugOutput((name) => firstBatchElement(source[name]));
      keep.push(...Object.values(debug.tensors));
      result = { readVectors, state, debug };
      return keep;
    });
    if (result === undefined) throw new Error('DenseMemory.step: the step produced no result');
    return result;
  }

  dispose(): void {
    for (const variable of this.variables.values()) variable.dispose();
    this.offDiagonalMask.dispose();
  }

  private checkStepArguments(xi: tf.Tensor2D, prev: DenseMemoryState, options: DenseMemoryStepOptions): void {
    assertShape('DenseMemory.step', 'xi', xi, [null, this.inputSize]);
    const batch = xi.shape[0];
    assertDenseState('DenseMemory.step', prev, batch, this.memorySize, this.cellSize, this.readHeads);
    if (options.allocationSortOrder !== undefined) {
      assertShape('DenseMemory.step', 'options.allocationSortOrder', options.allocationSortOrder, [
        batch,
        this.memorySize,
      ]);
      assertDtype('DenseMemory.step', 'options.allocationSortOrder', options.allocationSortOrder, 'int32');
    }
  }
}
