/**
 * A typed adapter over `tf.customGrad`, whose callback receives its tensors and the save function in one untyped
 * rest array. Engine ops with hand-written gradients (the allocation's permutation gather and sort order, the
 * cosine similarity's norm) declare their inputs as an array instead.
 */
import * as tf from '@tensorflow/tfjs';

/** The forward result of a custom-gradient op: its value and the gradient w.r.t. each input, in input order. */
export interface CustomGradientResult<T extends tf.Tensor> {
  readonly value: T;
  readonly gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * Build a differentiable op from a forward function and its gradient. Tensors the gradient needs must be passed
 * through `save` (tensors captured by the closure may be disposed before backprop). Gradients must be float32 and
 * shaped like their inputs, also for int32 index inputs (return zeros there). The forward may use the caller's
 * own (typed) references to the input tensors: they are the same objects as `inputs`.
 */
export function customGradient<T extends tf.Tensor>(
  forward: (inputs: readonly tf.Tensor[], save: tf.GradSaveFunc) => CustomGradientResult<T>,
): (...inputs: tf.Tensor[]) => T {
  const op = tf.customGrad<T>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1];
    if (typeof save !== 'function') {
      throw new Error('customGradient: tf.customGrad did not pass a save function');
    }
    const inputs = args.slice(0, -1).filter((arg): arg is tf.Tensor => arg instanceof tf.Tensor);
    const result = forward(inputs, save);
    return { value: result.value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => result.gradFunc(dy, saved) };
  });
  return (...inputs: tf.Tensor[]) => op(...inputs);
}
