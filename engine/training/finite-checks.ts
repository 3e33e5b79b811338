/**
 * The NaN/Inf guard of a training iteration: loss, metric, gradient norm, every gradient and the final memory
 * state (the DNC's M, L, p, w^r, w^w, u) checked with ONE device-to-host readout, before the optimizer touches
 * the weights. A failure names the tensor and the iteration (and, for the loss, the first bad timestep).
 *
 * The gradients are checked through their norm: a NaN or infinite entry anywhere makes the sum of squares, and so
 * the norm, NaN or infinite, so the per-parameter scan (two kernels per parameter) runs only when the norm is not
 * finite, to name the parameter. A norm that overflows from finite gradients names nothing and passes, as before
 * (clipping then scales the step to zero, as PyTorch's `clip_grad_norm_` does).
 */
import * as tf from '@tensorflow/tfjs';
import { NonFiniteError } from './types';

/** The tensors one iteration checks; gradients keyed by parameter name, state tensors by a readable name. */
export interface IterationTensors {
  readonly loss: tf.Scalar;
  readonly metric: tf.Scalar;
  /** Global L2 norm of `gradients` before clipping (it must be computed from them: see the module note). */
  readonly norm: tf.Scalar;
  readonly gradients: Readonly<Record<string, tf.Tensor>>;
  readonly state: readonly { readonly name: string; readonly tensor: tf.Tensor }[];
  /** Raw model output `[batch, time, outputSize]`, scanned per timestep only when the loss is bad. */
  readonly output: tf.Tensor3D;
}

/**
 * Read loss, metric and norm, and verify that every checked tensor is finite. Throws NonFiniteError naming
 * `loss`, `gradient of <parameter>` or `state <name>`.
 */
export async function readChecks(
  iteration: number,
  tensors: IterationTensors,
): Promise<{ loss: number; metric: number; norm: number }> {
  const checks = tf.tidy(() =>
    tf.stack([tensors.loss, tensors.metric, tensors.norm, ...tensors.state.map(({ tensor }) => finiteSum(tensor))]),
  );
  const values = await checks.data();
  checks.dispose();
  const loss = values[0];
  if (!Number.isFinite(loss)) {
    throw new NonFiniteError('loss', iteration, await firstNonFiniteTimestep(tensors.output), `loss is ${loss}`);
  }
  if (!Number.isFinite(values[2])) {
    const parameter = await firstNonFiniteGradient(tensors.gradients);
    if (parameter !== null) {
      throw new NonFiniteError(`gradient of ${parameter}`, iteration, null, 'the gradient has NaN or infinite entries');
    }
  }
  tensors.state.forEach(({ name }, i) => {
    if (!Number.isFinite(values[3 + i])) {
      throw new NonFiniteError(`state ${name}`, iteration, null, 'the final memory state has NaN or infinite entries');
    }
  });
  return { loss, metric: values[1], norm: values[2] };
}

/** 0·x sums to 0 exactly when every element of x is finite (0·NaN and 0·Inf are NaN). */
function finiteSum(tensor: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(tensor, 0));
}

/** The first parameter (in key order) whose gradient has a NaN or infinite entry, or null. Error path only. */
async function firstNonFiniteGradient(gradients: Readonly<Record<string, tf.Tensor>>): Promise<string | null> {
  const names = Object.keys(gradients);
  if (names.length === 0) return null;
  const sums = tf.tidy(() => tf.stack(names.map((name) => finiteSum(gradients[name]))));
  const values = await sums.data();
  sums.dispose();
  const index = values.findIndex((v) => !Number.isFinite(v));
  return index < 0 ? null : names[index];
}

/** First timestep whose output has a NaN or infinite entry (any batch element), or null. Error path only. */
export async function firstNonFiniteTimestep(output: tf.Tensor3D): Promise<number | null> {
  const perStep = tf.tidy(() => tf.sum(tf.mul(output, 0), [0, 2]));
  const values = await perStep.data();
  perStep.dispose();
  const index = values.findIndex((v) => !Number.isFinite(v));
  return index < 0 ? null : index;
}
