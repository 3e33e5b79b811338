/**
 * The algorithmic tasks the DNC is trained on (Graves et al. 2016 use copy, repeat-copy and associative recall to
 * probe memory; pytorch-dnc adds adding and argmax). A task draws a batch from a seeded generator, scores the
 * model's raw output with a differentiable loss, and reports a metric a person can read (bit error rate, error in
 * the predicted sum, …).
 *
 * Every batch is laid out the same way so that the trainer and the dashboard need no per-task code:
 * `input` is `[batch, time, inputSize]` and `target` is `[batch, time, outputSize]`, both row-major
 * Float32Arrays; scalar answers (adding, argmax) sit at the last timestep in channel 0 of `target`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TaskName } from '../training/types';
import type { Rng } from '../training/rng';

/** One batch of task data, host side. */
export interface TaskBatch {
  readonly batchSize: number;
  /** T: timesteps of the whole episode (input phase + answer phase). */
  readonly timesteps: number;
  readonly inputSize: number;
  readonly outputSize: number;
  /** The length drawn for this batch (items in the sequence), shared by all batch elements. */
  readonly length: number;
  /** `[batch, time, inputSize]`. */
  readonly input: Float32Array;
  /** `[batch, time, outputSize]`. */
  readonly target: Float32Array;
}

/** Sizes a task is built for. */
export interface TaskConfig {
  /** Channels of one input step, markers included (pytorch-dnc's `input_size`). */
  readonly inputSize: number;
  /** Repeat-copy only: how many times the sequence is written back. */
  readonly repeats?: number;
}

export interface Task {
  readonly name: TaskName;
  /** Short metric label, e.g. `bit error rate`; lower is better for every task here. */
  readonly metricName: string;
  readonly inputSize: number;
  readonly outputSize: number;
  /** Smallest sequence length a batch may have (pytorch-dnc draws copy from 1, adding and argmax from 2). */
  readonly minLength: number;
  /** Longest length the generator can serve, when bounded (associative recall needs distinct items). */
  readonly maxLength?: number;
  /** Longest test-phase length as a multiple of the training bound (pytorch-dnc: 10× copy/adding, 2× argmax). */
  readonly testLengthFactor: number;
  /** Draw a batch of `batchSize` episodes of `length` items. Throws when the length cannot be served. */
  generate(rng: Rng, batchSize: number, length: number): TaskBatch;
  /**
   * Differentiable loss of the raw model output `output [batch, time, outputSize]` against
   * `target [batch, time, outputSize]` (the batch's target as a tensor). Returns a scalar.
   */
  loss(output: tf.Tensor3D, target: tf.Tensor3D, batch: TaskBatch): tf.Scalar;
  /** The task metric for the batch as a scalar tensor (read out by the trainer together with the loss). */
  metric(output: tf.Tensor3D, target: tf.Tensor3D, batch: TaskBatch): tf.Scalar;
  /** The output nonlinearity that turns raw outputs into what the task compares (sigmoid for bit tasks). */
  activate(output: tf.Tensor3D): tf.Tensor3D;
}
