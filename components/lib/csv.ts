/**
 * CSV encoders for exports: metric history (one row per iteration) and tensors in long format (one row per
 * element, one column per named axis), which every spreadsheet and `pandas.read_csv` reads without reshaping.
 */
import type { MetricPoint } from '../../server/protocol';

function cell(value: string | number | undefined | null): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return String(value); // NaN and ±Infinity spelled out
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function toCsv(
  header: readonly string[],
  rows: Iterable<ReadonlyArray<string | number | undefined | null>>,
): string {
  const lines = [header.map(cell).join(',')];
  for (const row of rows) {
    if (row.length !== header.length) {
      throw new Error(`toCsv: a row has ${row.length} cells, the header has ${header.length}`);
    }
    lines.push(row.map(cell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Metric history as CSV; `metricName` titles the task-metric column (e.g. `bit_error`). */
export function metricsCsv(points: readonly MetricPoint[], metricName = 'metric'): string {
  return toCsv(
    ['iteration', 'loss', metricName, 'it_per_sec', 'wall_time_ms', 'sequence_length'],
    points.map((p) => [p.iteration, p.loss, p.metric, p.itPerSec, p.t, p.sequenceLength]),
  );
}

/** A row-major tensor in long format: columns are the axis labels (deduplicated) then `value`. */
export function tensorCsv(data: Float32Array, shape: readonly number[], axes: readonly string[]): string {
  if (shape.length !== axes.length) {
    throw new Error(`tensorCsv: ${axes.length} axis labels for shape [${shape.join(', ')}]`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length)
    throw new Error(`tensorCsv: data has ${data.length} values, shape [${shape.join(', ')}] needs ${size}`);
  const used = new Map<string, number>();
  const header = axes.map((a) => {
    const n = used.get(a) ?? 0;
    used.set(a, n + 1);
    return n === 0 ? a : `${a}_${n + 1}`;
  });
  const index = new Array<number>(shape.length).fill(0);
  const rows: number[][] = [];
  for (let i = 0; i < size; i++) {
    rows.push([...index, data[i]]);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return toCsv([...header, 'value'], rows);
}
