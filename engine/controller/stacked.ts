/**
 * The DNC's controller network (paper, "Controller network"): `numHiddenLayers` stacked recurrent layers (LSTM,
 * GRU or plain RNN) with dropout between them in training, exactly as one `torch.nn.LSTM/GRU/RNN` with
 * `num_layers = numHiddenLayers` inside a pytorch-dnc DNC layer, parameters named `weight_ih_l{k}`, `weight_hh_l{k}`,
 * `bias_ih_l{k}`, `bias_hh_l{k}` and initialised like PyTorch (uniform ±1/√hidden) from a seed.
 *
 * Speed: per-op dispatch dominates at these sizes, so weights are rearranged once per forward call (`prepare`) and
 * the first layer's input columns that are known for the whole sequence (the DNC's x_t) are projected for all
 * timesteps in one matMul (`projectSequence`); a step then costs one fused matMul per layer plus the gate math.
 */
import * as tf from '@tensorflow/tfjs';
import { trainableVariable } from '../util/variable';
import { affine } from '../util/affine';
import { GRU_GATE_COUNT, gruStep } from './gru';
import { LSTM_GATE_COUNT, lstmStep } from './lstm';
import { RNN_GATE_COUNT, rnnStep, type RnnNonlinearity } from './rnn';
import { SeededRandom } from './seeded-random';
import type { CellStep, ControllerState, PreparedLayer, RnnType } from './types';

export const RNN_TYPES: readonly RnnType[] = ['lstm', 'gru', 'rnn'];

export interface ControllerConfig {
  readonly rnnType: RnnType;
  /** Width of the first layer's input (for the DNC: X + R·W). */
  readonly inputSize: number;
  /** H: units per hidden layer. */
  readonly hiddenSize: number;
  /** Stacked layers (PyTorch `num_layers`). */
  readonly numHiddenLayers: number;
  /** Whether the layers have `bias_ih`/`bias_hh` (PyTorch `bias`). */
  readonly bias: boolean;
  /** Dropout probability on each layer's output except the last, in training only (PyTorch `dropout`). */
  readonly dropout: number;
  /** Activation of the plain RNN; ignored by LSTM and GRU. */
  readonly nonlinearity: RnnNonlinearity;
}

/** Per-call view of the controller's weights; see `StackedController.prepare`. */
export interface PreparedController {
  /**
   * Project the first `projectedWidth` input columns of layer 0 for many rows at once (bias included).
   * @param inputs `[rows, projectedWidth]`, e.g. all timesteps of x flattened to `[time·batch, X]`
   * @returns `[rows, gates·hidden]`, to pass per step as `projected`
   */
  projectSequence(inputs: tf.Tensor2D): tf.Tensor2D;
  /**
   * One timestep through every hidden layer.
   * @param inputs layer 0's remaining input columns `[batch, ·]` in order (widths sum to inputSize − projectedWidth)
   * @param prev the previous controller state
   * @param options.projected this step's rows of `projectSequence` `[batch, gates·hidden]` (required when
   * projectedWidth > 0)
   * @param options.nextSeed when given (training with dropout), seeds each dropout mask
   * @returns the top layer's h_t `[batch, hidden]` and the new state
   */
  step(
    inputs: readonly tf.Tensor2D[],
    prev: ControllerState,
    options?: { projected?: tf.Tensor2D; nextSeed?: () => number },
  ): { output: tf.Tensor2D; state: ControllerState };
}

function gateCount(rnnType: RnnType): number {
  return rnnType === 'lstm' ? LSTM_GATE_COUNT : rnnType === 'gru' ? GRU_GATE_COUNT : RNN_GATE_COUNT;
}

/** A stack of recurrent layers with PyTorch parameter names and layouts. Variables are owned until `dispose()`. */
export class StackedController {
  readonly config: ControllerConfig;
  /** G: gate blocks per layer (4 LSTM, 3 GRU, 1 RNN). */
  readonly gates: number;
  /** Trainable variables by PyTorch name without module prefix (`weight_ih_l0`, …), in `state_dict` order. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  private readonly cellStep: CellStep;

  constructor(config: ControllerConfig, seed: number) {
    validateControllerConfig(config);
    this.config = config;
    this.gates = gateCount(config.rnnType);
    this.cellStep =
      config.rnnType === 'lstm' ? lstmStep : config.rnnType === 'gru' ? gruStep : rnnStep(config.nonlinearity);
    const random = new SeededRandom(seed);
    const bound = 1 / Math.sqrt(config.hiddenSize);
    const rows = this.gates * config.hiddenSize;
    const variables = new Map<string, tf.Variable>();
    const make = (name: string, shape: number[]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      variables.set(name, trainableVariable(random.uniform(size, bound), shape));
    };
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      make(`weight_ih_l${layer}`, [rows, layer === 0 ? config.inputSize : config.hiddenSize]);
      make(`weight_hh_l${layer}`, [rows, config.hiddenSize]);
      if (config.bias) {
        make(`bias_ih_l${layer}`, [rows]);
        make(`bias_hh_l${layer}`, [rows]);
      }
    }
    this.variables = variables;
  }

  /** Zero state for a batch (the paper's start; pytorch-dnc's random start is not reproduced). */
  initialState(batchSize: number): ControllerState {
    const zeros = () =>
      Array.from(
        { length: this.config.numHiddenLayers },
        () => tf.zeros([batchSize, this.config.hiddenSize]) as tf.Tensor2D,
      );
    return this.config.rnnType === 'lstm' ? { hidden: zeros(), cell: zeros() } : { hidden: zeros() };
  }

  /** Check a state passed in by a user; `where` names the argument in the error. */
  checkState(state: ControllerState, batchSize: number, where: string): void {
    const { numHiddenLayers, hiddenSize } = this.config;
    const check = (list: readonly tf.Tensor2D[] | undefined, part: string) => {
      if (list === undefined || list.length !== numHiddenLayers) {
        throw new Error(
          `${where}.${part}: expected ${numHiddenLayers} tensors (one per hidden layer), got ` +
            `${list === undefined ? 'undefined' : list.length}`,
        );
      }
      list.forEach((t, i) => {
        if (t.rank !== 2 || t.shape[0] !== batchSize || t.shape[1] !== hiddenSize) {
          throw new Error(
            `${where}.${part}[${i}]: expected shape [${batchSize}, ${hiddenSize}], got [${t.shape.join(', ')}]`,
          );
        }
      });
    };
    check(state.hidden, 'hidden');
    if (this.config.rnnType === 'lstm') check(state.cell, 'cell');
  }

  /**
   * Rearrange the weights for one forward call. Call inside the caller's tidy/tape so gradients reach the variables.
   * @param projectedWidth how many leading columns of layer 0's input `projectSequence` will handle (0 for none)
   */
  prepare(projectedWidth: number): PreparedController {
    const { numHiddenLayers, inputSize, hiddenSize, dropout, rnnType } = this.config;
    if (!Number.isInteger(projectedWidth) || projectedWidth < 0 || projectedWidth > inputSize) {
      throw new Error(
        `StackedController.prepare: projectedWidth must be an integer in [0, ${inputSize}], got ${projectedWidth}`,
      );
    }
    const rows = this.gates * hiddenSize;
    const variable = (name: string) => {
      const found = this.variables.get(name);
      if (found === undefined) throw new Error(`StackedController: missing variable ${name}`);
      return found;
    };
    const layers: PreparedLayer[] = [];
    let projectionWeights: tf.Tensor2D | undefined;
    for (let layer = 0; layer < numHiddenLayers; layer++) {
      let inputWeights = variable(`weight_ih_l${layer}`) as tf.Tensor2D;
      const hiddenWeights = variable(`weight_hh_l${layer}`) as tf.Tensor2D;
      if (layer === 0 && projectedWidth > 0) {
        projectionWeights = tf.transpose(tf.slice(inputWeights, [0, 0], [rows, projectedWidth]));
        inputWeights = tf.slice(inputWeights, [0, projectedWidth], [rows, inputSize - projectedWidth]);
      }
      const biasIh = this.config.bias ? (variable(`bias_ih_l${layer}`) as tf.Tensor1D) : undefined;
      const biasHh = this.config.bias ? (variable(`bias_hh_l${layer}`) as tf.Tensor1D) : undefined;
      if (rnnType === 'gru') {
        layers.push({
          stepWeights: tf.transpose(inputWeights),
          bias: biasIh,
          hiddenWeights: tf.transpose(hiddenWeights),
          hiddenBias: biasHh,
        });
      } else {
        layers.push({
          stepWeights: tf.transpose(tf.concat([inputWeights, hiddenWeights], 1)),
          bias: biasIh !== undefined && biasHh !== undefined ? tf.add(biasIh, biasHh) : undefined,
        });
      }
    }
    const cellStep = this.cellStep;
    const hasCell = rnnType === 'lstm';
    return {
      projectSequence(inputs) {
        if (projectionWeights === undefined)
          throw new Error('PreparedController.projectSequence: prepared with projectedWidth 0');
        if (inputs.rank !== 2 || inputs.shape[1] !== projectedWidth) {
          throw new Error(
            `PreparedController.projectSequence: inputs must be [rows, ${projectedWidth}], got ` +
              `[${inputs.shape.join(', ')}]`,
          );
        }
        return affine(inputs, projectionWeights, layers[0].bias);
      },
      step(inputs, prev, options = {}) {
        if (projectionWeights !== undefined && options.projected === undefined) {
          throw new Error(
            'PreparedController.step: options.projected is required when prepared with projectedWidth > 0',
          );
        }
        const hidden: tf.Tensor2D[] = [];
        const cell: tf.Tensor2D[] = [];
        let layerInputs: readonly tf.Tensor2D[] = inputs;
        let output = prev.hidden[0];
        for (let layer = 0; layer < numHiddenLayers; layer++) {
          const next = cellStep(
            layers[layer],
            layerInputs,
            prev.hidden[layer],
            prev.cell?.[layer],
            layer === 0 ? options.projected : undefined,
          );
          hidden.push(next.hidden);
          if (next.cell !== undefined) cell.push(next.cell);
          output = next.hidden;
          // PyTorch drops out every layer's output except the last one's, and only in training.
          const dropped = options.nextSeed !== undefined && dropout > 0 && layer < numHiddenLayers - 1;
          layerInputs = [
            dropped ? (tf.dropout(next.hidden, dropout, undefined, options.nextSeed?.()) as tf.Tensor2D) : next.hidden,
          ];
        }
        return { output, state: hasCell ? { hidden, cell } : { hidden } };
      },
    };
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}

/** Throw, naming the option and the value, when a controller config cannot describe a network. */
export function validateControllerConfig(config: ControllerConfig): void {
  if (!RNN_TYPES.includes(config.rnnType)) {
    throw new Error(
      `controller: rnnType must be one of ${RNN_TYPES.join(', ')}, got ${JSON.stringify(config.rnnType)}`,
    );
  }
  for (const [name, value] of [
    ['inputSize', config.inputSize],
    ['hiddenSize', config.hiddenSize],
    ['numHiddenLayers', config.numHiddenLayers],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`controller: ${name} must be a positive integer, got ${value}`);
  }
  if (typeof config.dropout !== 'number' || !(config.dropout >= 0 && config.dropout < 1)) {
    throw new Error(`controller: dropout must be in [0, 1), got ${config.dropout}`);
  }
  if (config.nonlinearity !== 'tanh' && config.nonlinearity !== 'relu') {
    throw new Error(`controller: nonlinearity must be 'tanh' or 'relu', got ${JSON.stringify(config.nonlinearity)}`);
  }
}
