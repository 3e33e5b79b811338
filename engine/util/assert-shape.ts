/**
 * Shape checks at module boundaries. The DNC's mechanisms (Graves et al. 2016, Methods "Memory addressing")
 * pass many same-rank tensors around — [batch, memorySize] usage next to [batch, readHeads, memorySize] read
 * weights — so a wrong axis order would compute silently. Every exported engine function checks its tensor
 * arguments here, and the error says which function, which argument, what was expected and what arrived.
 */
import type * as tf from '@tensorflow/tfjs';

/** One expected dimension: an exact size, or `null` for "any size". */
export type ExpectedDimension = number | null;

function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/**
 * Throw unless `tensor` has exactly the expected rank and sizes.
 *
 * @param fn the function doing the check, e.g. `'updateUsage'`
 * @param arg the argument's name, e.g. `'prevReadWeights'`
 * @param tensor the tensor to check
 * @param expected one entry per dimension; `null` accepts any size
 * @example assertShape('contentWeights', 'keys', keys, [batch, null, cellSize]);
 */
export function assertShape(fn: string, arg: string, tensor: tf.Tensor, expected: readonly ExpectedDimension[]): void {
  const actual = tensor.shape;
  const ok =
    actual.length === expected.length && expected.every((size, axis) => size === null || size === actual[axis]);
  if (!ok) {
    throw new Error(`${fn}: argument '${arg}' must have shape ${formatShape(expected)}, got ${formatShape(actual)}`);
  }
}

/** Throw unless `tensor` has the given dtype (index tensors must be int32 for gathers). */
export function assertDtype(fn: string, arg: string, tensor: tf.Tensor, dtype: tf.DataType): void {
  if (tensor.dtype !== dtype) {
    throw new Error(`${fn}: argument '${arg}' must have dtype ${dtype}, got ${tensor.dtype}`);
  }
}

/** Throw unless `value` is a positive integer; for configuration sizes (N, W, R, batch). */
export function assertPositiveInteger(fn: string, arg: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${fn}: argument '${arg}' must be a positive integer, got ${String(value)}`);
  }
}
