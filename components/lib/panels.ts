/**
 * Frame → panel layout: turns whatever tensors a debug frame carries into heatmap panels, from names, shapes and
 * axis labels alone, so new tensors (the sparse models' indices, a second memory layer) appear without UI code.
 *
 * Rules, for a tensor whose first axis is `time` (per-step tensors):
 *   - `[time, A, B]` where A indexes a few heads/modes (A ≤ 8, A < B, axis not `cell`) → one over-time view
 *     `[time × B]` per index of A (read weights per head, read modes per head);
 *   - other `[time, A, B]` (memory `[time, cell, word]`, link matrix `[time, cell, cell]`) → one `[A × B]` view at
 *     the chosen timestep;
 *   - `[time, A]` → one over-time view `[time × A]` (usage, gates); `[time]` → `[time × 1]`;
 *   - rank ≥ 4 → the slice at the timestep, then one view per leading index over the last two axes.
 * Tensors without a time axis are shown as they are (rank 1 as a row, rank ≥ 3 split over leading indices).
 */
import type { DecodedTensor } from '../../server/protocol/frames';

export type PanelGroup = 'sequence' | 'memory' | 'overTime' | 'strip';

/** How to cut one 2-D view out of the tensor's data. */
export type ViewCut =
  /** Rows × cols contiguous block at `offset + timestep * timeStride` (or at `offset` when timeStride is 0). */
  | { kind: 'block'; offset: number; timeStride: number }
  /** Rows are time: row t is `cols` contiguous values at `offset + t * rowStride`. */
  | { kind: 'rows'; offset: number; rowStride: number };

export interface ViewSpec {
  /** Sub-label inside the panel ('head 0'), empty when the panel has one view. */
  label: string;
  rows: number;
  cols: number;
  rowAxis: string;
  colAxis: string;
  cut: ViewCut;
}

export interface PanelSpec {
  /** Unique key: name plus layer suffix. */
  key: string;
  /** `heatmap-<name>` for layer 0, `heatmap-<name>-l<layer>` otherwise. */
  testId: string;
  name: string;
  layer: number;
  title: string;
  group: PanelGroup;
  /** Whether the views depend on the chosen timestep (slices) rather than showing all of time. */
  perTimestep: boolean;
  range?: [number, number];
  description?: string;
  shape: number[];
  axes: string[];
  views: ViewSpec[];
}

export const SEQUENCE_TENSORS = ['input', 'target', 'output'] as const;
const MAX_HEAD_VIEWS = 8;
const CELL_AXES = new Set(['cell', 'cells', 'slot', 'row', 'location']);

function product(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

function humanTitle(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Views of a tensor that has no time axis, or of the trailing axes at one timestep (`timeStride` > 0). */
function staticViews(shape: readonly number[], axes: readonly string[], timeStride: number): ViewSpec[] {
  if (shape.length === 0)
    return [{ label: '', rows: 1, cols: 1, rowAxis: '', colAxis: '', cut: { kind: 'block', offset: 0, timeStride } }];
  if (shape.length === 1) {
    return [
      {
        label: '',
        rows: 1,
        cols: shape[0],
        rowAxis: '',
        colAxis: axes[0],
        cut: { kind: 'block', offset: 0, timeStride },
      },
    ];
  }
  const rows = shape[shape.length - 2];
  const cols = shape[shape.length - 1];
  const lead = shape.slice(0, -2);
  const count = Math.min(product(lead), MAX_HEAD_VIEWS);
  const views: ViewSpec[] = [];
  for (let i = 0; i < count; i++) {
    const label = lead.length === 0 ? '' : `${axes[0]} ${i}`;
    views.push({
      label,
      rows,
      cols,
      rowAxis: axes[axes.length - 2],
      colAxis: axes[axes.length - 1],
      cut: { kind: 'block', offset: i * rows * cols, timeStride },
    });
  }
  return views;
}

function group(views: readonly ViewSpec[], perTimestep: boolean): PanelGroup {
  if (perTimestep) return 'memory';
  return views.every((v) => v.cols <= 6) ? 'strip' : 'overTime';
}

/** Derive the panel for one tensor. Throws, naming the tensor, when axes and shape disagree. */
export function panelForTensor(
  tensor: Pick<DecodedTensor, 'name' | 'layer' | 'shape' | 'axes' | 'range' | 'description'>,
): PanelSpec {
  const { name, layer, shape, axes } = tensor;
  if (shape.length !== axes.length) {
    throw new Error(
      `panelForTensor(${name}): ${axes.length} axis labels [${axes.join(', ')}] for shape [${shape.join(', ')}]`,
    );
  }
  const key = layer === 0 ? name : `${name}-l${layer}`;
  const base = {
    key,
    testId: `heatmap-${key}`,
    name,
    layer,
    title: layer === 0 ? humanTitle(name) : `${humanTitle(name)} · layer ${layer}`,
    range: tensor.range ? ([tensor.range[0], tensor.range[1]] as [number, number]) : undefined,
    description: tensor.description,
    shape: [...shape],
    axes: [...axes],
  };
  const timed = axes[0] === 'time' && shape.length >= 1;
  if ((SEQUENCE_TENSORS as readonly string[]).includes(name) && timed && shape.length === 2) {
    return {
      ...base,
      group: 'sequence',
      perTimestep: false,
      views: [
        {
          label: '',
          rows: shape[0],
          cols: shape[1],
          rowAxis: 'time',
          colAxis: axes[1],
          cut: { kind: 'rows', offset: 0, rowStride: shape[1] },
        },
      ],
    };
  }
  if (!timed) {
    const views = staticViews(shape, axes, 0);
    return { ...base, group: views.every((v) => v.rows <= 1) ? 'strip' : 'memory', perTimestep: false, views };
  }
  const steps = shape[0];
  if (shape.length === 1) {
    const views: ViewSpec[] = [
      { label: '', rows: steps, cols: 1, rowAxis: 'time', colAxis: '', cut: { kind: 'rows', offset: 0, rowStride: 1 } },
    ];
    return { ...base, group: 'strip', perTimestep: false, views };
  }
  if (shape.length === 2) {
    const views: ViewSpec[] = [
      {
        label: '',
        rows: steps,
        cols: shape[1],
        rowAxis: 'time',
        colAxis: axes[1],
        cut: { kind: 'rows', offset: 0, rowStride: shape[1] },
      },
    ];
    return { ...base, group: group(views, false), perTimestep: false, views };
  }
  const [, a, b] = shape;
  const stepSize = product(shape.slice(1));
  if (shape.length === 3 && a <= MAX_HEAD_VIEWS && a < b && !CELL_AXES.has(axes[1])) {
    const views: ViewSpec[] = [];
    for (let i = 0; i < a; i++) {
      views.push({
        label: a === 1 ? '' : `${axes[1]} ${i}`,
        rows: steps,
        cols: b,
        rowAxis: 'time',
        colAxis: axes[2],
        cut: { kind: 'rows', offset: i * b, rowStride: stepSize },
      });
    }
    return { ...base, group: group(views, false), perTimestep: false, views };
  }
  const views = staticViews(shape.slice(1), axes.slice(1), stepSize);
  return { ...base, group: 'memory', perTimestep: true, views };
}

const GROUP_ORDER: Record<PanelGroup, number> = { sequence: 0, memory: 1, overTime: 2, strip: 3 };
/** Well-known tensors first, in the order a reader of the paper looks at them; unknown ones follow by name. */
const NAME_ORDER = [
  'input',
  'target',
  'output',
  'memory',
  'linkMatrix',
  'readWeights',
  'writeWeights',
  'usage',
  'allocationWeights',
  'precedenceWeights',
];

function nameRank(name: string): number {
  const i = NAME_ORDER.indexOf(name);
  return i < 0 ? NAME_ORDER.length : i;
}

/** Panels for a whole frame, ordered by group, then well-known names, then name, then layer. */
export function panelsForFrame(
  tensors: readonly Pick<DecodedTensor, 'name' | 'layer' | 'shape' | 'axes' | 'range' | 'description'>[],
): PanelSpec[] {
  return tensors
    .map(panelForTensor)
    .sort(
      (p, q) =>
        GROUP_ORDER[p.group] - GROUP_ORDER[q.group] ||
        nameRank(p.name) - nameRank(q.name) ||
        p.name.localeCompare(q.name) ||
        p.layer - q.layer,
    );
}

/** A string that changes exactly when the panel layout would: names, layers, shapes and axes. */
export function layoutKey(tensors: readonly Pick<DecodedTensor, 'name' | 'layer' | 'shape' | 'axes'>[]): string {
  return tensors.map((t) => `${t.name}/${t.layer}/${t.shape.join('x')}/${t.axes.join(',')}`).join(';');
}

/**
 * The values of one view at `timestep`, row-major `[rows × cols]`. Block views return a subarray (no copy);
 * over-time views of one head copy into `scratch` when given (reused across frames) or a new array.
 */
export function extractView(
  data: Float32Array,
  view: ViewSpec,
  timestep: number,
  scratch?: Float32Array,
): Float32Array {
  const size = view.rows * view.cols;
  if (view.cut.kind === 'block') {
    const start = view.cut.offset + view.cut.timeStride * timestep;
    if (start < 0 || start + size > data.length) {
      throw new Error(
        `extractView: block [${start}, ${start + size}) is outside data of length ${data.length} (timestep ` +
          `${timestep})`,
      );
    }
    return data.subarray(start, start + size);
  }
  const { offset, rowStride } = view.cut;
  if (rowStride === view.cols && offset === 0) return data.subarray(0, size);
  const out = scratch && scratch.length === size ? scratch : new Float32Array(size);
  for (let r = 0; r < view.rows; r++) {
    const from = offset + r * rowStride;
    out.set(data.subarray(from, from + view.cols), r * view.cols);
  }
  return out;
}

/** Clamp a timestep into a frame of `timesteps` steps. */
export function clampTimestep(timestep: number, timesteps: number): number {
  if (timesteps <= 0) return 0;
  return Math.min(Math.max(0, Math.round(timestep)), timesteps - 1);
}

/** Which of the view's axes show memory cells (for highlighting one cell across every panel). */
export function cellAxes(view: ViewSpec): { rows: boolean; cols: boolean } {
  return { rows: CELL_AXES.has(view.rowAxis), cols: CELL_AXES.has(view.colAxis) };
}

/**
 * Wrong bits of a sequence prediction: 1 where the output, thresholded at 0.5, differs from a binary target, at
 * positions the target marks as scored (`mask`, `[time]` or `[time, channel]`, when given). Same shape as target.
 */
export function wrongBits(output: Float32Array, target: Float32Array, mask?: Float32Array): Uint8Array {
  if (output.length !== target.length) {
    throw new Error(`wrongBits: output has ${output.length} values, target has ${target.length}`);
  }
  const out = new Uint8Array(target.length);
  const perStep = mask && mask.length !== target.length ? target.length / mask.length : 1;
  if (mask && !Number.isInteger(perStep))
    throw new Error(`wrongBits: mask of ${mask.length} values does not tile target of ${target.length}`);
  for (let i = 0; i < target.length; i++) {
    if (mask && mask[Math.floor(i / perStep)] === 0) continue;
    const predicted = output[i] >= 0.5 ? 1 : 0;
    const wanted = target[i] >= 0.5 ? 1 : 0;
    if (predicted !== wanted) out[i] = 1;
  }
  return out;
}
