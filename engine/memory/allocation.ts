/**
 * Dynamic memory allocation of the DNC (Graves et al. 2016, Methods "Dynamic memory allocation", the
 * allocation weighting a_t): sort cells by usage into a free list φ; the j-th least-used cell gets
 * a[φ_j] = (1 − u[φ_j]) · Π_{i<j} u[φ_i], so the least-used cell receives almost all of the weight.
 *
 * As in pytorch-dnc the usage is first clamped to û = δ + (1 − δ)·u, which keeps every product factor positive.
 * Ties in the sort go to the lowest cell index (stable; DeepMind's rule — pytorch-dnc's `torch.topk` breaks them
 * arbitrarily), or follow an injected order when replaying a recorded run. No gradient flows through the order;
 * it flows through the sorted usage values.
 */
import * as tf from '@tensorflow/tfjs';
import { assertDtype, assertShape } from '../util/assert-shape';
import { ALLOCATION_DELTA } from '../util/constants';
import { ascendingOrder, exclusiveCumprod, inversePermutation, permutationGather } from '../util/sort-order';

/** The allocation weighting and what led to it, for debugging and parity checks. */
export interface AllocationResult {
  /** a_t: `[batch, memorySize]`, in [0, 1], sum ≤ 1. */
  readonly allocationWeights: tf.Tensor2D;
  /** û = δ + (1 − δ)·u: `[batch, memorySize]`, in [δ, 1]. */
  readonly clampedUsage: tf.Tensor2D;
  /** φ: `[batch, memorySize]` int32; φ[b, j] is the j-th least-used cell. */
  readonly sortOrder: tf.Tensor2D;
}

/**
 * Allocation weighting from the current usage.
 *
 * @param usage `[batch, memorySize]`, u_t in [0, 1] (after the write and retention updates)
 * @param injectedSortOrder optional `[batch, memorySize]` int32 permutation per row to use instead of sorting
 *   (to replay a run whose ties were broken differently)
 */
export function allocationWeights(usage: tf.Tensor2D, injectedSortOrder?: tf.Tensor2D): AllocationResult {
  assertShape('allocationWeights', 'usage', usage, [null, null]);
  const clampedUsage: tf.Tensor2D = tf.add(ALLOCATION_DELTA, tf.mul(1 - ALLOCATION_DELTA, usage));
  let sortOrder: tf.Tensor2D;
  if (injectedSortOrder === undefined) {
    sortOrder = ascendingOrder(clampedUsage);
  } else {
    assertShape('allocationWeights', 'injectedSortOrder', injectedSortOrder, usage.shape);
    assertDtype('allocationWeights', 'injectedSortOrder', injectedSortOrder, 'int32');
    sortOrder = injectedSortOrder;
  }
  const cellRanks = inversePermutation(sortOrder);
  const sortedUsage = permutationGather(clampedUsage, sortOrder, cellRanks);
  const sortedAllocation: tf.Tensor2D = tf.mul(tf.sub(1, sortedUsage), exclusiveCumprod(sortedUsage));
  // Back to cell order: the cell at rank r takes the r-th sorted entry.
  const allocation = permutationGather(sortedAllocation, cellRanks, sortOrder);
  return { allocationWeights: allocation, clampedUsage, sortOrder };
}
