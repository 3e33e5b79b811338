/**
 * `/update` of a heatmap window: its values replaced, or the update's rows or columns appended or prepended
 * (Visdom's `updateDir`), checked against the window's shape and the largest heatmap.
 */
import { type heatmapValues, VisdomRequestError } from './body';
import type { VisdomTensor } from './sink';

/**
 * The window's new shape and row-major values after `next` is applied in `direction` (`replace`, `appendRow`,
 * `prependRow`, `appendColumn` or `prependColumn`). Throws VisdomRequestError on a mismatched or unknown direction,
 * or a result over 2048 × 2048.
 */
export function resizeHeatmap(
  old: VisdomTensor,
  next: ReturnType<typeof heatmapValues>,
  direction: unknown,
): { shape: [number, number]; data: Float32Array } {
  const [rows, cols] = old.shape;
  let shape: [number, number];
  let data: Float32Array;
  if (direction === 'replace') {
    shape = [next.rows, next.cols];
    data = next.data;
  } else if (direction === 'appendRow' || direction === 'prependRow') {
    if (next.cols !== cols)
      throw new VisdomRequestError(`${direction}: the window has ${cols} columns, the update has ${next.cols}`);
    shape = [rows + next.rows, cols];
    data = new Float32Array(shape[0] * cols);
    data.set(direction === 'appendRow' ? old.data : next.data, 0);
    data.set(direction === 'appendRow' ? next.data : old.data, (direction === 'appendRow' ? rows : next.rows) * cols);
  } else if (direction === 'appendColumn' || direction === 'prependColumn') {
    if (next.rows !== rows)
      throw new VisdomRequestError(`${direction}: the window has ${rows} rows, the update has ${next.rows}`);
    shape = [rows, cols + next.cols];
    data = new Float32Array(rows * shape[1]);
    const [first, second] = direction === 'appendColumn' ? [old, next] : [next, old];
    const firstCols = direction === 'appendColumn' ? cols : next.cols;
    const secondCols = shape[1] - firstCols;
    for (let r = 0; r < rows; r++) {
      data.set(first.data.subarray(r * firstCols, (r + 1) * firstCols), r * shape[1]);
      data.set(second.data.subarray(r * secondCols, (r + 1) * secondCols), r * shape[1] + firstCols);
    }
  } else {
    throw new VisdomRequestError(
      `updateDir must be replace, appendRow, prependRow, appendColumn or prependColumn, got ${String(direction)}`,
    );
  }
  if (shape[0] * shape[1] > 2048 * 2048) throw new VisdomRequestError('the heatmap would exceed 2048 × 2048', 413);
  return { shape, data };
}
