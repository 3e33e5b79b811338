/**
 * The training loop for one run: a DNC (Graves et al. 2016) trained by backpropagation through time on one task,
 * one iteration per `step()`. Each iteration draws a batch from the seeded task generator, records the forward
 * pass on the gradient tape, checks loss, metric, gradients and final memory state for NaN/Inf with ONE
 * readout, clips the gradient norm and applies the optimizer — or throws `NonFiniteError` before any weight is
 * touched.
 *
 * Debug frames cost nothing on ordinary iterations: the trained model is built without debug, and a second,
 * debug-enabled twin (created on first use) copies its weights on the device and re-runs only batch element 0
 * for captured iterations.
 *
 * Determinism: weights come from the config seed, batches from an xoshiro128** generator whose state, with the
 * weights, optimizer slots and iteration, goes into `checkpoint()`; a restored trainer continues bit-exactly on
 * the same backend (controller dropout excepted: its mask generator lives inside the model).
 */
import * as tf from '@tensorflow/tfjs';
import type { DNC } from '../dnc';
import { hiddenTensors } from '../dnc-hidden';
import { createTask, type Task } from '../tasks/index';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type NamedValues } from './checkpoint-format';
import { canonicalFieldName, isTrainField, resolveTrainConfig, sequenceLengthAt } from './config';
import { readChecks } from './finite-checks';
import { FrameCapture } from './frame-capture';
import { buildModel } from './model-factory';
import { globalNormClip, Optimizer } from './optimizers';
import { Rng } from './rng';
import type { DebugFrame } from '../frames';
import { ConfigError, NonFiniteError, type IterationResult, type Trainer, type TrainConfig } from './types';

/** Options that are not part of a run's config. */
export interface TrainerOptions {
  /**
   * Runs before each iteration's forward pass with the model's variables; for tests that plant a NaN or
   * inspect weights. Must not dispose anything.
   */
  beforeIteration?: (context: { iteration: number; variables: ReadonlyMap<string, tf.Variable> }) => void;
}

/** Fields a restored run may change; everything else must match the checkpoint. */
export const RESUME_OVERRIDABLE: readonly (keyof TrainConfig)[] = ['iterations', 'summarize_freq', 'check_freq', 'lr'];

/** Separates the test-phase data stream from the training one, so testing never shifts training batches. */
const TEST_SEED_OFFSET = 0x7e57;

/** A trainer plus read access to its model, for the CLI, benches and tests. */
export interface TrainerSession extends Trainer {
  readonly model: DNC;
  readonly task: Task;
  /** Current learning rate (after `setLearningRate`). */
  readonly learningRate: number;
  readonly summarizeFreq: number;
  /** Copy of every weight, by pytorch-dnc state_dict name. */
  weights(): Promise<Map<string, Float32Array>>;
}

class TrainerImpl implements TrainerSession {
  readonly model: DNC;
  readonly task: Task;
  private readonly optimizer: Optimizer;
  private rng: Rng;
  private completed = 0;
  private summarizeEvery: number;
  private readonly frames: FrameCapture;
  /** tf.Variable.name → pytorch-dnc parameter name (variableGrads keys gradients by the former). */
  private readonly parameterNames = new Map<string, string>();
  private disposed = false;

  constructor(
    readonly config: Readonly<TrainConfig>,
    private readonly options: TrainerOptions,
  ) {
    this.task = createTask(config.task, { inputSize: config.input_size ?? 6, repeats: config.repeats });
    this.model = buildModel(config, this.task, false);
    for (const [name, variable] of this.model.variables) this.parameterNames.set(variable.name, name);
    this.optimizer = new Optimizer(config.optim, config.lr, this.model.variables);
    this.rng = Rng.fromSeed(config.seed);
    this.summarizeEvery = config.summarize_freq;
    this.frames = new FrameCapture(config, this.task);
  }

  get iteration(): number {
    return this.completed;
  }

  get learningRate(): number {
    return this.optimizer.learningRate;
  }

  get summarizeFreq(): number {
    return this.summarizeEvery;
  }

  setLearningRate(lr: number): void {
    if (!Number.isFinite(lr) || lr <= 0) throw new ConfigError('lr', `${lr} must be a positive finite number`);
    this.optimizer.learningRate = lr;
  }

  setSummarizeFreq(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new ConfigError('summarize_freq', `${n} must be a positive integer`);
    this.summarizeEvery = n;
  }

  /** Draw the length for a batch: uniform in [minLength, bound] (pytorch-dnc's `randint(1, max + 1)`). */
  private drawLength(rng: Rng, bound: number, minimum: number): number {
    const upper = Math.min(bound, this.task.maxLength ?? Number.POSITIVE_INFINITY);
    const lower = Math.min(Math.max(this.task.minLength, minimum), upper);
    return rng.nextIntInclusive(lower, upper);
  }

  async step(options: { captureFrame?: boolean } = {}): Promise<IterationResult> {
    this.checkAlive('step');
    const started = performance.now();
    const iteration = this.completed + 1;
    const bound = sequenceLengthAt(this.config, iteration);
    // Drawn on a copy: a refused iteration leaves the trainer's RNG, like its weights, as it was.
    const rng = Rng.fromState(this.rng.state());
    const batch = this.task.generate(rng, this.config.batch_size, this.drawLength(rng, bound, this.task.minLength));
    this.options.beforeIteration?.({ iteration, variables: this.model.variables });

    const input = tf.tensor3d(batch.input, [batch.batchSize, batch.timesteps, batch.inputSize]);
    const target = tf.tensor3d(batch.target, [batch.batchSize, batch.timesteps, batch.outputSize]);
    const owned: tf.Tensor[] = [input, target];
    try {
      let output: tf.Tensor3D | undefined;
      let state: { name: string; tensor: tf.Tensor }[] = [];
      const variables = [...this.model.variables.values()];
      const { value: loss, grads } = tf.variableGrads(() => {
        const result = this.model.forward(input, undefined, { resetExperience: true, training: true });
        // Kept past the tape's scope for the metric and the state check; released in `finally`.
        output = tf.keep(result.output);
        for (const tensor of hiddenTensors(result.hidden)) tf.keep(tensor);
        const memory = result.hidden.memory.flatMap((memoryState, index) =>
          Object.entries(memoryState).map(([name, tensor]) => ({
            name: `memory${index === 0 ? '' : index}.${name}`,
            tensor,
          })),
        );
        state = memory;
        owned.push(...hiddenTensors(result.hidden));
        return this.task.loss(result.output, target, batch);
      }, variables);
      owned.push(loss, ...Object.values(grads));
      if (output === undefined) throw new Error('Trainer.step: the forward pass produced no output');
      const finalOutput: tf.Tensor3D = output;
      owned.push(finalOutput);
      const gradients: Record<string, tf.Tensor> = {};
      for (const [variableName, parameter] of this.parameterNames) {
        const gradient = grads[variableName];
        if (gradient !== undefined) {
          gradients[parameter] = gradient;
        } else {
          // A parameter the loss does not reach (e.g. an unused layer) gets a zero gradient, as in PyTorch.
          const variable = this.model.variables.get(parameter);
          if (variable === undefined) throw new Error(`Trainer.step: lost track of parameter '${parameter}'`);
          const zeros = tf.zerosLike(variable);
          owned.push(zeros);
          gradients[parameter] = zeros;
        }
      }
      const { norm, factor } = globalNormClip(gradients, this.config.clip);
      owned.push(norm, factor);
      const metric = this.task.metric(finalOutput, target, batch);
      owned.push(metric);
      let values: Awaited<ReturnType<typeof readChecks>>;
      try {
        values = await readChecks(iteration, { loss, metric, norm, gradients, state, output: finalOutput });
      } catch (error) {
        // Keep the offending forward pass for the viewer; the weights are still the ones that produced it.
        if (error instanceof NonFiniteError) error.frame = await this.captureQuietly(batch, input, target);
        throw error;
      }
      const capture = options.captureFrame === true || iteration % this.summarizeEvery === 0;
      // The frame shows the forward pass these gradients came from, so it is taken before the update.
      const frame = capture ? await this.frames.capture(this.model, batch, input, target) : undefined;
      this.optimizer.apply(gradients, { scale: factor });
      this.rng = rng;
      this.completed = iteration;
      return {
        iteration,
        loss: values.loss,
        metric: values.metric,
        metricName: this.task.metricName,
        wallMs: performance.now() - started,
        sequenceLength: bound,
        ...(frame === undefined ? {} : { frame }),
      };
    } finally {
      tf.dispose(owned);
    }
  }

  async test(
    options: { batches?: number; lengthFactor?: number } = {},
  ): Promise<{ metric: number; metricName: string; loss: number }> {
    this.checkAlive('test');
    const batches = options.batches ?? 10;
    const lengthFactor = options.lengthFactor ?? this.task.testLengthFactor;
    if (!Number.isInteger(batches) || batches < 1)
      throw new Error(`Trainer.test: batches must be a positive integer, got ${batches}`);
    if (!(lengthFactor >= 1)) throw new Error(`Trainer.test: lengthFactor must be >= 1, got ${lengthFactor}`);
    const rng = Rng.fromSeed(this.config.seed + TEST_SEED_OFFSET);
    const bound = Math.max(1, Math.floor(sequenceLengthAt(this.config, Math.max(1, this.completed)) * lengthFactor));
    let lossSum = 0;
    let metricSum = 0;
    for (let b = 0; b < batches; b++) {
      // pytorch-dnc tests on lengths drawn from [2, factor · max].
      const batch = this.task.generate(rng, this.config.batch_size, this.drawLength(rng, bound, 2));
      const scores = tf.tidy(() => {
        const input = tf.tensor3d(batch.input, [batch.batchSize, batch.timesteps, batch.inputSize]);
        const target = tf.tensor3d(batch.target, [batch.batchSize, batch.timesteps, batch.outputSize]);
        const result = this.model.forward(input, undefined, { resetExperience: true });
        const scored = tf.stack([
          this.task.loss(result.output, target, batch),
          this.task.metric(result.output, target, batch),
        ]);
        // forward() keeps its results out of any tidy scope, so they are released by hand.
        tf.dispose([result.output, ...hiddenTensors(result.hidden)]);
        return scored;
      });
      const [loss, metric] = await scores.data();
      scores.dispose();
      lossSum += loss;
      metricSum += metric;
    }
    return { metric: metricSum / batches, metricName: this.task.metricName, loss: lossSum / batches };
  }

  async weights(): Promise<Map<string, Float32Array>> {
    this.checkAlive('weights');
    const copies = new Map<string, Float32Array>();
    for (const [name, variable] of this.model.variables) {
      const values = await variable.data();
      if (!(values instanceof Float32Array)) throw new Error(`Trainer.weights: '${name}' is not float32`);
      copies.set(name, values.slice());
    }
    return copies;
  }

  async checkpoint(): Promise<Uint8Array> {
    this.checkAlive('checkpoint');
    const weights: NamedValues[] = [];
    for (const [name, values] of await this.weights()) {
      const variable = this.model.variables.get(name);
      if (variable === undefined) throw new Error(`Trainer.checkpoint: lost parameter '${name}'`);
      weights.push({ name, shape: variable.shape, values });
    }
    return encodeCheckpoint({
      config: { ...this.config },
      iteration: this.completed,
      rng: this.rng.state(),
      summarizeFreq: this.summarizeEvery,
      weights,
      optimizer: await this.optimizer.snapshot(),
    });
  }

  /** Load a decoded checkpoint's state into this freshly built trainer. */
  restoreState(contents: ReturnType<typeof decodeCheckpoint>): void {
    const expected = new Map([...this.model.variables].map(([name, variable]) => [name, variable.shape]));
    const found = new Set(contents.weights.map((w) => w.name));
    const missing = [...expected.keys()].filter((name) => !found.has(name));
    const unexpected = contents.weights.map((w) => w.name).filter((name) => !expected.has(name));
    if (missing.length > 0 || unexpected.length > 0) {
      throw new CheckpointError(
        `weights do not match the model built from its config: missing ${missing.join(', ') || 'none'}; unexpected ` +
          `${unexpected.join(', ') || 'none'}`,
      );
    }
    for (const weight of contents.weights) {
      const shape = expected.get(weight.name) ?? [];
      if (shape.join(',') !== weight.shape.join(',')) {
        throw new CheckpointError(
          `weight '${weight.name}' has shape [${weight.shape.join(', ')}], the model expects [${shape.join(', ')}]`,
        );
      }
    }
    try {
      this.optimizer.restore(contents.optimizer);
    } catch (error) {
      throw new CheckpointError(error instanceof Error ? error.message : String(error));
    }
    for (const weight of contents.weights) {
      const variable = this.model.variables.get(weight.name);
      if (variable !== undefined) tf.tidy(() => variable.assign(tf.tensor(weight.values, variable.shape, 'float32')));
    }
    try {
      this.rng = Rng.fromState(contents.rng);
    } catch (error) {
      throw new CheckpointError(error instanceof Error ? error.message : String(error));
    }
    this.completed = contents.iteration;
    this.summarizeEvery = contents.summarizeFreq;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    this.model.dispose();
    this.frames.dispose();
  }

  /** A frame for a refused iteration; a failure to capture it must not hide the original error. */
  private async captureQuietly(
    batch: Parameters<FrameCapture['capture']>[1],
    input: tf.Tensor3D,
    target: tf.Tensor3D,
  ): Promise<DebugFrame | undefined> {
    try {
      return await this.frames.capture(this.model, batch, input, target);
    } catch {
      return undefined;
    }
  }

  private checkAlive(method: string): void {
    if (this.disposed) throw new Error(`Trainer.${method}: the trainer was disposed`);
  }
}

/**
 * Start a run. `config` may be a TrainConfig or any partial run config (`resolveTrainConfig` fills defaults and
 * validates; ConfigError names a bad field).
 *
 * @example
 * const trainer = createTrainer({ task: 'copy', batch_size: 8, mem_slot: 8 });
 * const { loss, metric } = await trainer.step();
 */
export function createTrainer(
  config: TrainConfig | Record<string, unknown>,
  options: TrainerOptions = {},
): TrainerSession {
  return new TrainerImpl(resolveTrainConfig({ ...config }), options);
}

/**
 * Rebuild a trainer from `checkpoint()` bytes; its next iterations equal the uninterrupted run's. `overrides`
 * may change only iterations, summarize_freq, check_freq and lr. Throws CheckpointError for unreadable or
 * mismatched checkpoints and ConfigError for a bad override.
 */
export function restoreTrainer(
  bytes: Uint8Array,
  options: TrainerOptions & { overrides?: Partial<Record<keyof TrainConfig, unknown>> } = {},
): TrainerSession {
  const contents = decodeCheckpoint(bytes);
  let saved: TrainConfig;
  try {
    saved = resolveTrainConfig({ ...contents.config });
  } catch (error) {
    throw new CheckpointError(`stored config is invalid: ${error instanceof Error ? error.message : String(error)}`);
  }
  const overrides = new Map<keyof TrainConfig, unknown>();
  for (const [field, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    const name = canonicalFieldName(field);
    if (!isTrainField(name)) throw new ConfigError(field, 'unknown field');
    if (!RESUME_OVERRIDABLE.includes(name) && String(value) !== String(saved[name])) {
      throw new ConfigError(
        field,
        `cannot change on resume (checkpoint has ${String(saved[name])}, got ${String(value)})`,
      );
    }
    if (RESUME_OVERRIDABLE.includes(name)) overrides.set(name, value);
  }
  const config = resolveTrainConfig({ ...saved, ...Object.fromEntries(overrides) });
  const trainer = new TrainerImpl(config, options);
  try {
    trainer.restoreState(contents);
    if (overrides.has('lr')) trainer.setLearningRate(config.lr);
    if (overrides.has('summarize_freq')) trainer.setSummarizeFreq(config.summarize_freq);
  } catch (error) {
    trainer.dispose();
    throw error;
  }
  return trainer;
}
