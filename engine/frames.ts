/**
 * Debug frames: self-describing snapshots of what a model's memory did during one forward call, for batch
 * element 0. Every entry names itself, gives its shape and axis labels, and carries a Float32Array, so the
 * server and the dashboard can show any frame kind — dense or sparse — without knowing it in advance.
 *
 * Per-step tensors put the time axis first: `memory` is `[time, cell, word]`, `readWeights` is
 * `[time, head, cell]`. Models with several memory layers emit one entry per layer (`layer` 0, 1, …).
 */

/** One tensor of a debug frame. `data` is row-major and has exactly `product(shape)` elements. */
export interface FrameTensor {
  /** Stable name, camelCase: `memory`, `linkMatrix`, `readWeights`, `input`, … */
  readonly name: string;
  /** Memory layer this tensor belongs to (0 for single-layer models and for sequence tensors). */
  readonly layer: number;
  readonly shape: readonly number[];
  /** One label per axis, e.g. `['time', 'cell', 'word']`. */
  readonly axes: readonly string[];
  readonly data: Float32Array;
  /** Optional value range the tensor lives in, e.g. `[0, 1]` for weightings; lets viewers lock colour scales. */
  readonly range?: readonly [number, number];
  /** Optional one-line human description. */
  readonly description?: string;
}

/** Everything captured for batch element 0 in one forward call. */
export interface DebugFrame {
  /** Number of timesteps T covered by the per-step tensors. */
  readonly timesteps: number;
  readonly tensors: readonly FrameTensor[];
}

/** Build a frame tensor, checking that data length matches the shape and that axes label every dimension. */
export function frameTensor(
  name: string,
  shape: readonly number[],
  axes: readonly string[],
  data: Float32Array,
  extra: { layer?: number; range?: readonly [number, number]; description?: string } = {},
): FrameTensor {
  if (shape.length !== axes.length) {
    throw new Error(
      `frameTensor(${name}): ${axes.length} axis labels [${axes.join(', ')}] for shape [${shape.join(', ')}]`,
    );
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new Error(
      `frameTensor(${name}): data has ${data.length} elements, shape [${shape.join(', ')}] needs ${size}`,
    );
  }
  return {
    name,
    layer: extra.layer ?? 0,
    shape: [...shape],
    axes: [...axes],
    data,
    range: extra.range,
    description: extra.description,
  };
}

/** Find a tensor by name (and layer) in a frame. */
export function findTensor(frame: DebugFrame, name: string, layer = 0): FrameTensor | undefined {
  return frame.tensors.find((t) => t.name === name && t.layer === layer);
}
