/**
 * The Differentiable Neural Computer (Graves et al. 2016, "Methods": controller network, interface, memory,
 * output): at every step t the controller reads [x_t; r_{t−1}], its clipped output ξ_t drives one memory step,
 * and the output is y_t = W_y·[ξ_t; r_t] + b_y. Layers, parameter names and options follow pytorch-dnc 2.0 so its
 * weights load unchanged, with two deliberate departures (see reference/dnc-algorithm.md): the reads of step t−1
 * reach the controller at step t within one call too (`readFeedback: 'initial'` restores pytorch-dnc's behaviour
 * for parity), and `batchFirst` holds for the output as well as the input.
 *
 * Layer wiring (pytorch-dnc `dnc.py`): layer 0's controller reads [x_t; r^{top}_{t−1}]; layer ℓ > 0 reads
 * [ξ^{ℓ−1}_t; r^{ℓ−1}_t]; the output layer reads [ξ^{top}_t; r^{top}_t]. With `shareMemory` all layers step the
 * one memory in turn (`rnn_layer_memory_shared`), else each has its own (`rnn_layer_memory_{ℓ}`).
 */
import * as tf from '@tensorflow/tfjs';
import { trainableVariable } from './util/variable';
import { StackedController, type PreparedController } from './controller/stacked';
import { SeededRandom } from './controller/seeded-random';
import { DebugRecorder, type PendingDebugFrame, recordControllerSeries } from './dnc-debug';
import { checkHidden, type DNCHidden, disposeSpentState, hiddenTensors, mapState, type SpentState } from './dnc-hidden';
import { affine } from './util/affine';
import { resolveDNCOptions, type DNCOptions, type ReadFeedback, type ResolvedDNCOptions } from './dnc-options';
import { loadStateDictInto, type StateDictEntry } from './dnc-state-dict';
import type { DebugFrame } from './frames';
import { createMemory } from './memory/registry';
import type { MemoryModule } from './memory/types';

export type { DNCOptions, ReadFeedback } from './dnc-options';

export interface ForwardOptions {
  /** Start the memory from its initial state, ignoring the memory in `hidden` (pytorch-dnc `reset_experience`). */
  resetExperience?: boolean;
  /** When false the memory is not stepped and reads are zeros (pytorch-dnc `pass_through_memory`). Default true. */
  passThroughMemory?: boolean;
  /** Enables dropout. Default false. */
  training?: boolean;
  /** Overrides the model's `readFeedback` for this call. */
  readFeedback?: ReadFeedback;
  /**
   * Leave the debug frame on the device (`pendingDebug`) instead of reading it synchronously (`debug`): needed on
   * backends without a synchronous readback (webgpu in Node), and lets the caller read it in one async transfer.
   */
  deferDebugReadout?: boolean;
  /** Parity hook: extra options for one memory step (e.g. an injected allocation sort order). */
  memoryStepOptions?: (timestep: number, layer: number) => Readonly<Record<string, unknown>> | undefined;
}

export interface ForwardResult {
  /** `[batch, time, outputSize]` with `batchFirst`, else `[time, batch, outputSize]`. */
  readonly output: tf.Tensor3D;
  readonly hidden: DNCHidden;
  /** Present only when the model was built with `debug: true` (and the call did not defer the readout). */
  readonly debug?: DebugFrame;
  /** With `deferDebugReadout` on a debug model: the frame's values, still on the device; the caller owns them. */
  readonly pendingDebug?: PendingDebugFrame;
}

export class DNC {
  readonly options: ResolvedDNCOptions;
  /** Trainable variables by pytorch-dnc `state_dict` name, in `state_dict` order. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  private readonly controllers: StackedController[];
  private readonly memories: MemoryModule[];
  private readonly outputWeights: tf.Variable;
  private readonly outputBias: tf.Variable;
  private readonly dropoutRandom: SeededRandom;

  constructor(options: DNCOptions) {
    this.options = resolveDNCOptions(options);
    const o = this.options;
    const random = new SeededRandom(o.seed);
    const readSize = o.readHeads * o.cellSize;
    const variables = new Map<string, tf.Variable>();
    this.controllers = [];
    this.memories = [];
    const makeMemory = () =>
      createMemory(
        o.memoryType,
        {
          inputSize: o.hiddenSize,
          memorySize: o.nrCells,
          cellSize: o.cellSize,
          readHeads: o.readHeads,
          independentLinears: o.independentLinears,
          sparseReads: o.sparseReads,
          temporalReads: o.temporalReads,
          indexType: o.indexType,
        },
        random.nextSeed(),
      );
    const addMemory = (prefix: string) => {
      const memory = makeMemory();
      this.memories.push(memory);
      for (const [name, v] of memory.variables) variables.set(`${prefix}.${name}`, v);
    };
    for (let layer = 0; layer < o.numLayers; layer++) {
      const controller = new StackedController(
        {
          rnnType: o.rnnType,
          inputSize: (layer === 0 ? o.inputSize : o.hiddenSize) + readSize,
          hiddenSize: o.hiddenSize,
          numHiddenLayers: o.numHiddenLayers,
          bias: o.bias,
          dropout: o.dropout,
          nonlinearity: o.nonlinearity,
        },
        random.nextSeed(),
      );
      this.controllers.push(controller);
      for (const [name, v] of controller.variables) variables.set(`${o.rnnType}_layer_${layer}.${name}`, v);
      if (!o.shareMemory) addMemory(`rnn_layer_memory_${layer}`);
    }
    if (o.shareMemory) addMemory('rnn_layer_memory_shared');
    // pytorch-dnc: kaiming_uniform_ (bound √(6/fan_in)) on the weight, PyTorch's default ±1/√fan_in on the bias.
    const fanIn = o.hiddenSize + readSize;
    this.outputWeights = trainableVariable(random.uniform(o.outputSize * fanIn, Math.sqrt(6 / fanIn)), [
      o.outputSize,
      fanIn,
    ]);
    this.outputBias = trainableVariable(random.uniform(o.outputSize, 1 / Math.sqrt(fanIn)), [o.outputSize]);
    variables.set('output.weight', this.outputWeights);
    variables.set('output.bias', this.outputBias);
    this.variables = variables;
    this.dropoutRandom = new SeededRandom(random.nextSeed());
  }

  /** Fresh hidden state: zero controller states and reads, each memory's initial state. */
  initialHidden(batchSize: number): DNCHidden {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`DNC.initialHidden: batchSize must be a positive integer, got ${batchSize}`);
    const readSize = this.options.readHeads * this.options.cellSize;
    return {
      controller: this.controllers.map((c) => c.initialState(batchSize)),
      memory: this.memories.map((m) => m.initialState(batchSize)),
      readVectors: this.controllers.map(() => tf.zeros([batchSize, readSize]) as tf.Tensor2D),
    };
  }

  /** Dispose every tensor of a hidden state. */
  disposeHidden(hidden: DNCHidden): void {
    tf.dispose(hiddenTensors(hidden));
  }

  /**
   * Run the DNC over a sequence.
   * @param input `[batch, time, inputSize]` (`batchFirst`) or `[time, batch, inputSize]`, float32
   * @param hidden state from a previous call (not disposed, not mutated); fresh zeros when omitted
   * @returns the output (same layout as the input, width outputSize), the new hidden state, and the debug frame
   *   when the model was built with `debug: true`. The caller owns the returned tensors.
   * @example
   * const { output, hidden } = model.forward(x);            // paper semantics
   * const next = model.forward(x2, hidden); model.disposeHidden(hidden);
   */
  forward(input: tf.Tensor3D, hidden?: DNCHidden, options: ForwardOptions = {}): ForwardResult {
    const o = this.options;
    if (!(input instanceof tf.Tensor))
      throw new Error(`DNC.forward: argument 'input' must be a tf.Tensor, got ${typeof input}`);
    if (input.rank !== 3)
      throw new Error(
        `DNC.forward: argument 'input' must have rank 3 ` +
          `(${o.batchFirst ? '[batch, time, inputSize]' : '[time, batch, inputSize]'}), got shape ` +
          `[${input.shape.join(', ')}]`,
      );
    if (input.dtype !== 'float32') throw new Error(`DNC.forward: argument 'input' must be float32, got ${input.dtype}`);
    const [batchSize, timesteps] = o.batchFirst ? [input.shape[0], input.shape[1]] : [input.shape[1], input.shape[0]];
    if (input.shape[2] !== o.inputSize)
      throw new Error(
        `DNC.forward: argument 'input' must have ${o.inputSize} features (inputSize) on its last axis, got shape ` +
          `[${input.shape.join(', ')}]`,
      );
    if (batchSize < 1 || timesteps < 1)
      throw new Error(
        `DNC.forward: argument 'input' needs at least one batch row and one timestep, got shape ` +
          `[${input.shape.join(', ')}]`,
      );
    if (hidden !== undefined) checkHidden(hidden, batchSize, this.options, this.controllers, this.memories);
    const readFeedback = options.readFeedback ?? o.readFeedback;
    if (readFeedback !== 'previous' && readFeedback !== 'initial')
      throw new Error(
        `DNC.forward: option 'readFeedback' must be 'previous' or 'initial', got ${String(readFeedback)}`,
      );
    const passThroughMemory = options.passThroughMemory ?? true;
    const nextSeed = options.training === true && o.dropout > 0 ? () => this.dropoutRandom.nextSeed() : undefined;
    // LSTM and tanh-RNN outputs lie in (−1, 1), where clamping to ±clip (clip ≥ 1) changes neither value nor
    // gradient: skipping it saves a kernel per step forward and several backward.
    const bounded = o.rnnType === 'lstm' || (o.rnnType === 'rnn' && o.nonlinearity === 'tanh');
    const clipNeeded = o.clip > 0 && !(bounded && o.clip >= 1);

    let result: { output: tf.Tensor3D; hidden: DNCHidden } | undefined;
    let debug: DebugFrame | undefined;
    let pendingDebug: PendingDebugFrame | undefined;
    tf.tidy(() => {
      const start = hidden ?? this.initialHidden(batchSize);
      const recorder = o.debug ? new DebugRecorder() : undefined;
      const readSize = o.readHeads * o.cellSize;
      const timeMajor = o.batchFirst ? tf.transpose(input, [1, 0, 2]) : input;
      const prepared: PreparedController[] = this.controllers.map((c, layer) =>
        c.prepare(layer === 0 ? o.inputSize : 0),
      );
      // x_t's share of layer 0's gates for all timesteps in one matMul; only r_{t−1} and h_{t−1} remain per step.
      const projectedAll = prepared[0].projectSequence(tf.reshape(timeMajor, [timesteps * batchSize, o.inputSize]));
      // tfjs's SplitV gradient breaks on a single piece (it concatenates a lone dy), so one step skips the split.
      const projected = timesteps === 1 ? [projectedAll] : (tf.split(projectedAll, timesteps, 0) as tf.Tensor2D[]);
      const controllerStates = [...start.controller];
      const memoryStates =
        options.resetExperience === true ? this.memories.map((m) => m.initialState(batchSize)) : [...start.memory];
      const readVectors = [...start.readVectors];
      // What made memoryStates[i] when this call owns it (a step of the call, or the fresh initial state when no
      // state was passed in or resetExperience asked for one); undefined while it is the caller's state.
      const ownStart = options.resetExperience === true || hidden === undefined;
      const madeBy: (SpentState | undefined)[] = memoryStates.map((state) => (ownStart ? { state } : undefined));
      const topLayer = o.numLayers - 1;
      const initialTopReads = start.readVectors[topLayer];
      // One zero tensor per layer, so disposing one layer's returned reads cannot free another's.
      const zeroReads = passThroughMemory
        ? undefined
        : this.controllers.map(() => tf.zeros([batchSize, readSize]) as tf.Tensor2D);
      // Each memory's interface weights arranged once for all of this call's steps.
      const preparedInterfaces = zeroReads === undefined ? this.memories.map((m) => m.prepareInterface()) : [];
      const perLayerXi: tf.Tensor2D[][] = this.controllers.map(() => []);
      const perLayerReads: tf.Tensor2D[][] = this.controllers.map(() => []);

      for (let t = 0; t < timesteps; t++) {
        let layerInputs: tf.Tensor2D[] = [readFeedback === 'initial' ? initialTopReads : readVectors[topLayer]];
        for (let layer = 0; layer < o.numLayers; layer++) {
          const step = prepared[layer].step(layerInputs, controllerStates[layer], {
            projected: layer === 0 ? projected[t] : undefined,
            nextSeed,
          });
          controllerStates[layer] = step.state;
          // ξ: the controller output clamped to ±clip; the only clipping pytorch-dnc does.
          const xi = clipNeeded ? (tf.clipByValue(step.output, -o.clip, o.clip) as tf.Tensor2D) : step.output;
          let reads: tf.Tensor2D;
          if (zeroReads === undefined) {
            const memoryIndex = o.shareMemory ? 0 : layer;
            const extra = options.memoryStepOptions?.(t, layer);
            const stepped = this.memories[memoryIndex].step(xi, memoryStates[memoryIndex], {
              ...extra,
              preparedInterface: preparedInterfaces[memoryIndex],
              debug: recorder !== undefined,
            });
            const spent = madeBy[memoryIndex];
            if (spent !== undefined) disposeSpentState(spent, stepped);
            madeBy[memoryIndex] = stepped;
            memoryStates[memoryIndex] = stepped.state;
            if (recorder !== undefined && stepped.debug !== undefined) recorder.recordMemoryStep(layer, stepped.debug);
            reads = tf.reshape(stepped.readVectors, [batchSize, readSize]);
          } else {
            reads = zeroReads[layer];
          }
          readVectors[layer] = reads;
          perLayerXi[layer].push(xi);
          perLayerReads[layer].push(reads);
          layerInputs = [xi, reads];
        }
      }

      // y_t = W_y·[ξ^{top}_t; r^{top}_t] + b_y for all timesteps in one fused matMul.
      const topFeatures = tf.concat([tf.concat(perLayerXi[topLayer], 0), tf.concat(perLayerReads[topLayer], 0)], 1);
      // Transposed once per call rather than `transposeB`: wasm's fused matMul misplaces the bias with transposeB.
      const flatOutput = affine(
        topFeatures,
        tf.transpose(this.outputWeights as tf.Tensor2D),
        this.outputBias as tf.Tensor1D,
      );
      const outputTimeMajor = tf.reshape(flatOutput, [timesteps, batchSize, o.outputSize]) as tf.Tensor3D;
      const output = o.batchFirst ? (tf.transpose(outputTimeMajor, [1, 0, 2]) as tf.Tensor3D) : outputTimeMajor;

      if (recorder !== undefined) {
        recordControllerSeries(recorder, perLayerXi, perLayerReads, o, timesteps);
        if (options.deferDebugReadout === true) pendingDebug = recorder.pack(timesteps);
        else debug = recorder.readOut(timesteps);
      }

      // A state passed through untouched (no memory step) is cloned so the returned hidden never aliases the input.
      const ownMemory = memoryStates.map((state, i) =>
        state === start.memory[i] && hidden !== undefined ? mapState(state, (t) => tf.clone(t)) : state,
      );
      const next: DNCHidden = { controller: controllerStates, memory: ownMemory, readVectors };
      result = { output, hidden: next };
      // Returning the tensors (not tf.keep) hands them to the caller's scope, so an enclosing tidy or
      // variableGrads still frees them.
      return [output, ...hiddenTensors(next), ...(pendingDebug === undefined ? [] : [pendingDebug.values])];
    });
    if (result === undefined) throw new Error('DNC.forward: internal error, no result');
    if (pendingDebug !== undefined) return { ...result, pendingDebug };
    return debug === undefined ? result : { ...result, debug };
  }

  /**
   * Copy pytorch weights into the variables. `params` maps `state_dict` names to `{shape, data}` (row-major).
   * With `strict` (default) missing and unexpected names are errors, as in PyTorch's `load_state_dict`.
   */
  loadStateDict(
    params: Readonly<Record<string, StateDictEntry>> | ReadonlyMap<string, StateDictEntry>,
    options: { strict?: boolean } = {},
  ): void {
    loadStateDictInto(this.variables, params, options);
  }

  dispose(): void {
    for (const c of this.controllers) c.dispose();
    for (const m of this.memories) m.dispose();
    this.outputWeights.dispose();
    this.outputBias.dispose();
  }
}
