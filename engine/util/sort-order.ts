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
    const flatOrder = flatRowIndices(order);
    const flatInverse = flatRowIndices(inverse);
    // Tensors captured by the closure may be disposed before backprop; saved ones are kept.
    save([flatInverse]);
    return {
      value: gatherRows(values, flatOrder, batch, length),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        gatherRows(dy, saved[0], batch, length),
        tf.zeros([batch, length]),
        tf.zeros([batch, length]),
      ],
    };
  });
  return gatherWithInverseGradient(values, order, inverse);
}

// Row-wise indices `[batch, length]` as indices into the flattened `[batch · length]` tensor. A flat gather
// replaces `tf.gather(x, indices, 1, 1)` because the wasm backend's gather with batchDims = 1 reads wrong rows
// beyond the first (tfjs 4.22; checked in `dense-memory-wasm.test.ts`).
function flatRowIndices(indices: tf.Tensor2D): tf.Tensor1D {
  const [batch, length] = indices.shape;
  const offsets = new Int32Array(batch);
  for (let row = 0; row < batch; row++) offsets[row] = row * length;
  return tf.reshape(tf.add(indices, tf.tensor2d(offsets, [batch, 1], 'int32')), [batch * length]);
}

// `values` `[batch, length]` gathered at flat indices from `flatRowIndices`, back in `[batch, length]`.
function gatherRows(values: tf.Tensor, flatIndices: tf.Tensor, batch: number, length: number): tf.Tensor2D {
  return tf.reshape(tf.gather(tf.reshape(values, [batch * length]), flatIndices), [batch, length]);
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
