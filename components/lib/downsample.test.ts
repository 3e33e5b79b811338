import { test } from 'node:test';
import assert from 'node:assert/strict';
import { minMaxDownsample } from './downsample';

test('short series pass through unchanged', () => {
  const r = minMaxDownsample([1, 2, 3], [5, 6, 7], 10);
  assert.deepEqual(r, { x: [1, 2, 3], y: [5, 6, 7] });
});

test('100k points shrink to the budget and keep ends, spikes and order', () => {
  const n = 100_000;
  const x = Array.from({ length: n }, (_, i) => i + 1);
  const y = x.map((i) => Math.exp(-i / 20_000) + 0.01 * Math.sin(i));
  y[54_321] = 9; // a loss spike
  y[77_777] = -3; // and a dip
  const r = minMaxDownsample(x, y, 2000);
  assert.ok(r.x.length <= 2000, `got ${r.x.length} points`);
  assert.ok(r.x.length > 1500, 'uses most of the budget');
  assert.equal(r.x[0], 1);
  assert.equal(r.x[r.x.length - 1], n);
  assert.ok(r.y.includes(9) && r.y.includes(-3), 'spikes survive');
  for (let i = 1; i < r.x.length; i++) assert.ok(r.x[i] > r.x[i - 1], 'x strictly increasing');
});

test('non-finite values are skipped, and bad arguments are named', () => {
  const x = Array.from({ length: 50 }, (_, i) => i);
  const y = x.map((i) => (i % 7 === 0 && i > 0 && i < 49 ? NaN : i));
  const r = minMaxDownsample(x, y, 10);
  assert.ok(r.y.every(Number.isFinite));
  assert.throws(() => minMaxDownsample([1], [1, 2], 10), /x has 1 points, y has 2/);
  assert.throws(() => minMaxDownsample([1], [1], 2), /maxPoints must be an integer ≥ 4, got 2/);
});
