/**
 * Sorting and permutation helpers for the DNC's dynamic memory allocation (Graves et al. 2016, Methods
 * "Dynamic memory allocation"): the free list φ sorts cells by usage, the allocation weighting is built in that
 * order with an exclusive cumulative product, and the result is scattered back to cell order.
 *
 * The sort order itself is a discrete choice with no gradient, so it is computed behind a zero-gradient op; the
 * gradient flows through the sorted usage *values* (as in DeepMind's reference). TensorFlow.js has no gradient for
 * TopK or Cumprod, and the gradient of `tf.gather` needs UnsortedSegmentSum, which the wasm backend lacks — hence
 * a permutation gather whose gradient is a gather by the inverse permutation, and a cumulative product built from
 * log, cumsum and exp. All of these work on the cpu and wasm backends.
 */
import * as tf from '@tensorflow/tfjs';
import { assertDtype, assertShape } from './assert-shape';
import { customGradient } from './custom-gradient';

/**
 * Ascending sort order of each row, ties to the lowest index (a stable sort), with zero gradient.
 *
 * Uses `tf.topk` on the negated values: its cpu and wasm kernels order equal values by ascending index
 * (checked by `sort-order.test.ts` on both backends), which is DeepMind's tie rule and gives reproducible
 * allocations from an empty memory.
 *
 * @param values `[batch, length]` float32
 * @returns `[batch, length]` int32; `order[b, j]` is the index of the j-th smallest value of row b
 */
export function ascendingOrder(values: tf.Tensor2D): tf.Tensor2D {
  assertShape('ascendingOrder', 'values', values, [null, null]);
  const [batch, length] = values.shape;
  const sortWithoutGradient = customGradient(() => ({
    value: tf.topk(tf.neg(values), length).indices,
    // The order is a discrete choice: no gradient reaches the values through it.
    gradFunc: () => [tf.zeros([batch, length])],
  }));
  return sortWithoutGradient(values);
}

/**
 * Inverse of each row's permutation, with zero gradient: `inverse[b, order[b, j]] = j`.
 *
 * @param order `[batch, length]` int32, each row a permutation of 0..length−1
 * @returns `[batch, length]` int32
 */
export function inversePermutation(order: tf.Tensor2D): tf.Tensor2D {
  assertShape('inversePermutation', 'order', order, [null, null]);
  assertDtype('inversePermutation', 'order', order, 'int32');
  const [batch, length] = order.shape;
  const invertWithoutGradient = customGradient(() => ({
    // Sorting a permutation ascending yields, at position k, the index holding k: the inverse. No ties occur.
    value: tf.topk(tf.neg(tf.cast(order, 'float32')), length).indices,
    gradFunc: () => [tf.zeros([batch, length])],
  }));
  return invertWithoutGradient(order);
}

/**
 * Reorder each row by a permutation: `result[b, j] = values[b, order[b, j]]`, differentiable on every backend.
 * The gradient w.r.t. `values` is the upstream gradient gathered by the inverse permutation, which is exact
 * because a permutation is a bijection (no index is repeated, so nothing needs summing).
 *
 * @param values `[batch, length]` float32
 * @param order `[batch, length]` int32 permutation per row
 * @param inverse `[batch, length]` int32, `inversePermutation(order)`
 * @returns `[batch, length]` float32
 */
export function permutationGather(values: tf.Tensor2D, order: tf.Tensor2D, inverse: tf.Tensor2D): tf.Tensor2D {
  assertShape('permutationGather', 'values', values, [null, null]);
  const [batch, length] = values.shape;
  assertShape('permutationGather', 'order', order, [batch, length]);
  assertShape('permutationGather', 'inverse', inverse, [batch, length]);
  assertDtype('permutationGather', 'order', order, 'int32');
  assertDtype('permutationGather', 'inverse', inverse, 'int32');
  const gatherWithInverseGradient = customGradient((_inputs, save) => {
    // Tensors captured by the closure may be disposed before backprop; saved ones are kept.
    save([inverse]);
    return {
      value: tf.gather(values, order, 1, 1),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.gather(dy, saved[0], 1, 1),
        tf.zeros([batch, length]),
        tf.zeros([batch, length]),
      ],
    };
  });
  return gatherWithInverseGradient(values, order, inverse);
}

/**
 * Exclusive cumulative product along the last axis, `result[b, j] = Π_{i<j} values[b, i]` (1 at j = 0), with a
 * gradient on every backend: computed as exp(cumsum(log values, exclusive)). Every value must be strictly
 * positive — the allocation's clamped usage is ≥ δ — so the logarithm stays finite.
 *
 * @param values `[batch, length]`, all entries in (0, ∞)
 * @returns `[batch, length]`
 */
export function exclusiveCumprod(values: tf.Tensor2D): tf.Tensor2D {
  assertShape('exclusiveCumprod', 'values', values, [null, null]);
  return tf.exp(tf.cumsum(tf.log(values), 1, true));
}
