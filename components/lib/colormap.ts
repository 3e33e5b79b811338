/**
 * Colour maps for heatmaps, as 256-entry lookup tables of packed RGBA words laid out for a `Uint32Array` view of
 * `ImageData.data` (little-endian: 0xAABBGGRR), so drawing a frame is one table lookup per cell.
 */

export type ColorMapName = 'viridis' | 'diverging';

/** RGB anchors of matplotlib's viridis, evenly spaced; the table interpolates linearly between them. */
const VIRIDIS_ANCHORS: ReadonlyArray<readonly [number, number, number]> = [
  [68, 1, 84],
  [72, 35, 116],
  [64, 67, 135],
  [52, 94, 141],
  [41, 120, 142],
  [32, 144, 140],
  [34, 167, 132],
  [68, 190, 112],
  [121, 209, 81],
  [189, 222, 38],
  [253, 231, 37],
];

/** Blue → near-black → orange: a diverging map whose centre sits on the dark page, so zero reads as "nothing". */
const DIVERGING_ANCHORS: ReadonlyArray<readonly [number, number, number]> = [
  [94, 172, 255],
  [48, 110, 200],
  [26, 52, 94],
  [22, 24, 30],
  [100, 44, 22],
  [205, 96, 36],
  [255, 176, 80],
];

/** Colour used for NaN and ±Infinity cells: loud magenta, so a broken value is never mistaken for data. */
export const NON_FINITE_RGB: readonly [number, number, number] = [255, 0, 255];

export const LUT_SIZE = 256;

function pack(r: number, g: number, b: number): number {
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

function buildTable(anchors: ReadonlyArray<readonly [number, number, number]>): Uint32Array {
  const table = new Uint32Array(LUT_SIZE);
  const segments = anchors.length - 1;
  for (let i = 0; i < LUT_SIZE; i++) {
    const pos = (i / (LUT_SIZE - 1)) * segments;
    const k = Math.min(segments - 1, Math.floor(pos));
    const f = pos - k;
    const a = anchors[k];
    const b = anchors[k + 1];
    table[i] = pack(
      Math.round(a[0] + (b[0] - a[0]) * f),
      Math.round(a[1] + (b[1] - a[1]) * f),
      Math.round(a[2] + (b[2] - a[2]) * f),
    );
  }
  return table;
}

const TABLES: Record<ColorMapName, Uint32Array> = {
  viridis: buildTable(VIRIDIS_ANCHORS),
  diverging: buildTable(DIVERGING_ANCHORS),
};

export const NON_FINITE_PACKED = pack(NON_FINITE_RGB[0], NON_FINITE_RGB[1], NON_FINITE_RGB[2]);

export function colorTable(name: ColorMapName): Uint32Array {
  return TABLES[name];
}

/** Unpack a table word into `[r, g, b]`. */
export function unpackRgb(word: number): [number, number, number] {
  return [word & 255, (word >>> 8) & 255, (word >>> 16) & 255];
}

export function rgbCss(word: number): string {
  const [r, g, b] = unpackRgb(word);
  return `rgb(${r},${g},${b})`;
}

/** Min and max over the finite values; `null` when there are none. */
export function finiteRange(data: ArrayLike<number>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  // NaN fails both comparisons above; ±Infinity must not set the scale either.
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) return null;
  }
  return [lo, hi];
}

/**
 * The colour scale a panel shows: data with negative values gets the diverging map on a range symmetric about 0
 * (so zero is always the dark centre); non-negative data gets viridis from its minimum (or 0) to its maximum.
 * A degenerate range is widened so a constant tensor still maps to one valid colour.
 */
export function autoScale(range: readonly [number, number] | null): { map: ColorMapName; min: number; max: number } {
  if (range === null) return { map: 'viridis', min: 0, max: 1 };
  let [lo, hi] = range;
  if (lo < 0) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return { map: 'diverging', min: -m, max: m };
  }
  if (lo > 0 && lo < hi * 0.5) lo = 0; // anchor mostly-positive weightings at zero, as the paper's figures do
  if (hi - lo < 1e-12) hi = lo + (Math.abs(lo) > 0 ? Math.abs(lo) * 1e-3 : 1);
  return { map: 'viridis', min: lo, max: hi };
}

/** Colour-map choice for a fixed range (e.g. a tensor's declared `range` or a locked one). */
export function fixedScale(min: number, max: number): { map: ColorMapName; min: number; max: number } {
  if (!(max > min)) throw new Error(`fixedScale: max must exceed min, got min=${min} max=${max}`);
  return { map: min < 0 && max > 0 ? 'diverging' : 'viridis', min, max };
}

/**
 * Fill `out` (packed RGBA words, one per value) from `values` through the table, clamping to [min, max].
 * Non-finite values get NON_FINITE_PACKED.
 */
export function mapValues(
  values: ArrayLike<number>,
  out: Uint32Array,
  table: Uint32Array,
  min: number,
  max: number,
): void {
  if (out.length < values.length) {
    throw new Error(`mapValues: out has ${out.length} words for ${values.length} values`);
  }
  const scale = (table.length - 1) / (max - min || 1);
  const last = table.length - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = NON_FINITE_PACKED;
      continue;
    }
    let k = ((v - min) * scale) | 0;
    if (k < 0) k = 0;
    else if (k > last) k = last;
    out[i] = table[k];
  }
}
