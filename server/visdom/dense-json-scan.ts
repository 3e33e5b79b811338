/**
 * The byte scanner behind `parseDenseJson`: reads one rectangular numeric array of JSON text straight into a
 * Float64Array, and says where it stopped.
 */
export const OPEN = 0x5b;
const CLOSE = 0x5d;
const COMMA = 0x2c;
const SPACE = 0x20;
export const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

// Exact powers of ten up to 1e22 (larger ones are not exact doubles).
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Most significant digits read on the fast path: Python's repr of a float has at most 17. */
const MAX_FAST_DIGITS = 19;
export const NULL_TEXT = Buffer.from('null');
export const INFINITY_WORD = Buffer.from('Infinity');

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Where the last `readDigits` or `scanArray` stopped (a second return value without allocating). */
export let stoppedAt = 0;

/**
 * Append the decimal digits at `start` to `mantissa`, four at a time where it can: one multiply-add per four digits
 * shortens the chain of dependent floating-point operations that bounds the scan's speed. Sets `stoppedAt`.
 * (Reading four bytes as one word through a DataView measured slower than this.)
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
  stoppedAt = i;
  return m;
}

export interface Scan {
  /** Position after the array. */
  end: number;
  shape: number[];
  values: number;
  /** Whether it holds `NaN` or `±Infinity`, which the rest of the document's `JSON.parse` could not read. */
  nonFinite: boolean;
}

/**
 * Read one numeric array starting at `start` (a `[`) into `out` (long enough: one value per two bytes). Null when
 * the text there is not a rectangular array of JSON numbers, `null`, `NaN` or `±Infinity` in JSON's grammar (no
 * leading zeros, `1.` or `1e`; commas between values only; whitespace between tokens); `stoppedAt` then says how
 * far the scan read.
 *
 * A number is the double `JSON.parse` gives when its digits make an integer up to 2^53 and its decimal exponent is
 * within ±22 (one correctly rounded division or product gives it), or when it has more than 19 significant digits
 * or a larger exponent (`Number` reads it). Python's 16- and 17-digit reprs take the fast path with a mantissa
 * over 2^53: within 2^-50 of `JSON.parse`'s double, so their float32 (what heatmaps keep) is the same unless the
 * value lies within 2^-50 of a float32 rounding midpoint (about one double in 10^7; never a value that came from
 * float32, as a torch tensor's do), where it may be the neighbouring float32. Checking for that on every value
 * measured 25% slower.
 */
export function scanArray(bytes: Uint8Array, start: number, out: Float64Array): Scan | null {
  const shape: number[] = [];
  /** Arrays seen so far in each open non-leaf array; leaf arrays count their values in `leaves`. */
  const counts: number[] = [0];
  let depth = 1;
  let maxDepth = -1;
  let leaves = 0;
  let values = 0;
  let nonFinite = false;
  /** After `[` or `,`: a value or an array must come next (`]` too, right after `[`). */
  let expectValue = true;
  let justOpened = true;
  let i = start + 1;
  const n = bytes.length;
  while (i < n) {
    const c = bytes[i];
    if (expectValue) {
      // The common case first: a plain number (Python writes `0.5488135039273248`, `-1.5`, `3e-05`).
      let k = c - ZERO;
      const negative = c === MINUS;
      if (negative) k = bytes[i + 1] - ZERO;
      if (k >= 0 && k < 10) {
        if (maxDepth < 0) maxDepth = depth;
        else if (depth !== maxDepth) break; // a value beside arrays: ragged
        const numberStart = i;
        if (negative) i++;
        let mantissa = 0;
        let digits = 0;
        if (k === 0) {
          i++; // JSON allows no other digit after a leading zero: `01` stops the scan below
        } else {
          const integerStart = i;
          mantissa = readDigits(bytes, i, 0);
          i = stoppedAt;
          digits = i - integerStart;
        }
        let exponent = 0;
        if (bytes[i] === DOT) {
          const fractionStart = i + 1;
          // The leading zeros of 0.000123 are not significant digits (they still count in the exponent).
          let significantStart = fractionStart;
          if (k === 0) while (bytes[significantStart] === ZERO) significantStart++;
          mantissa = readDigits(bytes, significantStart, mantissa);
          if (stoppedAt === fractionStart) {
            i = stoppedAt;
            break; // `1.`
          }
          digits += stoppedAt - significantStart;
          exponent = fractionStart - stoppedAt;
          i = stoppedAt;
        }
        let d = bytes[i];
        if (d === LOWER_E || d === UPPER_E) {
          d = bytes[++i];
          let expNegative = false;
          if (d === MINUS || d === PLUS) {
            expNegative = d === MINUS;
            d = bytes[++i];
          }
          if (!(d >= ZERO && d <= NINE)) break; // `1e`
          let e = 0;
          while (d >= ZERO && d <= NINE) {
            if (e < 100000) e = e * 10 + (d - ZERO);
            d = bytes[++i];
          }
          exponent += expNegative ? -e : e;
        }
        let value: number;
        if (digits > MAX_FAST_DIGITS || exponent < -22 || exponent > 22) value = exactNumber(bytes, numberStart, i);
        else {
          value = exponent < 0 ? mantissa / POW10[-exponent] : mantissa * POW10[exponent];
          if (negative) value = -value;
        }
        out[values++] = value;
        leaves++;
        justOpened = false;
        // Python separates values with ", ": step over it here rather than through the loop's other cases.
        if (bytes[i] === COMMA) i += bytes[i + 1] === SPACE ? 2 : 1;
        else expectValue = false;
        continue;
      }
      if (c === OPEN) {
        if (maxDepth >= 0 && depth >= maxDepth) break; // deeper than the first leaf row: ragged
        counts[depth] = 0;
        leaves = 0;
        depth++;
        i++;
        justOpened = true;
        continue;
      }
      if (isSpace(c)) {
        i++;
        continue;
      }
      if (c !== CLOSE) {
        // The other leaf values: null, NaN (Python's json writes it), ±Infinity.
        let value: number;
        let length: number;
        if (c === 0x6e && matches(bytes, i, NULL_TEXT)) [value, length] = [Number.NaN, 4];
        else if (c === 0x4e && bytes[i + 1] === 0x61 && bytes[i + 2] === 0x4e) [value, length] = [Number.NaN, 3];
        else if (c === 0x49 && matches(bytes, i, INFINITY_WORD)) [value, length] = [Infinity, 8];
        else if (c === MINUS && matches(bytes, i + 1, INFINITY_WORD)) [value, length] = [-Infinity, 9];
        else break;
        if (maxDepth < 0) maxDepth = depth;
        else if (depth !== maxDepth) break;
        nonFinite ||= c !== 0x6e;
        out[values++] = value;
        leaves++;
        i += length;
        expectValue = false;
        justOpened = false;
        continue;
      }
      if (!justOpened) break; // `[1, ]`
    } else if (c === COMMA) {
      expectValue = true;
      i++;
      continue;
    } else if (isSpace(c)) {
      i++;
      continue;
    } else if (c !== CLOSE) {
      break; // `[1 2]`, `[1x]`, `[1.5.2]`, `[01]`
    }
    // `]`
    depth--;
    if (maxDepth < 0) maxDepth = depth + 1; // the first ']' closes the innermost level
    const count = depth === maxDepth - 1 ? leaves : counts[depth];
    if (depth < maxDepth - 1 && count === 0) break;
    if (shape[depth] === undefined) shape[depth] = count;
    else if (shape[depth] !== count) break;
    i++;
    expectValue = false;
    justOpened = false;
    if (depth === 0) {
      stoppedAt = i;
      return shape.length === maxDepth ? { end: i, shape, values, nonFinite } : null;
    }
    counts[depth - 1]++;
  }
  stoppedAt = i;
  return null;
}

/** The number spelled at `start`..`end`, read by `Number` (correctly rounded, and slow). */
function exactNumber(bytes: Uint8Array, start: number, end: number): number {
  return Number(Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1'));
}

/** Whether `word` is spelled at `at`. */
export function matches(bytes: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) if (bytes[at + k] !== word[k]) return false;
  return true;
}
