/**
 * Row selection by index inside a batch, `out[b, v] = source[b, index[b, v]]` (an index of −1 gives a zero row),
 * with the gradient that scatter-adds back into the source rows. The sparse memories pick their visible rows out of
 * the journal this way: a one-hot matrix product does the same in O(V·S·W) multiply-adds per step, and tfjs's
 * `gather` has no gradient on wasm (no UnsortedSegmentSum). Both directions are plain loops on the host, O(V·W)
 * plus one read of the source.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape } from './assert-shape';
import { customGradient } from './custom-gradient';
import { transientValues } from './device-backend';

function checkedIndices(indices: tf.Tensor2D, sourceRows: number): Int32Array {
  const values = indices.dataSync();
  if (!(values instanceof Int32Array))
    throw new Error(`gatherRows: argument 'indices' must be int32, got ${indices.dtype}`);
  for (const index of values) {
    if (!Number.isInteger(index) || index < -1 || index >= sourceRows)
      throw new Error(`gatherRows: index ${index} outside [−1, ${sourceRows}) in argument 'indices'`);
  }
  return values;
}

const gatherOp = customGradient<tf.Tensor3D>(([source, indices]) => {
  const [batch, sourceRows, width] = source.shape;
  const picked = indices.size / batch;
  const positions = checkedIndices(indices as tf.Tensor2D, sourceRows);
  const values = source.dataSync();
  const out = new Float32Array(batch * picked * width);
  for (let b = 0; b < batch; b++) {
    for (let v = 0; v < picked; v++) {
      const row = positions[b * picked + v];
      if (row < 0) continue;
      const from = (b * sourceRows + row) * width;
      out.set(values.subarray(from, from + width), (b * picked + v) * width);
    }
  }
  return {
    value: tf.tensor3d(out, [batch, picked, width]),
    gradFunc: (dy) => {
      const upstream = dy.dataSync();
      const gradient = new Float32Array(batch * sourceRows * width);
      for (let b = 0; b < batch; b++) {
        for (let v = 0; v < picked; v++) {
          const row = positions[b * picked + v];
          if (row < 0) continue;
          const to = (b * sourceRows + row) * width;
          const from = (b * picked + v) * width;
          for (let k = 0; k < width; k++) gradient[to + k] += upstream[from + k];
        }
      }
      return [tf.tensor3d(gradient, [batch, sourceRows, width]), tf.zeros(indices.shape)];
    },
  };
});

/**
 * Rows of `source` picked per batch element.
 *
 * @param source `[batch, sourceRows, width]` float32
 * @param indices `[batch, picked]` int32 in [−1, sourceRows); −1 picks a zero row
 * @returns `[batch, picked, width]`; the gradient w.r.t. `source` adds each picked row's gradient to its source row
 */
export function gatherRows(source: tf.Tensor3D, indices: tf.Tensor2D): tf.Tensor3D {
  assertShape('gatherRows', 'source', source, [null, null, null]);
  assertShape('gatherRows', 'indices', indices, [source.shape[0], null]);
  return gatherOp(source, indices);
}

const prependOp = customGradient<tf.Tensor3D>(([rows, source, indices]) => {
  const [batch, rowCount, width] = rows.shape;
  const [, sourceRows] = (source as tf.Tensor3D).shape;
  const added = indices.size / batch;
  const positions = checkedIndices(indices as tf.Tensor2D, sourceRows);
  const sourceValues = source.dataSync();
  // Read before any tensor is created below: a transient view on wasm.
  const rowValues = transientValues(rows);
  const out = new Float32Array(batch * rowCount * width);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < added; i++) {
      const row = positions[b * added + i];
      if (row < 0) continue;
      const from = (b * sourceRows + row) * width;
      out.set(sourceValues.subarray(from, from + width), (b * rowCount + i) * width);
    }
    const kept = rowValues.subarray(b * rowCount * width, (b * rowCount + rowCount - added) * width);
    out.set(kept, (b * rowCount + added) * width);
  }
  return {
    value: tf.tensor3d(out, [batch, rowCount, width]),
    gradFunc: (dy) => {
      const upstream = transientValues(dy);
      const rowGradient = new Float32Array(batch * rowCount * width);
      const sourceGradient = new Float32Array(batch * sourceRows * width);
      for (let b = 0; b < batch; b++) {
        const shifted = upstream.subarray((b * rowCount + added) * width, (b + 1) * rowCount * width);
        rowGradient.set(shifted, b * rowCount * width);
        for (let i = 0; i < added; i++) {
          const row = positions[b * added + i];
          if (row < 0) continue;
          const to = (b * sourceRows + row) * width;
          const from = (b * rowCount + i) * width;
          for (let k = 0; k < width; k++) sourceGradient[to + k] += upstream[from + k];
        }
      }
      return [
        tf.tensor3d(rowGradient, [batch, rowCount, width]),
        tf.tensor3d(sourceGradient, [batch, sourceRows, width]),
        tf.zeros(indices.shape),
      ];
    },
  };
});

/**
 * `[batch, rowCount, width]`: the rows of `source` picked per batch element by `indices` (as `gatherRows`), then
 * `rows`' first rowCount − picked rows; its last `picked` rows drop out. One host copy instead of a slice and a
 * concatenation (and their pad and split in the backward pass).
 *
 * @param rows `[batch, rowCount, width]`
 * @param source `[batch, sourceRows, width]`
 * @param indices `[batch, picked]` int32 in [−1, sourceRows), picked ≤ rowCount; −1 puts a zero row
 */
export function prependRows(rows: tf.Tensor3D, source: tf.Tensor3D, indices: tf.Tensor2D): tf.Tensor3D {
  assertShape('prependRows', 'rows', rows, [null, null, null]);
  const [batch, rowCount, width] = rows.shape;
  assertShape('prependRows', 'source', source, [batch, null, width]);
  assertShape('prependRows', 'indices', indices, [batch, null]);
  if (indices.shape[1] > rowCount)
    throw new Error(`prependRows: argument 'indices' picks ${indices.shape[1]} rows, more than rows' ${rowCount}`);
  return prependOp(rows, source, indices);
}
