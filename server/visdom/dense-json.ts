/**
 * JSON with dense numeric arrays: Visdom's client sends a heatmap as `X.tolist()`, a nested list of full-precision
 * doubles (a 256×256 matrix is 1.3 MB of text). `JSON.parse` turns that into 65,536 boxed numbers in 256 arrays
 * before anything can copy them into a Float32Array, which costs tens of milliseconds. This parser reads such
 * arrays straight from the bytes into a Float64Array and hands the small rest of the document to `JSON.parse`.
 *
 * A rectangular array of numbers (any depth, `null`/`NaN`/`Infinity` allowed) with at least `minValues` values
 * becomes a `DenseArray`; everything else is parsed exactly as `JSON.parse` would.
 */

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
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const SPACE = 0x20;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

// Exact powers of ten up to 1e22 (larger ones are not exact doubles).
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Longest digit string read on the fast path: Python's repr of a float has at most 17 significant digits. */
const MAX_EXACT_DIGITS = 19;

const NULL_TEXT = Buffer.from('null');
// JSON.parse reads an overflowing exponent as ±Infinity, which JSON cannot spell.
const INFINITY_TEXT = Buffer.from('1e999');
const MINUS_INFINITY_TEXT = Buffer.from('-1e999');

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Where the last `readDigits` stopped (a second return value without allocating). */
let digitsEnd = 0;

/**
 * Append the decimal digits at `start` to `mantissa`, four at a time where it can: one multiply-add per four digits
 * shortens the chain of dependent floating-point operations that bounds the scan's speed. Sets `digitsEnd`.
 */
function readDigits(bytes: Uint8Array, start: number, mantissa: number): number {
  let i = start;
  let m = mantissa;
  for (;;) {
    const a = bytes[i] - ZERO;
    if (!(a >= 0 && a < 10)) break;
    const b = bytes[i + 1] - ZERO;
    if (!(b >= 0 && b < 10)) {
      m = m * 10 + a;
      i += 1;
      break;
    }
    const c = bytes[i + 2] - ZERO;
    if (!(c >= 0 && c < 10)) {
      m = m * 100 + (a * 10 + b);
      i += 2;
      break;
    }
    const d = bytes[i + 3] - ZERO;
    if (!(d >= 0 && d < 10)) {
      m = m * 1000 + (a * 100 + b * 10 + c);
      i += 3;
      break;
    }
    m = m * 10000 + (a * 1000 + b * 100 + c * 10 + d);
    i += 4;
  }
  digitsEnd = i;
  return m;
}

interface Scan {
  /** Position after the array. */
  end: number;
  shape: number[];
  values: number;
}

/**
 * Read one numeric array starting at `start` (a `[`) into `out` (long enough: one value per two bytes). Null when
 * the array is not a rectangular array of numbers.
 */
function scanArray(bytes: Uint8Array, start: number, out: Float64Array): Scan | null {
  const shape: number[] = [];
  /** Arrays seen so far in each open non-leaf array; leaf arrays count their values in `leaves`. */
  const counts: number[] = [];
  let depth = 0;
  let maxDepth = -1;
  let leaves = 0;
  let values = 0;
  let i = start;
  const n = bytes.length;
  while (i < n) {
    const c = bytes[i];
    // The common case first: a plain number (Python writes `0.5488135039273248`, `-1.5`, `3e-05`).
    let k = c - ZERO;
    const negative = c === MINUS;
    if (negative) k = bytes[i + 1] - ZERO;
    if (k >= 0 && k < 10) {
      if (maxDepth < 0) maxDepth = depth;
      else if (depth !== maxDepth) return null; // a value beside arrays: ragged
      if (negative) i++;
      const numberStart = i;
      // Digits accumulate into one double; past 15 digits the sum may be off by an ulp or two, which float32
      // (what heatmaps keep) cannot see; longer spellings than Python's repr take the exact, slow path.
      let mantissa = readDigits(bytes, i, 0);
      i = digitsEnd;
      let digits = i - numberStart;
      let exponent = 0;
      if (bytes[i] === DOT) {
        const fractionStart = ++i;
        mantissa = readDigits(bytes, i, mantissa);
        i = digitsEnd;
        exponent = fractionStart - i;
        digits -= exponent;
      }
      let d = bytes[i];
      if (d === LOWER_E || d === UPPER_E) {
        d = bytes[++i];
        let expNegative = false;
        if (d === MINUS || d === PLUS) {
          expNegative = d === MINUS;
          d = bytes[++i];
        }
        let e = 0;
        let expDigits = false;
        while (d >= ZERO && d <= NINE) {
          expDigits = true;
          if (e < 10000) e = e * 10 + (d - ZERO);
          d = bytes[++i];
        }
        if (!expDigits) return null;
        exponent += expNegative ? -e : e;
      }
      let value: number;
      if (digits > MAX_EXACT_DIGITS)
        value = Number(Buffer.from(bytes.buffer, bytes.byteOffset + numberStart, i - numberStart).toString('latin1'));
      else if (exponent === 0) value = mantissa;
      else if (exponent < 0 && exponent >= -22) value = mantissa / POW10[-exponent];
      else if (exponent > 0 && exponent <= 22) value = mantissa * POW10[exponent];
      else value = mantissa * 10 ** exponent;
      out[values++] = negative ? -value : value;
      leaves++;
      // Python separates values with ", ": step over it here rather than through the loop's other cases.
      if (bytes[i] === COMMA) i += bytes[i + 1] === SPACE ? 2 : 1;
      continue;
    }
    if (c === COMMA || isSpace(c)) {
      i++;
      continue;
    }
    if (c === OPEN) {
      if (maxDepth >= 0 && depth >= maxDepth) return null; // deeper than the first leaf row: ragged
      counts[depth] = 0;
      leaves = 0;
      depth++;
      i++;
      continue;
    }
    if (c === CLOSE) {
      depth--;
      if (maxDepth < 0) maxDepth = depth + 1; // the first ']' closes the innermost level
      const count = depth === maxDepth - 1 ? leaves : counts[depth];
      if (depth < maxDepth - 1 && count === 0) return null;
      if (shape[depth] === undefined) shape[depth] = count;
      else if (shape[depth] !== count) return null;
      i++;
      if (depth === 0) return shape.length === maxDepth ? { end: i, shape, values } : null;
      counts[depth - 1]++;
      continue;
    }
    // Other leaf values: null, NaN, ±Infinity.
    if (maxDepth < 0) maxDepth = depth;
    else if (depth !== maxDepth) return null;
    let value: number;
    if (c === 0x6e && bytes[i + 1] === 0x75 && bytes[i + 2] === 0x6c && bytes[i + 3] === 0x6c) {
      value = Number.NaN; // null
      i += 4;
    } else if (c === 0x4e && bytes[i + 1] === 0x61 && bytes[i + 2] === 0x4e) {
      value = Number.NaN; // NaN (Python's json writes it)
      i += 3;
    } else {
      const sign = c === MINUS ? -1 : 1;
      const at = c === MINUS || c === PLUS ? i + 1 : i;
      // Infinity
      if (bytes[at] !== 0x49 || bytes[at + 7] !== 0x79) return null;
      value = sign * Infinity;
      i = at + 8;
    }
    out[values++] = value;
    leaves++;
  }
  return null;
}

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
      const nonFinite = c === 0x4e ? 3 : c === 0x49 ? 8 : c === MINUS && bytes[i + 1] === 0x49 ? 9 : 0;
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
    // Every value takes at least two bytes ("0,"), so the rest of the body bounds the array's length. Past
    // maxValues the scan only counts (a typed array ignores writes beyond its end), then the array is refused.
    const room = Math.min((n - i) >> 1, options.maxValues);
    if (scratch.length - used < room) {
      // Arrays already read keep the old buffer alive through their views.
      scratch = new Float64Array(Math.min(Math.max(room, scratch.length * 2), options.maxValues));
      used = 0;
    }
    const measured = scanArray(bytes, i, scratch.subarray(used));
    if (measured === null || measured.values < minValues) {
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
