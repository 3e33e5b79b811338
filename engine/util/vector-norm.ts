/**
 * Euclidean norms for cosine similarity in the DNC's content-based addressing (Graves et al. 2016, Methods
 * "Content-based addressing"). TensorFlow.js builds ‖x‖ from sqrt(Σx²), whose gradient is ∞·0 = NaN at x = 0 —
 * exactly the all-zero memory a DNC starts from. This norm's own gradient is x/‖x‖, defined as 0 at x = 0 like
 * PyTorch's.
 */
import * as tf from '@tensorflow/tfjs';
import { NORM_GRADIENT_FLOOR } from './constants';
import { customGradient } from './custom-gradient';

/**
 * Euclidean norm over the last axis with a gradient that is 0 (not NaN) for zero vectors.
 *
 * @param values `[..., width]`
 * @returns `[...]`, the norm of each vector, ≥ 0
 */
export function safeNorm(values: tf.Tensor): tf.Tensor {
  const lastAxis = values.rank - 1;
  const normWithSafeGradient = customGradient(([input], save) => {
    const norm = tf.sqrt(tf.sum(tf.square(input), lastAxis));
    save([input, norm]);
    return {
      value: norm,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedNorm] = saved;
        // x/max(‖x‖, floor): exact for any non-zero vector, 0 for a zero vector (whose entries are all 0).
        const scale = tf.div(dy, tf.maximum(savedNorm, NORM_GRADIENT_FLOOR));
        return [tf.mul(savedInput, tf.expandDims(scale, lastAxis))];
      },
    };
  });
  return normWithSafeGradient(values);
}
