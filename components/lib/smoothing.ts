/**
 * Exponential moving average for loss curves, debiased like TensorBoard's so the start of a curve is not dragged
 * towards zero: s_n = (w·m_{n-1} + (1-w)·y_n) / (1 - w^n).
 */

/** Smooth `y` with weight `weight` in [0, 1): 0 returns a copy, 0.99 is very smooth. Non-finite values pass
 *  through and do not enter the average. */
export function emaSmooth(y: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new Error(`emaSmooth: weight must be in [0, 1), got ${weight}`);
  const out = new Array<number>(y.length);
  let accumulator = 0;
  let count = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    accumulator = accumulator * weight + (1 - weight) * v;
    count++;
    const debias = weight === 0 ? 1 : 1 - weight ** count;
    out[i] = accumulator / debias;
  }
  return out;
}
