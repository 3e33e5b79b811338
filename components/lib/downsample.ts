/**
 * Downsampling for curves: min/max buckets keep every spike (a loss blow-up must stay visible) while capping the
 * points plotly has to draw, so 100k iterations render as smoothly as 1k.
 */

export interface Series {
  x: number[];
  y: number[];
}

/**
 * Reduce `(x, y)` to at most `maxPoints` points: the first and last point, plus the minimum and maximum of each of
 * `(maxPoints - 2) / 2` equal-count buckets in between, in x order. Non-finite y values are skipped (a run that hits
 * NaN fails and says so elsewhere; a NaN here would only blank the curve).
 */
export function minMaxDownsample(x: readonly number[], y: readonly number[], maxPoints: number): Series {
  if (x.length !== y.length) throw new Error(`minMaxDownsample: x has ${x.length} points, y has ${y.length}`);
  if (!Number.isInteger(maxPoints) || maxPoints < 4) {
    throw new Error(`minMaxDownsample: maxPoints must be an integer ≥ 4, got ${maxPoints}`);
  }
  const n = x.length;
  if (n <= maxPoints) return { x: x.slice(), y: y.slice() };
  const buckets = Math.floor((maxPoints - 2) / 2);
  const inner = n - 2;
  const outX: number[] = [x[0]];
  const outY: number[] = [y[0]];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    let iMin = -1;
    let iMax = -1;
    for (let i = start; i < end; i++) {
      const v = y[i];
      if (!Number.isFinite(v)) continue;
      if (iMin < 0 || v < y[iMin]) iMin = i;
      if (iMax < 0 || v > y[iMax]) iMax = i;
    }
    if (iMin < 0) continue;
    const first = Math.min(iMin, iMax);
    const second = Math.max(iMin, iMax);
    outX.push(x[first]);
    outY.push(y[first]);
    if (second !== first) {
      outX.push(x[second]);
      outY.push(y[second]);
    }
  }
  outX.push(x[n - 1]);
  outY.push(y[n - 1]);
  return { x: outX, y: outY };
}
