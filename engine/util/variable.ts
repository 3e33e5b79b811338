/**
 * A trainable `tf.Variable` holding `values`. `tf.variable(tensor)` shares the tensor's data and leaves the tensor
 * itself alive; made inside `tf.tidy`, that initial tensor is freed and the variable alone owns the data, so a
 * model's `dispose()` frees everything its constructor made.
 */
import * as tf from '@tensorflow/tfjs';

export function trainableVariable(values: Float32Array, shape: readonly number[], name?: string): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, [...shape], 'float32'), true, name));
}
