/**
 * The contract every memory kind (dense DNC, SAM, SDNC) fulfils so that the DNC wrapper can drive it without
 * knowing which one it is: parse the controller's clipped output ξ into an interface, run one memory step,
 * return the read vectors and the new state, and — only when asked — the per-step debug tensors.
 */
import type * as tf from '@tensorflow/tfjs';

/** Memory state: an immutable record of tensors for the whole batch. The caller owns them and disposes them. */
export interface MemoryState {
  readonly [name: string]: tf.Tensor;
}

/** Per-step debug values for batch element 0, read out by the wrapper once per call (one `data()` per tensor). */
export interface MemoryStepDebug {
  /** Name → tensor for batch element 0 (no batch axis), e.g. `memory: [N, W]`, `readWeights: [R, N]`. */
  readonly tensors: Readonly<Record<string, tf.Tensor>>;
  /** Axis labels for each tensor in `tensors`, without the time axis: `memory: ['cell', 'word']`. */
  readonly axes: Readonly<Record<string, readonly string[]>>;
  /** Optional known value ranges, e.g. weightings in [0, 1]. */
  readonly ranges?: Readonly<Record<string, readonly [number, number]>>;
}

export interface MemoryStepResult<S extends MemoryState> {
  /** Read vectors `[batch, readHeads, cellSize]`, flattened head-major by the caller when needed. */
  readonly readVectors: tf.Tensor3D;
  readonly state: S;
  /** Present only when the step was asked for debug output. */
  readonly debug?: MemoryStepDebug;
}

/**
 * A memory's interface layer arranged once per forward call: ξ_raw = ξ·weight + bias, `weight` `[inputSize,
 * interfaceSize]` (the PyTorch `[out, in]` weight, or the ten independent ones concatenated, transposed) and `bias`
 * `[interfaceSize]`. Made on the caller's tape, so the gradients of all the call's steps meet in it and flow back to
 * the variables once, rather than through a concat and a transpose per step.
 */
export interface PreparedInterface {
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

/** A memory module: trainable interface weights plus a pure step function. */
export interface MemoryModule<S extends MemoryState = MemoryState> {
  /** Width of ξ, the controller output this memory reads its interface from. */
  readonly inputSize: number;
  /** R: read heads. */
  readonly readHeads: number;
  /** W: cell width. */
  readonly cellSize: number;
  /** Trainable variables of the interface layer(s), by PyTorch parameter name without the module prefix
   *  (`interface_weights.weight` [out, in], `interface_weights.bias`, or the ten `*_transform.*`). */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Fresh state for a batch: all zeros (or the model's documented start). */
  initialState(batchSize: number): S;
  /** The interface weights arranged for the steps of one forward call (see `PreparedInterface`). */
  prepareInterface(): PreparedInterface;
  /**
   * One memory step. `xi` is `[batch, inputSize]`, already clipped. Pure: never mutates `prev`.
   * Runs its own ops; the caller wraps it in tf.tidy / the gradient tape as needed. `preparedInterface`, from
   * `prepareInterface` on the same tape, saves arranging the interface weights again.
   */
  step(
    xi: tf.Tensor2D,
    prev: S,
    options?: { debug?: boolean; preparedInterface?: PreparedInterface },
  ): MemoryStepResult<S>;
  /** Names and per-batch shapes of the state tensors, for validation of states passed in by users. */
  stateShapes(batchSize: number): Readonly<Record<string, readonly number[]>>;
  dispose(): void;
}
