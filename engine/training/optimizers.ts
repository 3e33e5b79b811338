/**
 * Optimizers for DNC training, following PyTorch's update rules with pytorch-dnc's task-script settings
 * (Adam and Adamax: β 0.9/0.98, ε 1e-9; RMSprop: α 0.99, momentum 0.9, ε 1e-10), plus gradient-norm clipping
 * as `torch.nn.utils.clip_grad_norm_` does it.
 *
 * Why not `tf.train.*`: tfjs's Adamax has no `getWeights`/`setWeights`, and its Adam restores the bias-correction
 * powers as `pow(β, t)` where training accumulated them by repeated float32 products, so a resumed run would
 * drift from an uninterrupted one. Here every slot is a plain variable per parameter and the step count is a
 * JS number, so a checkpoint captures the whole state and a restore is bit-exact.
 *
 * Speed: every parameter's update is the same elementwise formula, so all parameters are updated at once on one
 * flat vector (parameters and gradients concatenated, one flat variable per slot): about fifteen kernels per
 * iteration instead of fifteen per parameter. Elementwise float32 arithmetic gives the same bits either way.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerName } from './types';

/** PyTorch's `clip_grad_norm_` guard against dividing by a zero norm. */
const CLIP_NORM_EPSILON = 1e-6;

/** Per-optimizer constants (PyTorch names). Only the fields an optimizer uses are read. */
export interface OptimizerHyperparameters {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** RMSprop's smoothing constant α (PyTorch default 0.99). */
  readonly alpha: number;
  readonly momentum: number;
  /** Adadelta's ρ. */
  readonly rho: number;
}

/** The defaults pytorch-dnc's task scripts pass (Adam, Adamax, RMSprop) or PyTorch's own (the rest). */
export const OPTIMIZER_DEFAULTS: Readonly<Record<OptimizerName, OptimizerHyperparameters>> = {
  adam: { beta1: 0.9, beta2: 0.98, epsilon: 1e-9, alpha: 0, momentum: 0, rho: 0 },
  adamax: { beta1: 0.9, beta2: 0.98, epsilon: 1e-9, alpha: 0, momentum: 0, rho: 0 },
  rmsprop: { beta1: 0, beta2: 0, epsilon: 1e-10, alpha: 0.99, momentum: 0.9, rho: 0 },
  sgd: { beta1: 0, beta2: 0, epsilon: 0, alpha: 0, momentum: 0, rho: 0 },
  adagrad: { beta1: 0, beta2: 0, epsilon: 1e-10, alpha: 0, momentum: 0, rho: 0 },
  adadelta: { beta1: 0, beta2: 0, epsilon: 1e-6, alpha: 0, momentum: 0, rho: 0.9 },
};

/** Slot (per-parameter state) names each optimizer keeps. */
const SLOT_NAMES: Readonly<Record<OptimizerName, readonly string[]>> = {
  adam: ['exp_avg', 'exp_avg_sq'],
  adamax: ['exp_avg', 'exp_inf'],
  rmsprop: ['square_avg', 'momentum_buffer'],
  sgd: [],
  adagrad: ['sum'],
  adadelta: ['square_avg', 'acc_delta'],
};

/** One slot tensor's values, for checkpoints. */
export interface SlotValues {
  readonly parameter: string;
  readonly slot: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Everything needed to continue an optimizer bit-exactly (besides the parameters themselves). */
export interface OptimizerSnapshot {
  readonly name: OptimizerName;
  readonly learningRate: number;
  /** Updates applied so far (PyTorch's `state['step']`). */
  readonly step: number;
  readonly slots: readonly SlotValues[];
}

/** Where one parameter sits in the flat vectors. */
interface FlatSpan {
  readonly parameter: string;
  readonly variable: tf.Variable;
  readonly offset: number;
  readonly size: number;
}

/**
 * A stateful optimizer over a fixed set of named parameters.
 *
 * @example
 * const optimizer = new Optimizer('adam', 1e-3, model.variables);
 * optimizer.apply(gradients); // gradients keyed like model.variables
 */
export class Optimizer {
  /** One flat variable per slot name, parameters concatenated in `spans` order. */
  private readonly slots = new Map<string, tf.Variable>();
  private readonly spans: readonly FlatSpan[];
  private stepCount = 0;
  private rate: number;
  readonly hyper: OptimizerHyperparameters;

  constructor(
    readonly name: OptimizerName,
    learningRate: number,
    private readonly parameters: ReadonlyMap<string, tf.Variable>,
  ) {
    if (!(name in SLOT_NAMES)) throw new Error(`Optimizer: unknown optimizer '${name}'`);
    this.rate = checkLearningRate(learningRate);
    this.hyper = OPTIMIZER_DEFAULTS[name];
    let offset = 0;
    const spans: FlatSpan[] = [];
    for (const [parameter, variable] of parameters) {
      spans.push({ parameter, variable, offset, size: variable.size });
      offset += variable.size;
    }
    this.spans = spans;
    for (const slot of SLOT_NAMES[name])
      this.slots.set(
        slot,
        tf.tidy(() => tf.variable(tf.zeros([offset]), false)),
      );
  }

  get learningRate(): number {
    return this.rate;
  }

  set learningRate(value: number) {
    this.rate = checkLearningRate(value);
  }

  get step(): number {
    return this.stepCount;
  }

  /**
   * Apply one update. `gradients` must hold exactly one tensor per parameter, same shapes; they are not disposed.
   * `scale` (a scalar, e.g. `globalNormClip`'s factor) multiplies the gradient first, on the one flat vector:
   * element for element the same product as scaling each parameter's gradient, in one kernel instead of one each.
   */
  apply(gradients: Readonly<Record<string, tf.Tensor>>, options: { scale?: tf.Scalar } = {}): void {
    for (const parameter of Object.keys(gradients)) {
      if (!this.parameters.has(parameter))
        throw new Error(`Optimizer.apply: gradient for unknown parameter '${parameter}'`);
    }
    for (const { parameter, variable } of this.spans) {
      const gradient = gradients[parameter];
      if (!gradient) throw new Error(`Optimizer.apply: no gradient for parameter '${parameter}'`);
      if (gradient.shape.join(',') !== variable.shape.join(',')) {
        throw new Error(
          `Optimizer.apply: gradient for '${parameter}' has shape [${gradient.shape.join(', ')}], the parameter ` +
            `[${variable.shape.join(', ')}]`,
        );
      }
    }
    if (options.scale !== undefined && options.scale.rank !== 0) {
      throw new Error(`Optimizer.apply: scale must be a scalar, got shape [${options.scale.shape.join(', ')}]`);
    }
    this.stepCount += 1;
    if (this.spans.length === 0) return;
    tf.tidy(() => {
      const flat = (tensors: tf.Tensor[]) =>
        tensors.length === 1 ? tf.reshape(tensors[0], [-1]) : tf.concat(tensors.map((t) => tf.reshape(t, [-1])));
      const gradient = flat(this.spans.map((span) => gradients[span.parameter]));
      const updated = this.update(
        flat(this.spans.map((span) => span.variable)),
        options.scale === undefined ? gradient : tf.mul(gradient, options.scale),
      );
      const pieces =
        this.spans.length === 1
          ? [updated]
          : tf.split(
              updated,
              this.spans.map((span) => span.size),
            );
      this.spans.forEach((span, index) => span.variable.assign(tf.reshape(pieces[index], span.variable.shape)));
    });
  }

  /** The new flat parameter vector from the flat `variable` and `gradient`; slots are assigned here. */
  private update(variable: tf.Tensor, gradient: tf.Tensor): tf.Tensor {
    const { beta1, beta2, epsilon, alpha, momentum, rho } = this.hyper;
    const slot = (slotName: string): tf.Variable => {
      const found = this.slots.get(slotName);
      if (!found) throw new Error(`Optimizer(${this.name}): missing slot '${slotName}'`);
      return found;
    };
    const step = this.stepCount;
    const rate = this.rate;
    switch (this.name) {
      case 'adam': {
        const average = tf.add(tf.mul(slot('exp_avg'), beta1), tf.mul(gradient, 1 - beta1));
        const squareAverage = tf.add(tf.mul(slot('exp_avg_sq'), beta2), tf.mul(tf.square(gradient), 1 - beta2));
        const stepSize = rate / (1 - beta1 ** step);
        const denominator = tf.add(tf.div(tf.sqrt(squareAverage), Math.sqrt(1 - beta2 ** step)), epsilon);
        slot('exp_avg').assign(average);
        slot('exp_avg_sq').assign(squareAverage);
        return tf.sub(variable, tf.mul(tf.div(average, denominator), stepSize));
      }
      case 'adamax': {
        const average = tf.add(tf.mul(slot('exp_avg'), beta1), tf.mul(gradient, 1 - beta1));
        const infinityNorm = tf.maximum(tf.mul(slot('exp_inf'), beta2), tf.add(tf.abs(gradient), epsilon));
        const stepSize = rate / (1 - beta1 ** step);
        slot('exp_avg').assign(average);
        slot('exp_inf').assign(infinityNorm);
        return tf.sub(variable, tf.mul(tf.div(average, infinityNorm), stepSize));
      }
      case 'rmsprop': {
        const squareAverage = tf.add(tf.mul(slot('square_avg'), alpha), tf.mul(tf.square(gradient), 1 - alpha));
        const scaled = tf.div(gradient, tf.add(tf.sqrt(squareAverage), epsilon));
        const buffer = tf.add(tf.mul(slot('momentum_buffer'), momentum), scaled);
        slot('square_avg').assign(squareAverage);
        slot('momentum_buffer').assign(buffer);
        return tf.sub(variable, tf.mul(buffer, rate));
      }
      case 'sgd':
        return tf.sub(variable, tf.mul(gradient, rate));
      case 'adagrad': {
        const sum = tf.add(slot('sum'), tf.square(gradient));
        slot('sum').assign(sum);
        return tf.sub(variable, tf.mul(tf.div(gradient, tf.add(tf.sqrt(sum), epsilon)), rate));
      }
      case 'adadelta': {
        const squareAverage = tf.add(tf.mul(slot('square_avg'), rho), tf.mul(tf.square(gradient), 1 - rho));
        const delta = tf.mul(
          tf.div(tf.sqrt(tf.add(slot('acc_delta'), epsilon)), tf.sqrt(tf.add(squareAverage, epsilon))),
          gradient,
        );
        const accumulatedDelta = tf.add(tf.mul(slot('acc_delta'), rho), tf.mul(tf.square(delta), 1 - rho));
        slot('square_avg').assign(squareAverage);
        slot('acc_delta').assign(accumulatedDelta);
        return tf.sub(variable, tf.mul(delta, rate));
      }
    }
  }

  /** Read every slot (one `data()` per slot) for a checkpoint. */
  async snapshot(): Promise<OptimizerSnapshot> {
    const slots: SlotValues[] = [];
    const flatValues = new Map<string, Float32Array>();
    for (const [slot, variable] of this.slots) {
      const values = await variable.data();
      if (!(values instanceof Float32Array)) throw new Error(`Optimizer.snapshot: slot ${slot} is not float32`);
      flatValues.set(slot, values);
    }
    for (const span of this.spans) {
      for (const [slot, values] of flatValues) {
        slots.push({
          parameter: span.parameter,
          slot,
          shape: [...span.variable.shape],
          values: values.slice(span.offset, span.offset + span.size),
        });
      }
    }
    return { name: this.name, learningRate: this.rate, step: this.stepCount, slots };
  }

  /** Restore from `snapshot()`: same optimizer, same parameters and shapes, or an error naming what differs. */
  restore(snapshot: OptimizerSnapshot): void {
    if (snapshot.name !== this.name) {
      throw new Error(`Optimizer.restore: snapshot is for '${snapshot.name}', this optimizer is '${this.name}'`);
    }
    if (!Number.isInteger(snapshot.step) || snapshot.step < 0) {
      throw new Error(`Optimizer.restore: step must be a non-negative integer, got ${snapshot.step}`);
    }
    const expected = this.spans.length * this.slots.size;
    if (snapshot.slots.length !== expected) {
      throw new Error(
        `Optimizer.restore: snapshot has ${snapshot.slots.length} slots, '${this.name}' needs ${expected}`,
      );
    }
    const spanOf = new Map(this.spans.map((span) => [span.parameter, span]));
    const flatValues = new Map([...this.slots].map(([slot, variable]) => [slot, new Float32Array(variable.size)]));
    for (const entry of snapshot.slots) {
      const span = spanOf.get(entry.parameter);
      const values = flatValues.get(entry.slot);
      if (!span || !values) throw new Error(`Optimizer.restore: unknown slot ${entry.parameter}/${entry.slot}`);
      if (entry.shape.join(',') !== span.variable.shape.join(',') || entry.values.length !== span.size) {
        throw new Error(
          `Optimizer.restore: slot ${entry.parameter}/${entry.slot} has shape [${entry.shape.join(', ')}], ` +
            `expected [${span.variable.shape.join(', ')}]`,
        );
      }
      values.set(entry.values, span.offset);
    }
    for (const [slot, values] of flatValues) {
      const variable = this.slots.get(slot);
      if (variable) tf.tidy(() => variable.assign(tf.tensor1d(values)));
    }
    this.stepCount = snapshot.step;
    this.rate = checkLearningRate(snapshot.learningRate);
  }

  dispose(): void {
    for (const variable of this.slots.values()) variable.dispose();
    this.slots.clear();
  }
}

function checkLearningRate(value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`Optimizer: learning rate must be a positive finite number, got ${value}`);
  }
  return value;
}

/**
 * The global L2 norm of `gradients` and the factor that scales them to a norm of at most `maxNorm` (PyTorch's
 * `clip_grad_norm_`: min(1, maxNorm / (norm + 1e-6))), both scalars the caller owns. Runs on the device: no
 * readout. `Optimizer.apply(gradients, { scale: factor })` applies the clipped update without a copy per parameter.
 */
export function globalNormClip(
  gradients: Readonly<Record<string, tf.Tensor>>,
  maxNorm: number,
): { norm: tf.Scalar; factor: tf.Scalar } {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be positive, got ${maxNorm}`);
  const names = Object.keys(gradients);
  const norm = tf.tidy(() => tf.sqrt(tf.addN(names.map((name) => tf.sum(tf.square(gradients[name]))))) as tf.Scalar);
  const factor = tf.tidy(() => tf.minimum(tf.div(maxNorm, tf.add(norm, CLIP_NORM_EPSILON)), 1) as tf.Scalar);
  return { norm, factor };
}

/**
 * Scale `gradients` so their global L2 norm is at most `maxNorm` (see `globalNormClip`). Returns new tensors and
 * the pre-clipping norm as a scalar; the caller owns them.
 */
export function clipByGlobalNorm(
  gradients: Readonly<Record<string, tf.Tensor>>,
  maxNorm: number,
): { clipped: Record<string, tf.Tensor>; norm: tf.Scalar } {
  const { norm, factor } = globalNormClip(gradients, maxNorm);
  const clipped: Record<string, tf.Tensor> = {};
  for (const name of Object.keys(gradients)) clipped[name] = tf.mul(gradients[name], factor);
  factor.dispose();
  return { clipped, norm };
}
