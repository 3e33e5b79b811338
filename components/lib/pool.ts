/**
 * Max-magnitude pooling of a 2-D view into at most `maxRows × maxCols` cells, so tensors larger than a canvas can
 * be (Chromium refuses canvases over 32,767 px a side, and 100k memory cells would not be legible anyway) still
 * draw. Each output cell keeps the input value of largest magnitude in its bin, so one sharp weight stays visible.
 */

/** Largest side a heatmap canvas gets; beyond it, rows/columns are pooled. */
export const MAX_CANVAS_SIDE = 4096;

export interface PooledGrid {
  rows: number;
  cols: number;
  /** Input rows / columns per output cell (1 when not pooled). */
  rowBin: number;
  colBin: number;
}

export function pooledGrid(rows: number, cols: number, maxSide = MAX_CANVAS_SIDE): PooledGrid {
  if (!(rows >= 1 && cols >= 1)) throw new Error(`pooledGrid: view has ${rows}×${cols} cells`);
  const rowBin = Math.ceil(rows / maxSide);
  const colBin = Math.ceil(cols / maxSide);
  return { rows: Math.ceil(rows / rowBin), cols: Math.ceil(cols / colBin), rowBin, colBin };
}

/** Pool row-major `values` (`rows × cols`) onto `grid`; returns `values` itself when no pooling is needed. */
export function poolValues(
  values: Float32Array,
  rows: number,
  cols: number,
  grid: PooledGrid,
  out?: Float32Array,
): Float32Array {
  if (values.length !== rows * cols) throw new Error(`poolValues: ${values.length} values for ${rows}×${cols}`);
  if (grid.rowBin === 1 && grid.colBin === 1) return values;
  const size = grid.rows * grid.cols;
  const result = out && out.length === size ? out : new Float32Array(size);
  result.fill(0);
  const seen = new Uint8Array(size);
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / grid.rowBin) * grid.cols;
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c];
      const k = base + Math.floor(c / grid.colBin);
      // NaN wins its bin: a broken value must not be pooled away.
      if (!seen[k] || Number.isNaN(v) || Math.abs(v) > Math.abs(result[k])) {
        if (seen[k] && Number.isNaN(result[k])) continue;
        result[k] = v;
        seen[k] = 1;
      }
    }
  }
  return result;
}
