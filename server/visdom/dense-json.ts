/**
 * JSON with dense numeric arrays: Visdom's client sends a heatmap as `X.tolist()`, a nested list of full-precision
 * doubles (a 256×256 matrix is 1.3 MB of text). `JSON.parse` turns that into 65,536 boxed numbers in 256 arrays
 * before anything can copy them into a Float32Array, which costs tens of milliseconds. This parser reads such
 * arrays straight from the bytes into a Float64Array and hands the small rest of the document to `JSON.parse`.
 *
 * A rectangular array of numbers (any depth, `null`/`NaN`/`Infinity` allowed) with at least `minValues` values
 * becomes a `DenseArray`; everything else is parsed exactly as `JSON.parse` would.
 */
import { INFINITY_WORD, MINUS, matches, NULL_TEXT, OPEN, scanArray, stoppedAt } from './dense-json-scan';

/**
 * A rectangular numeric array read from JSON; `null`, NaN and ±Infinity are stored as NaN / ±Infinity. `data` is a
 * view on the parser's scratch space, valid until the next `parseDenseJson` call: copy what you keep.
 */
export class DenseArray {
  constructor(
    readonly shape: number[],
    readonly data: Float64Array,
  ) {}

  /** The nested-list form, as `JSON.stringify` would write it (non-finite values become null). */
  toJSON(): unknown {
    const build = (dim: number, offset: number): unknown[] => {
      const size = this.shape[dim];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out: unknown[] = new Array(size);
      for (let i = 0; i < size; i++) {
        if (dim === this.shape.length - 1) {
          const v = this.data[offset + i];
          out[i] = Number.isFinite(v) ? v : null;
        } else {
          out[i] = build(dim + 1, offset + i * stride);
        }
      }
      return out;
    };
    return this.shape.length === 0 ? [] : build(0, 0);
  }
}

export class DenseJsonError extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
// JSON.parse reads an overflowing exponent as ±Infinity, which JSON cannot spell.
const INFINITY_TEXT = Buffer.from('1e999');
const MINUS_INFINITY_TEXT = Buffer.from('-1e999');

/**
 * Where dense arrays are read to, reused between calls: the server parses one body at a time and copies what it
 * keeps, so a heatmap body allocates nothing the size of its values here.
 */
let scratch = new Float64Array(0);
/** Scratch kept between calls: 1 M values (8 MB) covers heatmaps up to 1024 × 1024. */
const KEPT_SCRATCH_VALUES = 1 << 20;

export interface DenseParseOptions {
  /** Smallest array (in values) read as a DenseArray; smaller ones stay plain arrays. Default 64. */
  minValues?: number;
  /** Largest array (in values) accepted; a bigger one throws DenseJsonError. */
  maxValues: number;
}

/**
 * Parse a JSON document whose large numeric arrays become `DenseArray`s. Throws `DenseJsonError` for text that is
 * not JSON or for an array over `maxValues`.
 */
export function parseDenseJson(bytes: Uint8Array, options: DenseParseOptions): unknown {
  const minValues = options.minValues ?? 64;
  const dense: DenseArray[] = [];
  const parts: Buffer[] = [];
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let copiedTo = 0;
  let replaced = false;
  /** Values of this document already in `scratch`. */
  let used = 0;
  let i = 0;
  const n = bytes.length;
  // Bytes scanned by attempts that found no dense array, which the loop then reads again from the next `[` on.
  // Bounded, so a hostile body (a deep nest that fails at its end) costs linear time, not quadratic.
  let rescanBudget = 2 * n + 4096;
  while (i < n) {
    const c = bytes[i];
    if (c === QUOTE) {
      i++;
      while (i < n && bytes[i] !== QUOTE) i += bytes[i] === BACKSLASH ? 2 : 1;
      i++;
      continue;
    }
    if (c !== OPEN) {
      // Python's json writes NaN and ±Infinity, which JSON.parse rejects; outside strings they can only be values.
      // NaN becomes null (what the client sends for NaN in heatmaps anyway), ±Infinity stays infinite.
      const nonFinite =
        c === 0x4e && bytes[i + 1] === 0x61 && bytes[i + 2] === 0x4e
          ? 3
          : c === 0x49 && matches(bytes, i, INFINITY_WORD)
            ? 8
            : c === MINUS && matches(bytes, i + 1, INFINITY_WORD)
              ? 9
              : 0;
      if (nonFinite > 0) {
        parts.push(
          source.subarray(copiedTo, i),
          nonFinite === 3 ? NULL_TEXT : nonFinite === 8 ? INFINITY_TEXT : MINUS_INFINITY_TEXT,
        );
        i += nonFinite;
        copiedTo = i;
        replaced = true;
        continue;
      }
      i++;
      continue;
    }
    if (rescanBudget <= 0) {
      i++;
      continue;
    }
    // Every value takes at least two bytes ("0,"), so the rest of the body bounds the array's length. Past
    // maxValues the scan only counts (a typed array ignores writes beyond its end), then the array is refused.
    const room = Math.min((n - i) >> 1, options.maxValues);
    if (scratch.length - used < room) {
      // Arrays already read keep the old buffer alive through their views.
      scratch = new Float64Array(Math.min(Math.max(room, scratch.length * 2), options.maxValues));
      used = 0;
    }
    const measured = scanArray(bytes, i, scratch.subarray(used));
    if (measured !== null && measured.values < minValues && !measured.nonFinite) {
      i = measured.end; // a small numeric array: JSON.parse reads it, and nothing inside it can be dense
      continue;
    }
    if (measured === null || measured.values < minValues) {
      rescanBudget -= stoppedAt - i;
      i++;
      continue;
    }
    if (measured.values > options.maxValues) {
      throw new DenseJsonError(
        `array of shape [${measured.shape.join(', ')}] has ${measured.values} values, more than ${options.maxValues}`,
      );
    }
    const data = scratch.subarray(used, used + measured.values);
    used += measured.values;
    parts.push(source.subarray(copiedTo, i), Buffer.from(`{"$dense":${dense.length}}`));
    dense.push(new DenseArray(measured.shape, data));
    i = measured.end;
    copiedTo = i;
  }
  // A rare huge body should not keep its scratch space alive for good.
  if (scratch.length > KEPT_SCRATCH_VALUES) scratch = new Float64Array(0);
  const text =
    dense.length === 0 && !replaced
      ? source.toString('utf8')
      : Buffer.concat([...parts, source.subarray(copiedTo)]).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, dense.length === 0 ? undefined : reviveDense(dense));
  } catch (error) {
    throw new DenseJsonError(`body is not valid JSON (${(error as Error).message})`);
  }
  return parsed;
}

function reviveDense(dense: readonly DenseArray[]): (key: string, value: unknown) => unknown {
  return (_key, value) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const index = (value as { $dense?: unknown }).$dense;
      if (typeof index === 'number' && Object.keys(value).length === 1 && dense[index] !== undefined)
        return dense[index];
    }
    return value;
  };
}
